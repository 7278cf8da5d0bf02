// GenerateDetection_TRT on the host (C++17, no CUDA): TensorRT OSS plugin/generateDetectionPlugin
// semantics, equal bit for bit to the numpy reference (plugins/maskrcnn.py,
// generate_detection_reference). C ABI for ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// deltas [batch, rois, num_classes, 4] (dy, dx, dh, dw), scores [batch, rois, num_classes], rois
// [batch, rois, 4] (y1, x1, y2, x2 pixels) -> detections [batch, keep_topk, 6] (y1, x1, y2, x2,
// class, score; padding 0, 0, 0, 0, -1, 0), fully written.
TAOSTREAM_HOST_API int taostream_generate_detection(int32_t batch, int32_t rois, int32_t num_classes,
                                                    int32_t keep_topk, float score_threshold, float iou_threshold,
                                                    int32_t height, int32_t width, const float* deltas,
                                                    const float* scores, const float* roi_boxes,
                                                    float* detections);

// The decoder's dh/dw clip, log(1000 / 16) rounded to float (the plugin passes it to the kernels).
TAOSTREAM_HOST_API float taostream_generate_detection_clip(void);

// The GPU path of the TensorRT plugin (generateDetectionKernels.cu) emulated on the host: the same step
// functions (generateDetectionSteps.h) in the kernels' order over the whole batch, std::stable_sort
// standing in for CUB's sort. An image with NaN/inf inputs gets padding rows (the others theirs) and the
// status is TAOSTREAM_HOST_NON_FINITE. Equal byte for byte to taostream_generate_detection per image
// (tests/test_plugin_device_emulation.py).
TAOSTREAM_HOST_API int taostream_generate_detection_emulated(int32_t batch, int32_t rois, int32_t num_classes,
                                                             int32_t keep_topk, float score_threshold,
                                                             float iou_threshold, int32_t height, int32_t width,
                                                             const float* deltas, const float* scores,
                                                             const float* roi_boxes, float* detections);

#ifdef __cplusplus
}
#endif
