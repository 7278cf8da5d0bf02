// SpecialSlice_TRT's CUDA kernel on the index maths shared with the host implementation
// (plugins/common/copyIndex.h): one thread per box value. specialSlicePlugin.cpp launches it.
#include <cstdint>

#include "../common/copyIndex.h"

namespace {

__global__ void specialSliceKernel(int64_t count, const float* __restrict__ detections, float* __restrict__ boxes) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        boxes[i] = detections[taostream::copy::specialSliceSource(i)];
    }
}

}  // namespace

extern "C" {

// Device pointers: detections [rows, 6] -> boxes [rows, 4]. Returns the launch status.
int taostream_special_slice_cuda(int64_t rows, const float* detections, float* boxes, cudaStream_t stream) {
    if (rows <= 0) return 0;
    specialSliceKernel<<<1024, 256, 0, stream>>>(rows * 4, detections, boxes);
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
