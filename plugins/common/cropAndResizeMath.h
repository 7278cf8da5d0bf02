// Per-element maths of CropAndResize / CropAndResizeDynamic (TensorRT OSS cropAndResizeKernel.cu,
// TensorFlow crop_and_resize semantics, as the numpy reference plugins/frcnn.py's
// crop_and_resize_reference computes it under numpy 1.x): __host__ __device__ under nvcc, shared by
// the host implementation and the CUDA kernel. float32 operations in the reference's order; the
// reference's comparisons of a float32 sample with Python floats happen in double, and so do they here.
// Build with -ffp-contract=off / --fmad=false.
#pragma once

#include <cmath>
#include <cstdint>

#include "maskRCNNMath.h"  // TAOSTREAM_HD

namespace taostream {
namespace frcnn {

// Sample positions within this many pixels outside the map count as on its edge (EDGE_TOLERANCE).
constexpr double kEdgeTolerance = 1e-3;

// _sample_positions: sample ``i`` of ``crop`` along an axis of ``size`` for the normalized roi side
// lo..hi: lo (size - 1) + i (hi - lo)(size - 1)/(crop - 1), or the side's centre when crop is 1.
TAOSTREAM_HD inline float samplePosition(float lo, float hi, int64_t size, int64_t crop, int64_t i) {
    const float sizeM1 = static_cast<float>(size - 1);
    if (crop > 1) {
        const float span = hi - lo;
        const float spanPixels = span * sizeM1;
        const float scale = spanPixels / static_cast<float>(crop - 1);
        const float start = lo * sizeM1;
        const float step = static_cast<float>(i) * scale;
        return start + step;
    }
    const float sum = lo + hi;
    const float centre = 0.5f * sum;
    return centre * sizeM1;
}

// The reference's `-EDGE_TOLERANCE <= p <= size - 1 + EDGE_TOLERANCE` (false for NaN).
TAOSTREAM_HD inline bool sampleInside(float position, int64_t size) {
    const double p = static_cast<double>(position);
    return -kEdgeTolerance <= p && p <= static_cast<double>(size - 1) + kEdgeTolerance;
}

// np.float32(min(max(p, 0.0), size - 1)) with Python's max / min (the first argument wins ties).
TAOSTREAM_HD inline float clampSample(float position, int64_t size) {
    float v = 0.0 > static_cast<double>(position) ? 0.0f : position;
    if (static_cast<double>(size - 1) < static_cast<double>(v)) v = static_cast<float>(size - 1);
    return v;
}

// The bilinear blend of the four neighbours: upper/lower rows first, then between them.
TAOSTREAM_HD inline float bilinearBlend(float topLeft, float topRight, float bottomLeft, float bottomRight,
                                        float xLerp, float yLerp) {
    const float upper = topLeft + (topRight - topLeft) * xLerp;
    const float lower = bottomLeft + (bottomRight - bottomLeft) * xLerp;
    return upper + (lower - upper) * yLerp;
}

// A clamped sample's neighbours (floor and ceil) and its fraction past the lower one (exact).
TAOSTREAM_HD inline int64_t sampleLow(float clamped) { return static_cast<int64_t>(floorf(clamped)); }
TAOSTREAM_HD inline int64_t sampleHigh(float clamped) { return static_cast<int64_t>(ceilf(clamped)); }
TAOSTREAM_HD inline float sampleLerp(float clamped) { return clamped - static_cast<float>(sampleLow(clamped)); }

// One output value: channel plane [height, width], the clamped sample (y, x).
TAOSTREAM_HD inline float sampleBilinear(const float* plane, int64_t width, float y, float x) {
    const int64_t top = sampleLow(y), bottom = sampleHigh(y);
    const int64_t left = sampleLow(x), right = sampleHigh(x);
    return bilinearBlend(plane[top * width + left], plane[top * width + right], plane[bottom * width + left],
                         plane[bottom * width + right], sampleLerp(x), sampleLerp(y));
}

}  // namespace frcnn
}  // namespace taostream
