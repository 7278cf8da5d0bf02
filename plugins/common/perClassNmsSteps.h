// The steps of the per-class NMS of BatchedNMS and NMS (perClassNmsHost.h's perClassNms) as the GPU
// runs them, one function per step, __host__ __device__ under nvcc: the CUDA kernels
// (perClassNmsDevice.cu) call them once per thread, and the host emulation (perClassNmsEmulation.h)
// calls the very same functions in loops, with std::stable_sort standing in for CUB's radix sort on
// the same keys. The emulation is tested equal to perClassNms byte for byte
// (tests/test_plugin_device_emulation.py), which is what ties the GPU path to the host implementation
// without a GPU.
//
// The order perClassNms uses, and how the keys reproduce it:
// - per (image, class): scores descending, equal scores by box index ascending (std::stable_sort with
//   `a > b`: -0.0 and +0.0 are equal). Key: the descending score key (below) in the high 32 bits, the
//   box index in the low 32: every key is distinct, so any correct sort (stable or not) gives exactly
//   that order. Those with score > scoreThreshold are then a prefix of it; the first topK of them
//   reach the greedy NMS.
// - the kept boxes of all classes of an image: score descending, then class ascending, then the rank
//   within the class. Key: the score key high, cls * K + rank low (K = the per-class candidate limit),
//   every slot past a class's kept count keyed 0xFFFFFFFF high so it sorts after every kept box.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "nmsMath.h"

