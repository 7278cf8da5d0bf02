// GenerateDetection_TRT on the GPU (generateDetectionKernels.cu), called by the TensorRT plugin
// (generateDetectionPlugin.cpp). Device-resident: no host copy, no stream synchronization.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "generateDetectionSteps.h"

namespace taostream {
namespace gendet {

// Workspace bytes for these shapes; 0 where the GPU path cannot take them (rois above 65535, CUB's int
// item count, suppression words above 1 GiB) or CUB's size query fails (no device).
size_t generateDetectionWorkspaceSize(const DetectionShape& s);

// Queues the whole op on `stream`: deltas [N, rois, numClasses, 4], scores [N, rois, numClasses], rois
// [N, rois, 4] -> detections [N, keepTopK, 6], every value written. `invalidFlags` gets the device array
// of per-image flags (1: NaN/inf inputs: padding rows only). Returns a cudaError_t (0: queued).
int generateDetectionDevice(const DetectionShape& s, const float* deltas, const float* scores, const float* rois,
                            void* workspace, cudaStream_t stream, float* detections, const int32_t** invalidFlags);

}  // namespace gendet
}  // namespace taostream
