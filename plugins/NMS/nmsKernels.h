// NMS_TRT's CUDA kernels (nmsKernels.cu), called by the TensorRT plugin (nmsPlugin.cpp).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

extern "C" {
// One image, device pointers: loc [priors, locClasses, 4], priorData [2, priors, 4] -> boxes
// [priors, locClasses, 4]. Returns the launch status (a cudaError_t).
int taostream_ssd_decode_cuda(int64_t priors, int loc_classes, const float* loc, const float* prior_data,
                              int code_type, int variance_encoded_in_target, float* boxes, cudaStream_t stream);
// out[i] = sigmoid(in[i]) for count elements, device pointers.
int taostream_sigmoid_cuda(int64_t count, const float* in, float* out, cudaStream_t stream);
}
