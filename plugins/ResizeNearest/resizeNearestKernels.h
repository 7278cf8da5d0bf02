// ResizeNearest_TRT's CUDA kernel (resizeNearestKernels.cu), launched by the TensorRT plugin
// (resizeNearestPlugin.cpp).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

extern "C" {
// Device pointers, float32 [planes, height, width] -> [planes, out_height, out_width], the sizes of
// taostream::copy::resizeNearestOutputSize (common/copyIndex.h). Returns the launch status (a
// cudaError_t), -1 for sizes it cannot make.
int taostream_resize_nearest_cuda(int64_t planes, int64_t height, int64_t width, float scale, const float* in,
                                  float* out, cudaStream_t stream);
}
