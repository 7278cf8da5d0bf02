// MultilevelCropAndResize_TRT on the host; see multilevelCropAndResizeHost.h and README.md.
#include "multilevelCropAndResizeHost.h"

#include <cstring>
#include <vector>

#include "../common/multilevelCropMath.h"

namespace mr = taostream::mrcnn;

extern "C" int taostream_multilevel_crop_and_resize(int32_t batch, int32_t rois, int32_t channels, int32_t pooled,
                                                    int32_t height, int32_t width, const float* roi_boxes,
                                                    const float* const* features, const int32_t* heights,
                                                    const int32_t* widths, float* out) {
    if (batch < 0 || rois < 0 || channels <= 0 || pooled <= 0 || height <= 0 || width <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    for (int l = 0; l < mr::kLevels; ++l) {
        if (heights[l] <= 0 || widths[l] <= 0) return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int64_t bins = int64_t{pooled} * pooled;
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(int64_t{batch} * rois * channels * bins));
    std::vector<float> ys(pooled), xs(pooled);
    for (int32_t image = 0; image < batch; ++image) {
        for (int32_t r = 0; r < rois; ++r) {
            const float* roi = roi_boxes + (int64_t{image} * rois + r) * 4;
            if (!mr::cropRoiValid(roi, height, width)) continue;
            const int level = mr::cropRoiLevel(roi);
            const int l = level - mr::kMinLevel;
            const int h = heights[l], w = widths[l];
            const float scale = static_cast<float>(1 << level);
            for (int i = 0; i < pooled; ++i) {
                ys[i] = mr::cropBinCentre(roi[0], roi[2], scale, pooled, h, i);
                xs[i] = mr::cropBinCentre(roi[1], roi[3], scale, pooled, w, i);
            }
            const float* feature = features[l] + int64_t{image} * channels * h * w;
            float* target = out + (int64_t{image} * rois + r) * channels * bins;
            for (int i = 0; i < pooled; ++i) {
                for (int j = 0; j < pooled; ++j) {
                    for (int32_t c = 0; c < channels; ++c) {
                        target[int64_t{c} * bins + int64_t{i} * pooled + j] =
                            mr::cropBilinear(feature + int64_t{c} * h * w, w, ys[i], xs[j]);
                    }
                }
            }
        }
    }
    return TAOSTREAM_HOST_OK;
}

// The kernel's order: one cropValue per output index (multilevelCropAndResizeKernels.cu runs one
// thread per index), every value written.
extern "C" int taostream_multilevel_crop_and_resize_emulated(int32_t batch, int32_t rois, int32_t channels,
                                                             int32_t pooled, int32_t height, int32_t width,
                                                             const float* roi_boxes, const float* const* features,
                                                             const int32_t* heights, const int32_t* widths,
                                                             float* out) {
    if (batch < 0 || rois < 0 || channels <= 0 || pooled <= 0 || height <= 0 || width <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    mr::CropPyramid pyramid{};
    for (int l = 0; l < mr::kLevels; ++l) {
        if (heights[l] <= 0 || widths[l] <= 0) return TAOSTREAM_HOST_BAD_ARGUMENT;
        pyramid.features[l] = features[l];
        pyramid.heights[l] = heights[l];
        pyramid.widths[l] = widths[l];
    }
    const int64_t count = int64_t{batch} * rois * channels * pooled * pooled;
    for (int64_t index = 0; index < count; ++index) {
        out[index] = mr::cropValue(index, rois, channels, pooled, height, width, roi_boxes, pyramid);
    }
    return TAOSTREAM_HOST_OK;
}
