// EfficientNMS_TRT on the host (C++17, no CUDA): TensorRT OSS plugin/efficientNMSPlugin semantics, equal
// bit for bit to the numpy reference (plugins/reference.py, efficient_nms_reference). C ABI for ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// boxes: [batch, anchors, box_classes, 4] (box_classes 1 or classes); scores: [batch, anchors, classes];
// anchor_boxes: [anchor_batch (1 or batch), anchors, 4], or anchor_batch 0 and no anchors input.
// sort_threshold: the raw-score threshold (EfficientNmsParameters.sort_threshold(): in logit space with
// score_activation); at most max_candidates candidates per image reach NMS. Outputs num [batch],
// out_boxes [batch, max_output, 4], out_scores [batch, max_output], out_classes [batch, max_output],
// fully written (unused slots 0). A non-finite box or anchor, a NaN score, or a decoded candidate box
// that is not finite (exp overflow): TAOSTREAM_HOST_NON_FINITE.
TAOSTREAM_HOST_API int taostream_efficient_nms(int32_t batch, int32_t anchors, int32_t classes, int32_t box_classes,
                                               int32_t anchor_batch, int32_t box_coding, int32_t background_class,
                                               int32_t class_agnostic, int32_t score_activation, float sort_threshold,
                                               float iou_threshold, int32_t max_output, int32_t max_candidates,
                                               const float* boxes, const float* scores, const float* anchor_boxes,
                                               int32_t* num, float* out_boxes, float* out_scores,
                                               int32_t* out_classes);

// The GPU path of the TensorRT plugin (efficientNMSKernels.cu) emulated on the host: the same step
// functions (efficientNMSSteps.h) in the kernels' order, std::stable_sort for CUB's sort. Same
// arguments and outputs as taostream_efficient_nms, except that an image the host refuses as not
// finite gets no detections (num 0, zero rows) as in the plugin, the other images theirs, and the call
// returns TAOSTREAM_HOST_NON_FINITE. For tests (tests/test_plugin_device_emulation.py).
TAOSTREAM_HOST_API int taostream_efficient_nms_emulated(int32_t batch, int32_t anchors, int32_t classes,
                                                        int32_t box_classes, int32_t anchor_batch, int32_t box_coding,
                                                        int32_t background_class, int32_t class_agnostic,
                                                        int32_t score_activation, float sort_threshold,
                                                        float iou_threshold, int32_t max_output,
                                                        int32_t max_candidates, const float* boxes,
                                                        const float* scores, const float* anchor_boxes, int32_t* num,
                                                        float* out_boxes, float* out_scores, int32_t* out_classes);

#ifdef __cplusplus
}
#endif
