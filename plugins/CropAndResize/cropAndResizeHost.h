// CropAndResize / CropAndResizeDynamic (version 1) on the host (C++17, no CUDA): TensorRT OSS
// plugin/cropAndResizePlugin semantics, equal bit for bit to the numpy reference (plugins/frcnn.py,
// crop_and_resize_reference). C ABI for ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// features: [batch, channels, height, width]; rois: [batch, rois, 4] (y1, x1, y2, x2 normalized);
// out: [batch, rois, channels, crop_height, crop_width], fully written (samples outside the map: 0).
// A NaN or infinite feature: TAOSTREAM_HOST_NON_FINITE, nothing written (NaN or infinite rois are
// read as the reference reads them: their samples are outside, 0).
TAOSTREAM_HOST_API int taostream_crop_and_resize(int32_t batch, int32_t channels, int32_t height, int32_t width,
                                                 int32_t rois, int32_t crop_height, int32_t crop_width,
                                                 const float* features, const float* roi_boxes, float* out);

#ifdef __cplusplus
}
#endif
