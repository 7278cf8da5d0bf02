// Per-element maths of MultilevelCropAndResize_TRT (TensorRT OSS roiAlignHalfCenter semantics, as the
// numpy reference plugins/maskrcnn.py's crop_and_resize_reference computes it): __host__ __device__
// under nvcc, shared by the host implementation (multilevelCropAndResizeHost.cpp), its device emulation
// and the CUDA kernel (multilevelCropAndResizeKernels.cu, one thread per output value, which calls
// cropValue). float and double operations in the reference's order; build with -ffp-contract=off /
// --fmad=false.
#pragma once

#include <cstdint>

#include "maskRCNNMath.h"  // TAOSTREAM_HD, kMinLevel, kMaxLevel, kLevels

namespace taostream {
namespace mrcnn {

constexpr float kCanonicalArea = 224.0f * 224.0f / 4.0f;  // the P2/P3 threshold; x4 per level up

// A roi (y1, x1, y2, x2 input pixels) inside the image and not empty; false for NaN.
TAOSTREAM_HD inline bool cropRoiValid(const float* r, int height, int width) {
    const float h = static_cast<float>(height), w = static_cast<float>(width);
    return 0.0f <= r[0] && r[0] <= h && 0.0f <= r[1] && r[1] <= w && 0.0f <= r[2] && r[2] <= h && 0.0f <= r[3] &&
           r[3] <= w && r[0] < r[2] && r[1] < r[3];
}

// The pyramid level (2..6) of a roi: P2, one up for each threshold its area exceeds.
TAOSTREAM_HD inline int cropRoiLevel(const float* r) {
    const float dy = r[2] - r[0];
    const float dx = r[3] - r[1];
    const float area = dy * dx;
    int level = kMinLevel;
    float threshold = kCanonicalArea;
    for (int k = 0; k < kMaxLevel - kMinLevel; ++k) {
        if (area > threshold) ++level;
        threshold = threshold * 4.0f;
    }
    return level;
}

// Bin centre ``i`` of ``pooled`` along one side start..end (input pixels) of a level with stride
// ``scale``, clamped to [0, size - 1] (np.maximum(p, 0) then np.minimum(p, size - 1), in double).
TAOSTREAM_HD inline float cropBinCentre(float start, float end, float scale, int pooled, int size, int i) {
    const float s = start / scale;
    const float e = end / scale;
    const float span = e - s;
    const float delta = span / static_cast<float>(pooled);
    double position = static_cast<double>(s) + static_cast<double>(delta) * (i + 0.5);
    position = position >= 0.0 ? position : 0.0;
    position = position <= size - 1.0 ? position : size - 1.0;
    return static_cast<float>(position);
}

// The lower neighbour of a clamped centre, its fraction past it, and the upper neighbour (the lower one
// again when the fraction is 0, so a centre on the last row or column reads nothing past it).
TAOSTREAM_HD inline int64_t cropLow(float centre) { return static_cast<int64_t>(centre); }
TAOSTREAM_HD inline float cropFraction(float centre) { return centre - static_cast<float>(cropLow(centre)); }
TAOSTREAM_HD inline int64_t cropHigh(float centre) {
    return cropFraction(centre) == 0.0f ? cropLow(centre) : cropLow(centre) + 1;
}

// The bilinear sample of channel plane [h, w] at clamped centres (y, x): rows first, then between them.
TAOSTREAM_HD inline float cropBilinear(const float* plane, int64_t w, float y, float x) {
    const int64_t y0 = cropLow(y), y1 = cropHigh(y);
    const int64_t x0 = cropLow(x), x1 = cropHigh(x);
    const float ya = cropFraction(y), xa = cropFraction(x);
    const float wx0 = 1.0f - xa, wy0 = 1.0f - ya;
    const float top = plane[y0 * w + x0] * wx0 + plane[y0 * w + x1] * xa;
    const float bottom = plane[y1 * w + x0] * wx0 + plane[y1 * w + x1] * xa;
    return top * wy0 + bottom * ya;
}

// The kernel's step: output value ``index`` of out [batch, rois, channels, pooled, pooled] (0 for a roi
// that is not valid). features[l]: P(2 + l) [batch, channels, heights[l], widths[l]].
struct CropPyramid {
    const float* features[kLevels];
    int32_t heights[kLevels];
    int32_t widths[kLevels];
};

TAOSTREAM_HD inline float cropValue(int64_t index, int64_t rois, int64_t channels, int pooled, int height, int width,
                                    const float* roiBoxes, const CropPyramid& pyramid) {
    const int j = static_cast<int>(index % pooled);
    const int i = static_cast<int>((index / pooled) % pooled);
    const int64_t c = (index / (int64_t{pooled} * pooled)) % channels;
    const int64_t roiIndex = index / (int64_t{pooled} * pooled * channels);  // image * rois + r
    const int64_t image = roiIndex / rois;
    const float* roi = roiBoxes + roiIndex * 4;
    if (!cropRoiValid(roi, height, width)) return 0.0f;
    const int level = cropRoiLevel(roi);
    const int l = level - kMinLevel;
    const int h = pyramid.heights[l], w = pyramid.widths[l];
    const float scale = static_cast<float>(1 << level);
    const float y = cropBinCentre(roi[0], roi[2], scale, pooled, h, i);
    const float x = cropBinCentre(roi[1], roi[3], scale, pooled, w, j);
    const float* plane = pyramid.features[l] + (image * channels + c) * h * w;
    return cropBilinear(plane, w, y, x);
}

}  // namespace mrcnn
}  // namespace taostream
