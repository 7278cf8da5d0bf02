// MultilevelProposeROI_TRT on the GPU (multilevelProposeROIKernels.cu), called by the TensorRT plugin
// (multilevelProposeROIPlugin.cpp). Device-resident: no host copy, no stream synchronization.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "multilevelProposeROISteps.h"

namespace taostream {
namespace mrcnn {

// The shape of the GPU path for a batch (clip, anchors and their offsets filled in from height/width).
ProposeRoiShape proposeRoiShape(int32_t batch, int32_t height, int32_t width, int32_t prenms, int32_t keep,
                                float fgThreshold, float iouThreshold);

// Workspace bytes for these shapes; 0 where the GPU path cannot take them (prenms_topk outside
// 1..4096, 2^31 keys or more in a sort) or CUB's size query fails.
size_t proposeRoiWorkspaceSize(const ProposeRoiShape& s);

// Queues the whole op on `stream`: the ten inputs -> rois [N, keep, 4] (y1, x1, y2, x2 pixels), every
// value written. `invalidFlags` gets the device array of per-image flags (1: NaN/inf inputs: zero rois).
// Returns a cudaError_t (0: queued).
int proposeRoiDevice(const ProposeRoiShape& s, const ProposeRoiInputs& in, void* workspace, cudaStream_t stream,
                     float* rois, const int32_t** invalidFlags);

}  // namespace mrcnn
}  // namespace taostream
