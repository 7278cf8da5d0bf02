// NMS_TRT's CUDA kernels (nmsKernels.cu), called by the TensorRT plugin (nmsPlugin.cpp).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "../common/perClassNmsSteps.h"

extern "C" {
// One image, device pointers: loc [priors, locClasses, 4], priorData [2, priors, 4] -> boxes
// [priors, locClasses, 4]. Returns the launch status (a cudaError_t).
int taostream_ssd_decode_cuda(int64_t priors, int loc_classes, const float* loc, const float* prior_data,
                              int code_type, int variance_encoded_in_target, float* boxes, cudaStream_t stream);
// out[i] = sigmoid(in[i]) for count elements, device pointers.
int taostream_sigmoid_cuda(int64_t count, const float* in, float* out, cudaStream_t stream);
}

namespace taostream {
namespace nms {

// After the decode (and sigmoid): the per-class NMS (../common/perClassNmsDevice.h) on the decoded
// boxes [N, numBoxes, locClasses, 4] and scores [N, numBoxes, numClasses], then one thread per output
// row (nmsRows.h) -> detections [N, keepTopK, 7] and counts [N], every value written. `nonFinite` gets
// the device array of per-image flags (1: NaN/inf decoded boxes or scores, no detections). Workspace:
// perClassNmsWorkspaceSize(s) bytes. Queues everything on `stream`; returns a cudaError_t (0: queued).
int nmsDevice(const PerClassShape& s, int32_t keepTopK, const float* boxes, const float* scores, void* workspace,
              cudaStream_t stream, float* detections, int32_t* counts, const int32_t** nonFinite);

}  // namespace nms
}  // namespace taostream
