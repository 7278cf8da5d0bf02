// ResizeNearest_TRT's CUDA kernel on the index maths shared with the host implementation
// (plugins/common/copyIndex.h): one thread per output element, its source row and column by the same
// float32 division as on the host (built with --fmad=false). The IPluginV3 plugin
// (resizeNearestPlugin.cpp) launches it.
#include <cstdint>

#include "resizeNearestKernels.h"

#include "../common/copyIndex.h"

namespace cp = taostream::copy;

namespace {

template <typename T>
__global__ void resizeNearestKernel(int64_t planes, int64_t height, int64_t width, int64_t outHeight,
                                    int64_t outWidth, float scale, const T* __restrict__ in, T* __restrict__ out) {
    const int64_t count = planes * outHeight * outWidth;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t x = i % outWidth;
        const int64_t y = (i / outWidth) % outHeight;
        const int64_t plane = i / (outWidth * outHeight);
        out[i] = in[(plane * height + cp::resizeNearestSource(y, scale)) * width + cp::resizeNearestSource(x, scale)];
    }
}

}  // namespace

extern "C" {

// Device pointers, float32 [planes, height, width] -> [planes, out_height, out_width] with the sizes of
// taostream::copy::resizeNearestOutputSize. Returns the launch status (-1 for sizes it cannot make).
int taostream_resize_nearest_cuda(int64_t planes, int64_t height, int64_t width, float scale, const float* in,
                                  float* out, cudaStream_t stream) {
    const int64_t outHeight = cp::resizeNearestOutputSize(height, scale);
    const int64_t outWidth = cp::resizeNearestOutputSize(width, scale);
    if (outHeight < 0 || outWidth < 0) return -1;
    if (planes <= 0 || outHeight == 0 || outWidth == 0) return 0;
    resizeNearestKernel<float><<<1024, 256, 0, stream>>>(planes, height, width, outHeight, outWidth, scale, in, out);
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
