// Proposal / ProposalDynamic (version 1) on the host (C++17, no CUDA): TensorRT OSS plugin/proposalPlugin
// semantics, equal bit for bit to the numpy reference (plugins/frcnn.py, proposal_reference). C ABI for
// ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// scores: [batch, anchors, height, width]; deltas: [batch, anchors, 4, height, width] (tx, ty, tw, th);
// anchors = num_sizes * num_ratios. rois: [batch, post_nms_top_n, 4] normalized (y1, x1, y2, x2) by
// (input_height - 1, input_width - 1), zero rows past the kept ones, fully written. A NaN score:
// TAOSTREAM_HOST_NON_FINITE (NaN or infinite deltas are read as the reference reads them: the clip
// makes them 0 or the border).
TAOSTREAM_HOST_API int taostream_proposal(int32_t batch, int32_t anchors, int32_t height, int32_t width,
                                          int32_t input_height, int32_t input_width, int32_t rpn_stride,
                                          float roi_min_size, float nms_iou_threshold, int32_t pre_nms_top_n,
                                          int32_t post_nms_top_n, int32_t num_sizes, const float* sizes,
                                          int32_t num_ratios, const float* ratios, const float* scores,
                                          const float* deltas, float* rois);

// The GPU path of the TensorRT plugin (proposalKernels.cu) emulated on the host: the same step
// functions (proposalSteps.h) in the kernels' order, std::stable_sort standing in for CUB's radix sort
// on the same keys. Same arguments and output as taostream_proposal, for the whole batch; an image with a
// NaN score gets zero rois (what the plugin writes for it) and the call returns TAOSTREAM_HOST_NON_FINITE.
// At most 32 anchor sizes and 32 ratios (the GPU path's limit).
TAOSTREAM_HOST_API int taostream_proposal_emulated(int32_t batch, int32_t anchors, int32_t height, int32_t width,
                                                   int32_t input_height, int32_t input_width, int32_t rpn_stride,
                                                   float roi_min_size, float nms_iou_threshold, int32_t pre_nms_top_n,
                                                   int32_t post_nms_top_n, int32_t num_sizes, const float* sizes,
                                                   int32_t num_ratios, const float* ratios, const float* scores,
                                                   const float* deltas, float* rois);

#ifdef __cplusplus
}
#endif
