// CropAndResize(Dynamic)'s CUDA kernel on the maths shared with the host implementation
// (plugins/common/cropAndResizeMath.h): one thread per output value, the whole op. Built with
// --fmad=false so each operation rounds as on the host. The IPluginV3 plugin (cropAndResizePlugin.cpp)
// launches it.
#include <cstdint>

#include "cropAndResizeKernels.h"

#include "../common/cropAndResizeMath.h"

namespace fr = taostream::frcnn;

namespace {

__global__ void cropAndResizeKernel(int64_t batch, int64_t channels, int64_t height, int64_t width, int64_t rois,
                                    int64_t cropHeight, int64_t cropWidth, const float* __restrict__ features,
                                    const float* __restrict__ roiBoxes, float* __restrict__ out) {
    const int64_t count = batch * rois * channels * cropHeight * cropWidth;
    for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < count;
         index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t j = index % cropWidth;
        const int64_t i = (index / cropWidth) % cropHeight;
        const int64_t c = (index / (cropWidth * cropHeight)) % channels;
        const int64_t roiIndex = index / (cropWidth * cropHeight * channels);  // b * rois + r
        const int64_t b = roiIndex / rois;
        const float* roi = roiBoxes + roiIndex * 4;
        const float y = fr::samplePosition(roi[0], roi[2], height, cropHeight, i);
        const float x = fr::samplePosition(roi[1], roi[3], width, cropWidth, j);
        float value = 0.0f;  // the extrapolation value
        if (fr::sampleInside(y, height) && fr::sampleInside(x, width)) {
            const float* plane = features + (b * channels + c) * height * width;
            value = fr::sampleBilinear(plane, width, fr::clampSample(y, height), fr::clampSample(x, width));
        }
        out[index] = value;
    }
}

}  // namespace

extern "C" {

// Device pointers: features [batch, channels, height, width], rois [batch, rois, 4] normalized
// (y1, x1, y2, x2) -> out [batch, rois, channels, crop_height, crop_width]. Returns the launch status.
int taostream_crop_and_resize_cuda(int batch, int channels, int height, int width, int rois, int crop_height,
                                   int crop_width, const float* features, const float* roi_boxes, float* out,
                                   cudaStream_t stream) {
    if (batch <= 0 || channels <= 0 || rois <= 0 || crop_height <= 0 || crop_width <= 0) return 0;
    cropAndResizeKernel<<<1024, 256, 0, stream>>>(batch, channels, height, width, rois, crop_height, crop_width,
                                                  features, roi_boxes, out);
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
