// Per-element maths of the MaskRCNN plugins (TensorRT OSS maskRCNNKernels.cu semantics), written once
// for the host implementations and the CUDA kernels: every function is __host__ __device__ under nvcc.
// Each step uses the same float/double operations, in the same order, as the numpy reference
// (taostream plugins/maskrcnn.py), so results are equal bit for bit. Build without
// -ffast-math and with -ffp-contract=off (a fused multiply-add rounds once where the reference
// rounds twice).
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define TAOSTREAM_HD __host__ __device__
#else
#define TAOSTREAM_HD
#endif

namespace taostream {
namespace mrcnn {

constexpr int kMinLevel = 2;
constexpr int kMaxLevel = 6;
constexpr int kLevels = kMaxLevel - kMinLevel + 1;
constexpr int kRatios = 3;
constexpr float kAnchorScale = 8.0f;
constexpr float kLabelShift = 2.5f;
constexpr float kScoreShift = 1.0f;
constexpr int kProposalGatherThreads = 512;
constexpr int kDetectionGatherThreads = 256;
constexpr int kMaxPreNmsTopK = 4096;

struct Box {
    float y1, x1, y2, x2;
};

// (width, height) factors of the three anchors per centre.
TAOSTREAM_HD inline float anchorRatioWidth(int ratio) { return ratio == 0 ? 1.0f : (ratio == 1 ? 1.4f : 0.7f); }
TAOSTREAM_HD inline float anchorRatioHeight(int ratio) { return ratio == 0 ? 1.0f : (ratio == 1 ? 0.7f : 1.4f); }

// Number of anchor centres along one axis of a level: stride/2, stride/2 + stride, ... < size.
TAOSTREAM_HD inline int64_t levelCentres(int level, int size) {
    const int64_t stride = int64_t{1} << level;
    const int64_t first = stride / 2;
    return size > first ? (size - first + stride - 1) / stride : 0;
}

// Anchor ``index`` of a level, ordered (y, x, ratio): (y - h/2, x - w/2, y + h/2, x + w/2).
TAOSTREAM_HD inline Box levelAnchor(int level, int64_t index, int64_t centresX) {
    const int64_t stride = int64_t{1} << level;
    const int ratio = static_cast<int>(index % kRatios);
    const int64_t cell = index / kRatios;
    const float y = static_cast<float>(stride / 2 + (cell / centresX) * stride);
    const float x = static_cast<float>(stride / 2 + (cell % centresX) * stride);
    const float scale = static_cast<float>(stride) * kAnchorScale;
    const float halfW = scale * anchorRatioWidth(ratio) / 2.0f;
    const float halfH = scale * anchorRatioHeight(ratio) / 2.0f;
    return Box{y - halfH, x - halfW, y + halfH, x + halfW};
}

// numpy's minimum / maximum of finite floats (the first operand wins ties, so signed zeros match).
TAOSTREAM_HD inline float npMinimum(float a, float b) { return a <= b ? a : b; }
TAOSTREAM_HD inline float npMaximum(float a, float b) { return a >= b ? a : b; }

TAOSTREAM_HD inline float clampCoordinate(float v, float high) { return npMaximum(npMinimum(v, high), 0.0f); }

// decode_bboxes_kernel: an anchor and its (dy, dx, dh, dw) to a clipped pixel box. Doubles where the
// kernel mixes in double literals, float stores; exp rounded from double (correctly rounded in
// practice; float exp implementations differ by CPU and library).
TAOSTREAM_HD inline Box decodeBox(Box a, const float* delta, const float* weights, float clip, int height,
                                  int width) {
    const float h = static_cast<float>(static_cast<double>(a.y2) - static_cast<double>(a.y1) + 1.0);
    const float w = static_cast<float>(static_cast<double>(a.x2) - static_cast<double>(a.x1) + 1.0);
    const float cy = static_cast<float>(static_cast<double>(a.y1) + static_cast<double>(h * 0.5f));
    const float cx = static_cast<float>(static_cast<double>(a.x1) + static_cast<double>(w * 0.5f));
    const float dy = delta[0] / weights[0];
    const float dx = delta[1] / weights[1];
    float dh = delta[2] / weights[2];
    float dw = delta[3] / weights[3];
    dh = npMinimum(dh, clip);
    dw = npMinimum(dw, clip);
    const float dyh = dy * h;
    const float dxw = dx * w;
    const float newCy = cy + dyh;
    const float newCx = cx + dxw;
    const float newH = static_cast<float>(exp(static_cast<double>(dh))) * h;
    const float newW = static_cast<float>(exp(static_cast<double>(dw))) * w;
    const float y1 = static_cast<float>(static_cast<double>(newCy) - 0.5 * static_cast<double>(newH));
    const float x1 = static_cast<float>(static_cast<double>(newCx) - 0.5 * static_cast<double>(newW));
    const float y2 = static_cast<float>(static_cast<double>(y1) + static_cast<double>(newH) - 1.0);
    const float x2 = static_cast<float>(static_cast<double>(x1) + static_cast<double>(newW) - 1.0);
    const float maxY = static_cast<float>(height - 1);
    const float maxX = static_cast<float>(width - 1);
    return Box{clampCoordinate(y1, maxY), clampCoordinate(x1, maxX), clampCoordinate(y2, maxY),
               clampCoordinate(x2, maxX)};
}

// boxIoU: corners as given, no +1; 0 when the boxes do not overlap. ``a`` is the earlier box.
TAOSTREAM_HD inline float boxIou(const Box& a, const Box& b) {
    const float oy1 = npMaximum(a.y1, b.y1);
    const float ox1 = npMaximum(a.x1, b.x1);
    const float oy2 = npMinimum(a.y2, b.y2);
    const float ox2 = npMinimum(a.x2, b.x2);
    const float ow = ox2 - ox1;
    const float oh = oy2 - oy1;
    if (ow < 0.0f || oh < 0.0f) return 0.0f;
    const float overlap = ow * oh;
    const float areaA = (a.y2 - a.y1) * (a.x2 - a.x1);
    const float areaB = (b.y2 - b.y1) * (b.x2 - b.x1);
    const float areas = areaA + areaB;
    const float unionArea = areas - overlap;
    return overlap / unionArea;
}

// getKey: (numClasses - label - 1) * 2.5 + score + 1, float.
TAOSTREAM_HD inline float sortKey(float score, int64_t label, int numClasses) {
    const float offset = static_cast<float>(numClasses - label - 1) * kLabelShift;
    const float shifted = offset + score;
    return shifted + kScoreShift;
}

// getScoreLable: the (score in [0, 1], label) a key decodes to; label -1 for a key <= 1 (NaN included)
// and for a key whose group (key / 2.5) is numClasses or more, which would decode to a negative label.
// Those are never converted to an integer: past 2^63 (a score of 1e30, FLT_MAX) the conversion is
// undefined and CPUs differ (x86 gives INT64_MIN, CUDA and ARM saturate); the numpy reference
// (scores_from_keys) decides the same way.
TAOSTREAM_HD inline void scoreFromKey(float key, int numClasses, float* score, int64_t* label) {
    const float quotient = key / kLabelShift;
    if (!(key > kScoreShift) || !(quotient < static_cast<float>(numClasses))) {
        *score = 0.0f;
        *label = -1;
        return;
    }
    const int64_t group = static_cast<int64_t>(quotient);
    const float base = static_cast<float>(group) * kLabelShift;
    const float rest = key - base;
    float value = rest - kScoreShift;
    value = npMinimum(npMaximum(value, 0.0f), 1.0f);
    *score = value;
    *label = numClasses - group - 1;
}

// TopKGather's output order: CUB's blocked load makes sorted position p item p / T of thread p % T.
TAOSTREAM_HD inline int64_t blockedRank(int64_t position, int64_t count, int threads) {
    const int64_t items = (count + threads - 1) / threads;
    return (position % threads) * items + position / threads;
}

}  // namespace mrcnn
}  // namespace taostream
