// EfficientNMS_TRT on the GPU (efficientNMSKernels.cu), called by the TensorRT plugin
// (efficientNMSPlugin.cpp). Device-resident: no host copy, no stream synchronization.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "efficientNMSSteps.h"

namespace taostream {
namespace efficient {

// Workspace bytes for these shapes; 0 where the GPU path cannot take them (CUB's int item count,
// maxCandidates above the grid's 65535 rows) or CUB's size query fails (no device).
size_t efficientNmsWorkspaceSize(const EfficientShape& s);

// Queues the whole op on `stream`: boxes [N, anchors, boxClasses, 4], scores [N, anchors, classes],
// anchors [anchorBatch, anchors, 4] or null -> num [N], outBoxes [N, maxOutput, 4], outScores and
// outClasses [N, maxOutput], every value written. `invalidFlags` gets the device array of per-image
// flags (1: NaN/inf inputs or a visited candidate's decoded box not finite: no detections). Returns a
// cudaError_t (0: queued).
int efficientNmsDevice(const EfficientShape& s, const float* boxes, const float* scores, const float* anchors,
                       void* workspace, cudaStream_t stream, int32_t* num, float* outBoxes, float* outScores,
                       int32_t* outClasses, const int32_t** invalidFlags);

}  // namespace efficient
}  // namespace taostream
