// BatchedNMS(Dynamic)_TRT on the GPU (batchedNMSKernels.cu), called by the TensorRT plugin
// (batchedNMSPlugin.cpp): the per-class NMS of ../common/perClassNmsDevice.h, then one thread per
// output row (batchedNMSGather.h). Device-resident: no host copy, no stream synchronization.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "../common/perClassNmsSteps.h"

namespace taostream {
namespace nms {

// Queues the whole op on `stream`: boxes [N, numBoxes, locClasses, 4], scores [N, numBoxes,
// numClasses] -> num [N], outBoxes [N, keepTopK, 4], outScores and outClasses [N, keepTopK], every
// value written. `nonFinite` gets the device array of per-image flags (1: NaN/inf inputs, no
// detections). Workspace: perClassNmsWorkspaceSize(s) bytes. Returns a cudaError_t (0: queued).
int batchedNmsDevice(const PerClassShape& s, int32_t keepTopK, bool clipBoxes, const float* boxes,
                     const float* scores, void* workspace, cudaStream_t stream, int32_t* num, float* outBoxes,
                     float* outScores, float* outClasses, const int32_t** nonFinite);

}  // namespace nms
}  // namespace taostream
