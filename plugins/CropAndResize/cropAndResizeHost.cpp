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
    // Per roi, each inside sample row / column once (its neighbours and fraction), then every channel.
    struct Tap {
        int64_t low, high;
        float lerp;
    };
    std::vector<Tap> rows, cols;
    std::vector<int32_t> rowIndex, colIndex;
    for (int32_t b = 0; b < batch; ++b) {
        const float* map = features + int64_t{b} * channels * plane;
        for (int32_t r = 0; r < rois; ++r) {
            const float* roi = roi_boxes + (int64_t{b} * rois + r) * 4;
            rows.clear(), cols.clear(), rowIndex.clear(), colIndex.clear();
            for (int32_t i = 0; i < crop_height; ++i) {
                const float y = fr::samplePosition(roi[0], roi[2], height, crop_height, i);
                if (!fr::sampleInside(y, height)) continue;
                const float clamped = fr::clampSample(y, height);
                rows.push_back(Tap{fr::sampleLow(clamped), fr::sampleHigh(clamped), fr::sampleLerp(clamped)});
                rowIndex.push_back(i);
            }
            for (int32_t j = 0; j < crop_width; ++j) {
                const float x = fr::samplePosition(roi[1], roi[3], width, crop_width, j);
                if (!fr::sampleInside(x, width)) continue;
                const float clamped = fr::clampSample(x, width);
                cols.push_back(Tap{fr::sampleLow(clamped), fr::sampleHigh(clamped), fr::sampleLerp(clamped)});
                colIndex.push_back(j);
            }
            float* target = out + (int64_t{b} * rois + r) * channels * patch;
            for (int32_t c = 0; c < channels; ++c) {
                const float* p = map + int64_t{c} * plane;
                float* t = target + int64_t{c} * patch;
                for (size_t y = 0; y < rows.size(); ++y) {
                    const float* top = p + rows[y].low * width;
                    const float* bottom = p + rows[y].high * width;
                    float* line = t + int64_t{rowIndex[y]} * crop_width;
                    for (size_t x = 0; x < cols.size(); ++x) {
                        const Tap& col = cols[x];
                        line[colIndex[x]] = fr::bilinearBlend(top[col.low], top[col.high], bottom[col.low],
                                                              bottom[col.high], col.lerp, rows[y].lerp);
                    }
                }
            }
        }
    }
    return TAOSTREAM_HOST_OK;
}
