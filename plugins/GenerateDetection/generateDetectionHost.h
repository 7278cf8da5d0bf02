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

#ifdef __cplusplus
}
#endif
