// CropAndResize(Dynamic)'s CUDA kernel (cropAndResizeKernels.cu), launched by the TensorRT plugin
// (cropAndResizePlugin.cpp).
#pragma once

#include <cuda_runtime_api.h>

extern "C" {
// Device pointers: features [batch, channels, height, width], rois [batch, rois, 4] normalized
// (y1, x1, y2, x2) -> out [batch, rois, channels, crop_height, crop_width]. Returns the launch status
// (a cudaError_t).
int taostream_crop_and_resize_cuda(int batch, int channels, int height, int width, int rois, int crop_height,
                                   int crop_width, const float* features, const float* roi_boxes, float* out,
                                   cudaStream_t stream);
}
