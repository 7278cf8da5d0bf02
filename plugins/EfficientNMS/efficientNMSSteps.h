// EfficientNMS_TRT's GPU path as steps (__host__ __device__ under nvcc): the CUDA kernels
// (efficientNMSKernels.cu) call each once per thread, the host emulation (efficientNMSHost.cpp,
// taostream_efficient_nms_emulated) calls the same functions in loops in the kernels' order, with
// std::stable_sort on the same keys for CUB's radix sort; tests/test_plugin_device_emulation.py holds
// the emulation equal to the host implementation (efficientNMSHost.cpp) byte for byte.
//
// The host's order, and the keys that reproduce it: candidates are the (anchor, class) elements
// e = anchor * classes + class with raw score >= the sort threshold and class != background_class,
// by score descending (std::stable_sort with `>`: equal scores, +0.0 and -0.0 included, by element
// ascending); the first max_candidates reach NMS. Key: descendingScoreKey high, e low (distinct keys);
// a non-candidate gets 0xFFFFFFFF high and sorts after every candidate. The greedy walk visits them in
// that order until max_output are kept; a visited candidate whose decoded box is not finite makes the
// whole image "no detections" (checked before its suppression, as the host does).
#pragma once

#include <cstdint>

#include "../common/efficientNmsMath.h"
#include "../common/perClassNmsSteps.h"  // descendingScoreKey, candidateKey, finiteValue

