// MultilevelCropAndResize_TRT on the host; see multilevelCropAndResizeHost.h and README.md.
#include "multilevelCropAndResizeHost.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "../common/maskRCNNMath.h"

namespace mr = taostream::mrcnn;

namespace {

constexpr float kCanonicalArea = 224.0f * 224.0f / 4.0f;  // the P2/P3 threshold; x4 per level up

bool validRoi(const float* r, int height, int width) {
    const float h = static_cast<float>(height), w = static_cast<float>(width);
    return 0.0f <= r[0] && r[0] <= h && 0.0f <= r[1] && r[1] <= w && 0.0f <= r[2] && r[2] <= h && 0.0f <= r[3] &&
           r[3] <= w && r[0] < r[2] && r[1] < r[3];
}

int roiLevel(const float* r) {
    const float dy = r[2] - r[0];
    const float dx = r[3] - r[1];
    const float area = dy * dx;
    int level = mr::kMinLevel;
    float threshold = kCanonicalArea;
    for (int k = 0; k < mr::kMaxLevel - mr::kMinLevel; ++k) {
        if (area > threshold) ++level;
        threshold = threshold * 4.0f;
    }
    return level;
}

// bin_centres: pooled sample positions on a level, clamped to [0, size - 1].
void binCentres(float start, float end, float scale, int pooled, int size, float* out) {
    const float s = start / scale;
    const float e = end / scale;
    const float span = e - s;
    const float delta = span / static_cast<float>(pooled);
    for (int i = 0; i < pooled; ++i) {
        double position = static_cast<double>(s) + static_cast<double>(delta) * (i + 0.5);
        position = position >= 0.0 ? position : 0.0;              // np.maximum(p, 0)
        position = position <= size - 1.0 ? position : size - 1.0;  // np.minimum(p, size - 1)
        out[i] = static_cast<float>(position);
    }
}

}  // namespace

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
            if (!validRoi(roi, height, width)) continue;
            const int level = roiLevel(roi);
            const int l = level - mr::kMinLevel;
            const int h = heights[l], w = widths[l];
            const float scale = static_cast<float>(1 << level);
            binCentres(roi[0], roi[2], scale, pooled, h, ys.data());
            binCentres(roi[1], roi[3], scale, pooled, w, xs.data());
            const float* feature = features[l] + int64_t{image} * channels * h * w;
            float* target = out + (int64_t{image} * rois + r) * channels * bins;
            for (int i = 0; i < pooled; ++i) {
                const int64_t y0 = static_cast<int64_t>(ys[i]);
                const float ya = ys[i] - static_cast<float>(y0);
                const int64_t y1 = ya == 0.0f ? y0 : y0 + 1;
                for (int j = 0; j < pooled; ++j) {
                    const int64_t x0 = static_cast<int64_t>(xs[j]);
                    const float xa = xs[j] - static_cast<float>(x0);
                    const int64_t x1 = xa == 0.0f ? x0 : x0 + 1;
                    const float wx0 = 1.0f - xa, wy0 = 1.0f - ya;
                    for (int32_t c = 0; c < channels; ++c) {
                        const float* plane = feature + int64_t{c} * h * w;
                        const float top = plane[y0 * w + x0] * wx0 + plane[y0 * w + x1] * xa;
                        const float bottom = plane[y1 * w + x0] * wx0 + plane[y1 * w + x1] * xa;
                        target[int64_t{c} * bins + int64_t{i} * pooled + j] = top * wy0 + bottom * ya;
                    }
                }
            }
        }
    }
    return TAOSTREAM_HOST_OK;
}
