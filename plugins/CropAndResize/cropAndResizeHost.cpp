// CropAndResize / CropAndResizeDynamic on the host; see cropAndResizeHost.h and README.md.
#include "cropAndResizeHost.h"

#include <cstring>
#include <vector>

#include "../common/cropAndResizeMath.h"
#include "../common/perClassNmsHost.h"  // allFinite

namespace fr = taostream::frcnn;

extern "C" int taostream_crop_and_resize(int32_t batch, int32_t channels, int32_t height, int32_t width,
                                         int32_t rois, int32_t crop_height, int32_t crop_width,
                                         const float* features, const float* roi_boxes, float* out) {
    if (batch < 0 || channels < 0 || height <= 0 || width <= 0 || rois < 0 || crop_height <= 0 || crop_width <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int64_t plane = int64_t{height} * width;
    // A NaN or infinite roi makes NaN or infinite sample positions, which are outside (the extrapolation
    // value) here as in the reference; only the feature values would go into the arithmetic.
    if (!taostream::nms::allFinite(features, int64_t{batch} * channels * plane)) return TAOSTREAM_HOST_NON_FINITE;
    const int64_t patch = int64_t{crop_height} * crop_width;
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(int64_t{batch} * rois * channels * patch));
    std::vector<float> ys(crop_height), xs(crop_width);
    std::vector<char> yInside(crop_height), xInside(crop_width);
    for (int32_t b = 0; b < batch; ++b) {
        const float* map = features + int64_t{b} * channels * plane;
        for (int32_t r = 0; r < rois; ++r) {
            const float* roi = roi_boxes + (int64_t{b} * rois + r) * 4;
            for (int32_t i = 0; i < crop_height; ++i) {
                const float y = fr::samplePosition(roi[0], roi[2], height, crop_height, i);
                yInside[i] = fr::sampleInside(y, height);
                ys[i] = fr::clampSample(y, height);
            }
            for (int32_t j = 0; j < crop_width; ++j) {
                const float x = fr::samplePosition(roi[1], roi[3], width, crop_width, j);
                xInside[j] = fr::sampleInside(x, width);
                xs[j] = fr::clampSample(x, width);
            }
            float* target = out + (int64_t{b} * rois + r) * channels * patch;
            for (int32_t c = 0; c < channels; ++c) {
                for (int32_t i = 0; i < crop_height; ++i) {
                    if (!yInside[i]) continue;
                    for (int32_t j = 0; j < crop_width; ++j) {
                        if (!xInside[j]) continue;
                        target[int64_t{c} * patch + int64_t{i} * crop_width + j] =
                            fr::sampleBilinear(map + int64_t{c} * plane, width, ys[i], xs[j]);
                    }
                }
            }
        }
    }
    return TAOSTREAM_HOST_OK;
}
