// MultilevelCropAndResize_TRT's CUDA kernel (multilevelCropAndResizeKernels.cu), launched by the
// TensorRT plugin (multilevelCropAndResizePlugin.cpp).
#pragma once

#include <cuda_runtime_api.h>
#include <stdint.h>

extern "C" {
// Device pointers: rois [batch, rois, 4] (y1, x1, y2, x2 input pixels), features[l] P2..P6 [batch,
// channels, heights[l], widths[l]] (the five pointers and sizes are host values) -> out [batch, rois,
// channels, pooled, pooled], every value written (0 for a roi that is not valid). Returns the launch
// status (a cudaError_t).
int taostream_multilevel_crop_and_resize_cuda(int32_t batch, int32_t rois, int32_t channels, int32_t pooled,
                                              int32_t height, int32_t width, const float* roi_boxes,
                                              const float* const* features, const int32_t* heights,
                                              const int32_t* widths, float* out, cudaStream_t stream);
}
