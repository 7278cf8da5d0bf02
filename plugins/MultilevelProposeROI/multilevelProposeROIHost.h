// MultilevelProposeROI_TRT on the host (C++17, no CUDA): the semantics of TensorRT OSS
// plugin/multilevelProposeROI, equal bit for bit to the numpy reference
// (plugins/maskrcnn.py, propose_rois_reference). C ABI for ctypes.
#pragma once

#include <stdint.h>

#if defined(TAOSTREAM_PLUGINS_HOST_BUILD)
#define TAOSTREAM_HOST_API __attribute__((visibility("default")))
#else
#define TAOSTREAM_HOST_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

// Status codes of the C functions.
#define TAOSTREAM_HOST_OK 0
#define TAOSTREAM_HOST_NON_FINITE 1   // a NaN or infinite score/delta: the caller uses the numpy reference
#define TAOSTREAM_HOST_BAD_ARGUMENT 2 // sizes that do not match the image size or the plugin's limits

TAOSTREAM_HOST_API int taostream_plugins_host_abi_version(void);

// Anchors per level P2..P6 for an image of height x width (writes 5 counts).
TAOSTREAM_HOST_API void taostream_mrcnn_level_anchor_counts(int32_t height, int32_t width, int64_t* counts);

// deltas[l]: [batch, counts[l], 4] (dy, dx, dh, dw); scores[l]: [batch, counts[l]] (foreground
// probability); rois: [batch, keep_topk, 4] (y1, x1, y2, x2 pixels), fully written.
TAOSTREAM_HOST_API int taostream_multilevel_propose_roi(int32_t batch, int32_t height, int32_t width,
                                                        int32_t prenms_topk, int32_t keep_topk, float fg_threshold,
                                                        float iou_threshold, const float* const* deltas,
                                                        const float* const* scores, const int64_t* counts,
                                                        float* rois);

// The GPU path of the TensorRT plugin (multilevelProposeROIKernels.cu) emulated on the host: the same
// step functions (multilevelProposeROISteps.h) in the kernels' order, std::stable_sort standing in for
// CUB's radix sorts on the same keys. Same arguments and output as taostream_multilevel_propose_roi; an
// image with a NaN or infinite input gets zero rois (what the plugin writes for it) and the call returns
// TAOSTREAM_HOST_NON_FINITE.
TAOSTREAM_HOST_API int taostream_multilevel_propose_roi_emulated(int32_t batch, int32_t height, int32_t width,
                                                                 int32_t prenms_topk, int32_t keep_topk,
                                                                 float fg_threshold, float iou_threshold,
                                                                 const float* const* deltas,
                                                                 const float* const* scores, const int64_t* counts,
                                                                 float* rois);

#ifdef __cplusplus
}
#endif
