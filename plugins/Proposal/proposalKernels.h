// Proposal / ProposalDynamic on the GPU (proposalKernels.cu), called by the TensorRT plugin
// (proposalPlugin.cpp). Device-resident: no host copy, no stream synchronization.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "proposalSteps.h"

namespace taostream {
namespace frcnn {

// Workspace bytes for these shapes; 0 where the GPU path cannot take them (more than 32 anchor sizes or
// ratios, pre_nms_top_n above the grid's 65535 rows, 2^31 scores or more) or CUB's size query fails.
size_t proposalWorkspaceSize(const ProposalShape& s);

// Queues the whole op on `stream`: scores [N, A, H, W], deltas [N, 4A, H, W] -> rois [N, post, 4],
// every value written. `invalidFlags` gets the device array of per-image flags (1: a NaN score: zero
// rois). Returns a cudaError_t (0: queued).
int proposalDevice(const ProposalShape& s, const float* scores, const float* deltas, void* workspace,
                   cudaStream_t stream, float* rois, const int32_t** invalidFlags);

}  // namespace frcnn
}  // namespace taostream
