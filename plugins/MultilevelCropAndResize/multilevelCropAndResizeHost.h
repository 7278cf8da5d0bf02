// MultilevelCropAndResize_TRT on the host (C++17, no CUDA): TensorRT OSS
// plugin/multilevelCropAndResizePlugin semantics (roiAlignHalfCenter_kernel), equal bit for bit to
// the numpy reference (plugins/maskrcnn.py, crop_and_resize_reference). C ABI for ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// rois [batch, rois, 4] (y1, x1, y2, x2 input pixels); features[l] [batch, channels, heights[l],
// widths[l]] for P2..P6; out [batch, rois, channels, pooled, pooled], fully written (rois that are not
// valid: zeros).
TAOSTREAM_HOST_API int taostream_multilevel_crop_and_resize(int32_t batch, int32_t rois, int32_t channels,
                                                            int32_t pooled, int32_t height, int32_t width,
                                                            const float* roi_boxes, const float* const* features,
                                                            const int32_t* heights, const int32_t* widths,
                                                            float* out);

// The GPU path of the TensorRT plugin (multilevelCropAndResizeKernels.cu) emulated on the host: the
// kernel's step (../common/multilevelCropMath.h, cropValue) for every output index in turn. Equal byte
// for byte to taostream_multilevel_crop_and_resize (tests/test_plugin_device_emulation.py).
TAOSTREAM_HOST_API int taostream_multilevel_crop_and_resize_emulated(int32_t batch, int32_t rois, int32_t channels,
                                                                     int32_t pooled, int32_t height, int32_t width,
                                                                     const float* roi_boxes,
                                                                     const float* const* features,
                                                                     const int32_t* heights, const int32_t* widths,
                                                                     float* out);

#ifdef __cplusplus
}
#endif
