// NMS_TRT / NMSDynamic_TRT (SSD's DetectionOutput) on the host (C++17, no CUDA): TensorRT OSS
// plugin/nmsPlugin semantics, equal bit for bit to the numpy reference (plugins/reference.py,
// nms_reference). C ABI for ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// loc: [batch, num_priors, loc_classes, 4] encoded boxes; conf: [batch, num_priors, num_classes];
// priors: [prior_batch (1 or batch), 2, num_priors, 4] (boxes, then variances). code_type: 0 CORNER,
// 1 CENTER_SIZE, 2 CORNER_SIZE, 3 TF_CENTER. Outputs: detections [batch, 1, keep_top_k, 7] (image,
// class, score, x1, y1, x2, y2 clipped to [0, 1]; padding class -1) and counts [batch], fully written.
TAOSTREAM_HOST_API int taostream_nms(int32_t batch, int32_t num_priors, int32_t num_classes, int32_t prior_batch,
                                     int32_t share_location, int32_t background_label_id, int32_t top_k,
                                     int32_t keep_top_k, float score_threshold, float iou_threshold,
                                     int32_t is_normalized, int32_t conf_sigmoid,
                                     int32_t variance_encoded_in_target, int32_t code_type, const float* loc,
                                     const float* conf, const float* priors, float* detections, int32_t* counts);

// The GPU path of the TensorRT plugin (nmsKernels.cu: decode, sigmoid, the per-class NMS, the rows)
// emulated on the host: the same step functions (../common/ssdDecode.h, ../common/perClassNmsSteps.h,
// nmsRows.h) in the kernels' order, std::stable_sort for CUB's sorts. Same arguments and outputs as
// taostream_nms, except that, as in the plugin, an image whose decoded boxes or scores hold NaN or
// infinity gets no detections (count 0, padding rows) and the others theirs; the call then returns
// TAOSTREAM_HOST_NON_FINITE. For tests (tests/test_plugin_device_emulation.py).
TAOSTREAM_HOST_API int taostream_nms_emulated(int32_t batch, int32_t num_priors, int32_t num_classes,
                                              int32_t prior_batch, int32_t share_location,
                                              int32_t background_label_id, int32_t top_k, int32_t keep_top_k,
                                              float score_threshold, float iou_threshold, int32_t is_normalized,
                                              int32_t conf_sigmoid, int32_t variance_encoded_in_target,
                                              int32_t code_type, const float* loc, const float* conf,
                                              const float* priors, float* detections, int32_t* counts);

#ifdef __cplusplus
}
#endif