namespace taostream {
namespace nms {

// The bits of a float (memcpy on the host, the intrinsic on the device: same bits).
TAOSTREAM_HD inline uint32_t floatBits(float value) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(value);
#else
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
#endif
}

// A 32-bit key that sorts ascending as `score` sorts descending under `>`: equal floats (+0.0 and
// -0.0 included) get equal keys. Finite scores never get 0xFFFFFFFF (only a NaN's bits would).
TAOSTREAM_HD inline uint32_t descendingScoreKey(float score) {
    const uint32_t bits = score == 0.0f ? 0u : floatBits(score);
    const uint32_t ascending = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
    return ~ascending;
}

TAOSTREAM_HD inline uint64_t candidateKey(float score, uint32_t index) {
    return (static_cast<uint64_t>(descendingScoreKey(score)) << 32) | index;
}

TAOSTREAM_HD inline uint64_t noCandidateKey(uint32_t index) { return (uint64_t{0xFFFFFFFFu} << 32) | index; }

TAOSTREAM_HD inline uint32_t keyIndex(uint64_t key) { return static_cast<uint32_t>(key & 0xFFFFFFFFu); }

TAOSTREAM_HD inline bool finiteValue(float value) {
#ifdef __CUDA_ARCH__
    return isfinite(value);
#else
    return std::isfinite(value);
#endif
}

// The shapes and fields of one per-class NMS over a batch. Segment s = image * numClasses + cls.
struct PerClassShape {
    int32_t batch, numBoxes, numClasses, locClasses;
    bool shareLocation;
    int32_t backgroundLabelId, topK;
    float scoreThreshold, iouThreshold;
    bool normalized, caffe;
};

// K: at most this many candidates of a class reach the greedy NMS.
TAOSTREAM_HD inline int32_t candidateLimit(const PerClassShape& s) { return s.topK < s.numBoxes ? s.topK : s.numBoxes; }
TAOSTREAM_HD inline int32_t maskWords(int32_t k) { return (k + 63) / 64; }

// Step 1, one per (segment, box): the sort key of box p's score in class cls.
TAOSTREAM_HD inline uint64_t classCandidateKey(const float* scores, const PerClassShape& s, int64_t segment, int32_t p) {
    const int64_t image = segment / s.numClasses;
    const int32_t cls = static_cast<int32_t>(segment % s.numClasses);
    return candidateKey(scores[(image * s.numBoxes + p) * s.numClasses + cls], static_cast<uint32_t>(p));
}

// Step 2 (after the sort), one per segment: how many candidates reach the NMS: the sorted prefix with
// score > scoreThreshold, at most K; none for the background class or an image with NaN/inf inputs.
TAOSTREAM_HD inline int32_t candidateCount(const uint64_t* sorted, const float* scores, const PerClassShape& s,
                                           int64_t segment, bool imageFinite) {
    const int64_t image = segment / s.numClasses;
    const int32_t cls = static_cast<int32_t>(segment % s.numClasses);
    if (!imageFinite || cls == s.backgroundLabelId) return 0;
    const int32_t k = candidateLimit(s);
    const float* imageScores = scores + image * s.numBoxes * s.numClasses;
    int32_t n = 0;
    while (n < k && imageScores[int64_t{keyIndex(sorted[n])} * s.numClasses + cls] > s.scoreThreshold) ++n;
    return n;
}

// The box of a candidate (its box index p) in its segment's class column.
TAOSTREAM_HD inline const float* candidateBox(const float* boxes, const PerClassShape& s, int64_t segment, uint32_t p) {
    const int64_t image = segment / s.numClasses;
    const int64_t column = s.shareLocation ? 0 : segment % s.numClasses;
    return boxes + ((image * s.numBoxes + p) * s.locClasses + column) * 4;
}

// Step 3, the suppression bit: kept candidate i (earlier) suppresses candidate j > i of the same
// segment (IoU in perClassNms's argument order: the later candidate's box first).
TAOSTREAM_HD inline bool candidateSuppresses(const float* boxes, const uint64_t* sorted, const PerClassShape& s,
                                             int64_t segment, int32_t i, int32_t j) {
    return pluginIou(candidateBox(boxes, s, segment, keyIndex(sorted[j])),
                     candidateBox(boxes, s, segment, keyIndex(sorted[i])), s.normalized, s.caffe) > s.iouThreshold;
}

// Step 4, one per segment, serial: the greedy walk over the suppression words (row i: `words` words,
// bit j % 64 of word j / 64 set when i suppresses j). `removed` holds `words` words of scratch. The
// kept candidates' box indices go to keptPrior in walk order (their rank); returns how many.
TAOSTREAM_HD inline int32_t greedyWalk(int32_t count, int32_t words, const unsigned long long* mask,
                                       unsigned long long* removed, const uint64_t* sorted, int32_t* keptPrior) {
    for (int32_t w = 0; w < words; ++w) removed[w] = 0ull;
    int32_t kept = 0;
    for (int32_t i = 0; i < count; ++i) {
        if ((removed[i / 64] >> (i % 64)) & 1ull) continue;
        keptPrior[kept++] = static_cast<int32_t>(keyIndex(sorted[i]));
        const unsigned long long* row = mask + static_cast<int64_t>(i) * words;
        for (int32_t w = i / 64; w < words; ++w) removed[w] |= row[w];
    }
    return kept;
}

// Step 5, one per (image, slot t of numClasses * K): the key that orders the image's kept boxes.
TAOSTREAM_HD inline uint64_t mergeKey(const float* scores, const int32_t* keptCount, const int32_t* keptPrior,
                                      const PerClassShape& s, int64_t image, int32_t t) {
    const int32_t k = candidateLimit(s);
    const int32_t cls = t / k, rank = t % k;
    const int64_t segment = image * s.numClasses + cls;
    if (rank >= keptCount[segment]) return noCandidateKey(static_cast<uint32_t>(t));
    const int32_t prior = keptPrior[segment * k + rank];
    return candidateKey(scores[(image * s.numBoxes + prior) * s.numClasses + cls], static_cast<uint32_t>(t));
}

// After the merge sort: the image's detections, at most keepTopK.
TAOSTREAM_HD inline int32_t keptDetections(const int32_t* keptCount, const PerClassShape& s, int64_t image,
                                           int32_t keepTopK) {
    int64_t total = 0;
    for (int32_t cls = 0; cls < s.numClasses; ++cls) total += keptCount[image * s.numClasses + cls];
    return static_cast<int32_t>(total < keepTopK ? total : keepTopK);
}

// Detection r (< keptDetections) of an image: its class, box index and score.
struct Detection {
    int32_t cls, prior;
    float score;
    const float* box;
};

TAOSTREAM_HD inline Detection detectionAt(const uint64_t* merged, const float* boxes, const float* scores,
                                          const int32_t* keptPrior, const PerClassShape& s, int64_t image, int32_t r) {
    const int32_t k = candidateLimit(s);
    const int32_t t = static_cast<int32_t>(keyIndex(merged[image * s.numClasses * k + r]));
    const int32_t cls = t / k;
    const int64_t segment = image * s.numClasses + cls;
    const int32_t prior = keptPrior[segment * k + t % k];
    return Detection{cls, prior, scores[(image * s.numBoxes + prior) * s.numClasses + cls],
                     candidateBox(boxes, s, segment, static_cast<uint32_t>(prior))};
}

}  // namespace nms
}  // namespace taostream