namespace taostream {
namespace efficient {

struct EfficientShape {
    int32_t batch, anchors, classes, boxClasses, anchorBatch;  // anchorBatch 0: no anchors input
    int32_t boxCoding, backgroundClass;
    bool classAgnostic, scoreActivation;
    float sortThreshold, iouThreshold;
    int32_t maxOutput, maxCandidates;
};

// At most this many candidates of an image reach NMS.
TAOSTREAM_HD inline int32_t candidateLimit(const EfficientShape& s) {
    const int64_t elements = int64_t{s.anchors} * s.classes;
    return static_cast<int32_t>(elements < s.maxCandidates ? elements : s.maxCandidates);
}

TAOSTREAM_HD inline const float* anchorsOf(const float* anchors, const EfficientShape& s, int64_t image) {
    if (s.anchorBatch == 0) return nullptr;
    return anchors + (s.anchorBatch == 1 ? 0 : image) * int64_t{s.anchors} * 4;
}

// Step 0, per image: every box and anchor finite, no NaN score (the host's checks before its sort).
// `part` and `parts` split the values between threads (the kernel: threadIdx.x of blockDim.x; the
// emulation: 0 of 1).
TAOSTREAM_HD inline bool imageInputsValid(const float* boxes, const float* scores, const float* anchors,
                                          const EfficientShape& s, int64_t image, int64_t part, int64_t parts) {
    const int64_t boxValues = int64_t{s.anchors} * s.boxClasses * 4, scoreValues = int64_t{s.anchors} * s.classes;
    bool valid = true;
    for (int64_t i = part; i < boxValues; i += parts) valid = valid && nms::finiteValue(boxes[image * boxValues + i]);
    for (int64_t i = part; i < scoreValues; i += parts) {
        const float score = scores[image * scoreValues + i];
        valid = valid && score == score;  // not NaN (infinite scores are fine)
    }
    const float* a = anchorsOf(anchors, s, image);
    for (int64_t i = part; a != nullptr && i < int64_t{s.anchors} * 4; i += parts) valid = valid && nms::finiteValue(a[i]);
    return valid;
}

// Step 1, per (image, element e): the sort key.
TAOSTREAM_HD inline uint64_t elementKey(const float* scores, const EfficientShape& s, int64_t image, int64_t e) {
    const float score = scores[image * s.anchors * s.classes + e];
    if (score >= s.sortThreshold && e % s.classes != s.backgroundClass) {
        return nms::candidateKey(score, static_cast<uint32_t>(e));
    }
    return nms::noCandidateKey(static_cast<uint32_t>(e));
}

// Step 2 (after the sort), per image: the candidates reaching NMS (a prefix of the sorted keys).
TAOSTREAM_HD inline int32_t candidateCount(const uint64_t* sorted, const EfficientShape& s) {
    const int32_t limit = candidateLimit(s);
    int32_t n = 0;
    while (n < limit && (sorted[n] >> 32) != 0xFFFFFFFFull) ++n;
    return n;
}

// Step 3, per (image, candidate r < count): its decoded corners (4 floats), class, and whether the
// corners are finite.
TAOSTREAM_HD inline bool decodeCandidate(const uint64_t* sorted, const float* boxes, const float* anchors,
                                         const EfficientShape& s, int64_t image, int32_t r, float* corners,
                                         int32_t* cls) {
    const int64_t element = nms::keyIndex(sorted[r]);
    const int64_t anchor = element / s.classes;
    *cls = static_cast<int32_t>(element % s.classes);
    const float* box = boxes + ((image * s.anchors + anchor) * s.boxClasses + (s.boxClasses == 1 ? 0 : *cls)) * 4;
    const float* a = anchorsOf(anchors, s, image);
    decodeBox(box, a == nullptr ? nullptr : a + anchor * 4, s.boxCoding, corners);
    bool finite = true;
    for (int c = 0; c < 4; ++c) finite = finite && nms::finiteValue(corners[c]);
    return finite;
}

// Step 4, the suppression bit: kept candidate i (earlier) suppresses j > i (IoU with j's box first).
TAOSTREAM_HD inline bool candidateSuppresses(const float* corners, const int32_t* classes, const EfficientShape& s,
                                             int32_t i, int32_t j) {
    return (s.classAgnostic || classes[i] == classes[j]) &&
           iou(corners + 4 * static_cast<int64_t>(j), corners + 4 * static_cast<int64_t>(i)) >= s.iouThreshold;
}

// Step 5, per image, serial: the greedy walk. Visits candidates in order until maxOutput are kept; a
// visited candidate with a non-finite box ends it with *imageValid false (no detections); kept
// candidates' positions go to `kept`. `removed`: `words` words of scratch. Returns the kept count.
TAOSTREAM_HD inline int32_t greedyWalk(int32_t count, int32_t words, const unsigned long long* mask,
                                       const uint8_t* finite, const EfficientShape& s, unsigned long long* removed,
                                       int32_t* kept, bool* imageValid) {
    for (int32_t w = 0; w < words; ++w) removed[w] = 0ull;
    int32_t n = 0;
    for (int32_t i = 0; i < count; ++i) {
        if (n >= s.maxOutput) break;
        if (!finite[i]) {
            *imageValid = false;
            return 0;
        }
        if ((removed[i / 64] >> (i % 64)) & 1ull) continue;
        kept[n++] = i;
        const unsigned long long* row = mask + static_cast<int64_t>(i) * words;
        for (int32_t w = i / 64; w < words; ++w) removed[w] |= row[w];
    }
    return n;
}

// Step 6, per (image, output row r < maxOutput): row r of the outputs; row 0 writes num[image].
// `keptCount` 0 for an invalid image (all rows zero, as the plugin's host path writes it).
TAOSTREAM_HD inline void outputRow(const uint64_t* sorted, const float* scores, const float* corners,
                                   const int32_t* classes, const int32_t* kept, int32_t keptCount,
                                   const EfficientShape& s, int64_t image, int32_t r, int32_t* num, float* outBoxes,
                                   float* outScores, int32_t* outClasses) {
    if (r == 0) num[image] = keptCount;
    const int64_t row = image * s.maxOutput + r;
    if (r < keptCount) {
        const int32_t i = kept[r];
        for (int c = 0; c < 4; ++c) outBoxes[row * 4 + c] = corners[4 * static_cast<int64_t>(i) + c];
        const float raw = scores[image * s.anchors * s.classes + nms::keyIndex(sorted[i])];
        outScores[row] = s.scoreActivation ? nms::sigmoidF32(raw) : raw;
        outClasses[row] = classes[i];
    } else {
        for (int c = 0; c < 4; ++c) outBoxes[row * 4 + c] = 0.0f;
        outScores[row] = 0.0f;
        outClasses[row] = 0;
    }
}

}  // namespace efficient
}  // namespace taostream
