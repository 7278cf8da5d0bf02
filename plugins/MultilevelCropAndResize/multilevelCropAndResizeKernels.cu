// MultilevelCropAndResize_TRT's CUDA kernel on the maths shared with the host implementation
// (plugins/common/multilevelCropMath.h): one thread per output value, the whole op (level choice, bin
// centres, bilinear sample). Built with --fmad=false so each operation rounds as on the host. The
// IPluginV3 plugin (multilevelCropAndResizePlugin.cpp) launches it; the host library's
// taostream_multilevel_crop_and_resize_emulated runs the same step per index.
#include <cstdint>

#include "multilevelCropAndResizeKernels.h"

#include "../common/multilevelCropMath.h"

namespace mr = taostream::mrcnn;

namespace {

__global__ void multilevelCropAndResizeKernel(int64_t count, int64_t rois, int64_t channels, int pooled, int height,
                                              int width, const float* __restrict__ roiBoxes,
                                              mr::CropPyramid pyramid, float* __restrict__ out) {
    for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < count;
         index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        out[index] = mr::cropValue(index, rois, channels, pooled, height, width, roiBoxes, pyramid);
    }
}

}  // namespace

extern "C" {

int taostream_multilevel_crop_and_resize_cuda(int32_t batch, int32_t rois, int32_t channels, int32_t pooled,
                                              int32_t height, int32_t width, const float* roi_boxes,
                                              const float* const* features, const int32_t* heights,
                                              const int32_t* widths, float* out, cudaStream_t stream) {
    const int64_t count = int64_t{batch} * rois * channels * pooled * pooled;
    if (count <= 0) return 0;
    mr::CropPyramid pyramid{};
    for (int l = 0; l < mr::kLevels; ++l) {
        pyramid.features[l] = features[l];
        pyramid.heights[l] = heights[l];
        pyramid.widths[l] = widths[l];
    }
    const int64_t blocks = (count + 255) / 256;
    multilevelCropAndResizeKernel<<<static_cast<unsigned>(blocks < 4096 ? blocks : 4096), 256, 0, stream>>>(
        count, rois, channels, pooled, height, width, roi_boxes, pyramid, out);
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
