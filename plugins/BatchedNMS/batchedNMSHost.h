// BatchedNMS_TRT / BatchedNMSDynamic_TRT on the host (C++17, no CUDA): TensorRT OSS
// plugin/batchedNMSPlugin semantics, equal bit for bit to the numpy reference
// (plugins/reference.py, batched_nms_reference). C ABI for ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// boxes: [batch, num_boxes, loc_classes, 4] (loc_classes 1 with share_location, else num_classes);
// scores: [batch, num_boxes, num_classes]. Outputs: num [batch]; out_boxes [batch, keep_top_k, 4];
// out_scores, out_classes [batch, keep_top_k], fully written (padding: zeros, class -1).
TAOSTREAM_HOST_API int taostream_batched_nms(int32_t batch, int32_t num_boxes, int32_t num_classes,
                                             int32_t share_location, int32_t background_label_id, int32_t top_k,
                                             int32_t keep_top_k, float score_threshold, float iou_threshold,
                                             int32_t is_normalized, int32_t caffe_semantics, int32_t clip_boxes,
                                             const float* boxes, const float* scores, int32_t* num,
                                             float* out_boxes, float* out_scores, float* out_classes);

// The GPU path of the TensorRT plugin (batchedNMSKernels.cu) emulated on the host: the same step
// functions (../common/perClassNmsSteps.h, batchedNMSGather.h) in the kernels' order, std::stable_sort
// for CUB's sorts. Same arguments and outputs as taostream_batched_nms, except that an image with NaN
// or infinite inputs gets no detections (num 0, padding rows) as in the plugin, the other images
// theirs, and the call returns TAOSTREAM_HOST_NON_FINITE. For tests (tests/test_plugin_device_emulation.py).
TAOSTREAM_HOST_API int taostream_batched_nms_emulated(int32_t batch, int32_t num_boxes, int32_t num_classes,
                                                      int32_t share_location, int32_t background_label_id,
                                                      int32_t top_k, int32_t keep_top_k, float score_threshold,
                                                      float iou_threshold, int32_t is_normalized,
                                                      int32_t caffe_semantics, int32_t clip_boxes, const float* boxes,
                                                      const float* scores, int32_t* num, float* out_boxes,
                                                      float* out_scores, float* out_classes);

#ifdef __cplusplus
}
#endif
