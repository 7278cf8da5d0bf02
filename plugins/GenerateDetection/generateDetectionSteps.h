// The steps of GenerateDetection_TRT as the GPU runs them (generateDetectionKernels.cu), one function per
// step, __host__ __device__ under nvcc: the CUDA kernels call them once per thread, and the host
// emulation (generateDetectionHost.cpp, taostream_generate_detection_emulated) calls the very same
// functions in loops in the kernels' order, with std::stable_sort standing in for CUB's radix sort on
// the same keys. The host implementation (taostream_generate_detection, maskRCNNRefineHost.h's refine)
// shares the argmax and the decode (foregroundArgmax here, maskRCNNMath.h's decodeBox); the emulation is
// tested equal to it byte for byte (tests/test_plugin_device_emulation.py).
//
// The orders refine uses, and how the keys reproduce them:
// - candidates (foreground label, score >= score_threshold) by the float sort key of maskRCNNMath.h
//   descending, equal keys by roi index ascending (std::stable_sort with `a > b`): the descending key
//   of ../common/perClassNmsSteps.h in the high 32 bits, the roi index in the low 32, so every key is
//   distinct and any correct sort gives that order; rois that are not candidates sort last.
// - the greedy NMS (same label, IoU > iou_threshold over an overlap) in that order: suppression words
//   and a serial walk, as in greedyNms.
// - TopKGather: kept scores descending (suppressed ones 0), equal scores by CUB's blocked rank: the
//   descending score key high, the blocked rank low (distinct), inverted back to the position.
#pragma once

#include <cstdint>

#include "../common/maskRCNNMath.h"
#include "../common/perClassNmsSteps.h"

namespace taostream {
namespace gendet {

namespace mr = taostream::mrcnn;

constexpr int kArgmaxGroup = 32;  // argMaxWOBackground<32>: one warp per group of classes
constexpr float kMinValidScore = 0.01f;

struct DetectionShape {
    int32_t batch, rois, numClasses, keepTopK;
    float scoreThreshold, iouThreshold, clip;  // clip: log(1000 / 16), computed on the host
    int32_t height, width;
};

TAOSTREAM_HD inline int32_t maskWords(int32_t rois) { return (rois + 63) / 64; }

// argMaxWOBackground: the best class 1..C-1 with score > 0 (else -1, score 0). Within a group of 32
// classes equal maxima go to the higher class; a later group must be strictly greater to win.
TAOSTREAM_HD inline void foregroundArgmax(const float* scores, int numClasses, float* bestScore, int64_t* bestClass) {
    float best = 0.0f;
    int64_t cls = -1;
    for (int start = 1; start < numClasses; start += kArgmaxGroup) {
        const int stop = start + kArgmaxGroup < numClasses ? start + kArgmaxGroup : numClasses;
        int last = start;
        for (int c = start; c < stop; ++c) {
            if (scores[c] >= scores[last]) last = c;
        }
        if (scores[last] > best) {
            best = scores[last];
            cls = last;
        }
    }
    *bestScore = best;
    *bestClass = cls;
}

// One roi's decoded box: its best class's deltas (class 0's when it has none) on the roi.
TAOSTREAM_HD inline mr::Box decodeRoi(const float* roi, const float* roiDeltas, int64_t label, float clip, int height,
                                      int width) {
    const float weights[4] = {10.0f, 10.0f, 5.0f, 5.0f};
    const int64_t cls = label > 0 ? label : 0;
    return mr::decodeBox(mr::Box{roi[0], roi[1], roi[2], roi[3]}, roiDeltas + cls * 4, weights, clip, height, width);
}

// Step 0: the image's inputs finite? Thread `thread` of `threads` checks its strided share.
TAOSTREAM_HD inline bool imageInputsFinite(const float* deltas, const float* scores, const float* rois,
                                           const DetectionShape& s, int64_t image, int64_t thread, int64_t threads) {
    const int64_t perImage = int64_t{s.rois} * s.numClasses;
    bool finite = true;
    for (int64_t i = thread; i < perImage * 4; i += threads) {
        finite = finite && nms::finiteValue(deltas[image * perImage * 4 + i]);
    }
    for (int64_t i = thread; i < perImage; i += threads) {
        finite = finite && nms::finiteValue(scores[image * perImage + i]);
    }
    for (int64_t i = thread; i < int64_t{s.rois} * 4; i += threads) {
        finite = finite && nms::finiteValue(rois[image * s.rois * 4 + i]);
    }
    return finite;
}

// Step 1, one per (image, roi r): the argmax, the decoded box and the candidate sort key (no candidates
// in an image with NaN/inf inputs: the host implementation refuses it before any of this).
TAOSTREAM_HD inline uint64_t roiStep(const float* deltas, const float* scores, const float* rois,
                                     const int32_t* invalid, const DetectionShape& s, int64_t image, int32_t r,
                                     float* best, int32_t* label, mr::Box* box) {
    const int64_t i = image * s.rois + r;
    float score;
    int64_t cls;
    foregroundArgmax(scores + i * s.numClasses, s.numClasses, &score, &cls);
    best[i] = score;
    label[i] = static_cast<int32_t>(cls);
    box[i] = decodeRoi(rois + i * 4, deltas + i * s.numClasses * 4, cls, s.clip, s.height, s.width);
    if (invalid[image] || cls == 0 || cls == -1 || !(score >= s.scoreThreshold)) {
        return nms::noCandidateKey(static_cast<uint32_t>(r));
    }
    return nms::candidateKey(mr::sortKey(score, cls, s.numClasses), static_cast<uint32_t>(r));
}

// Step 2 (after the sort), one per image, serial: the candidates in key order whose key decodes to a
// label (getScoreLable), with the decoded score and label; returns how many.
TAOSTREAM_HD inline int32_t compactCandidates(const uint64_t* sorted, const float* best, const int32_t* label,
                                              const mr::Box* box, const DetectionShape& s, int64_t image,
                                              float* candScore, int32_t* candLabel, mr::Box* candBox) {
    const uint64_t* keys = sorted + image * s.rois;
    int32_t count = 0;
    for (int32_t k = 0; k < s.rois; ++k) {
        if ((keys[k] >> 32) == 0xFFFFFFFFull) break;  // past the candidates
        const int64_t i = image * s.rois + nms::keyIndex(keys[k]);
        float score;
        int64_t decoded;
        mr::scoreFromKey(mr::sortKey(best[i], label[i], s.numClasses), s.numClasses, &score, &decoded);
        if (decoded < 0) continue;
        const int64_t at = image * s.rois + count++;
        candScore[at] = score;
        candLabel[at] = static_cast<int32_t>(decoded);
        candBox[at] = box[i];
    }
    return count;
}

// Step 3, the suppression bit: kept candidate i (earlier) suppresses candidate j > i of the same
// label, greedyNms's float operations in its order.
TAOSTREAM_HD inline bool candidateSuppresses(const mr::Box* candBox, const int32_t* candLabel, float threshold,
                                             int32_t i, int32_t j) {
    const mr::Box& b = candBox[i];
    const mr::Box& p = candBox[j];
    const float barea = (b.y2 - b.y1) * (b.x2 - b.x1);
    const float parea = (p.y2 - p.y1) * (p.x2 - p.x1);
    const float oy1 = mr::npMaximum(b.y1, p.y1);
    const float ox1 = mr::npMaximum(b.x1, p.x1);
    const float oy2 = mr::npMinimum(b.y2, p.y2);
    const float ox2 = mr::npMinimum(b.x2, p.x2);
    const float ow = ox2 - ox1;
    const float oh = oy2 - oy1;
    const float overlap = ow * oh;
    const float unionArea = (barea + parea) - overlap;
    const float iou = overlap / unionArea;
    return !(ow < 0.0f) && !(oh < 0.0f) && (iou > threshold) && candLabel[i] == candLabel[j];
}

// Step 4, one per image, serial: the greedy walk over the suppression words (row i: `words` words);
// kept[i] 1 or 0 for each of the `count` candidates. `removed`: `words` words of scratch.
TAOSTREAM_HD inline void greedyWalk(int32_t count, int32_t words, const unsigned long long* mask,
                                    unsigned long long* removed, uint8_t* kept) {
    for (int32_t w = 0; w < words; ++w) removed[w] = 0ull;
    for (int32_t i = 0; i < count; ++i) {
        const bool out = (removed[i / 64] >> (i % 64)) & 1ull;
        kept[i] = out ? 0 : 1;
        if (out) continue;
        const unsigned long long* row = mask + static_cast<int64_t>(i) * words;
        for (int32_t w = i / 64; w < words; ++w) removed[w] |= row[w];
    }
}

// The position whose CUB blocked rank (maskRCNNMath.h's blockedRank) is `rank`.
TAOSTREAM_HD inline int64_t blockedPosition(int64_t rank, int64_t count, int threads) {
    const int64_t items = (count + threads - 1) / threads;
    return (rank % items) * threads + rank / items;
}

// Step 5, one per (image, position p < rois): TopKGather's key.
TAOSTREAM_HD inline uint64_t gatherKey(const float* candScore, const uint8_t* kept, const int32_t* count,
                                       const DetectionShape& s, int64_t image, int32_t p) {
    const int32_t n = count[image];
    if (p >= n) return nms::noCandidateKey(static_cast<uint32_t>(p));
    const int64_t at = image * s.rois + p;
    const float score = kept[at] ? candScore[at] : 0.0f;
    return nms::candidateKey(score, static_cast<uint32_t>(mr::blockedRank(p, n, mr::kDetectionGatherThreads)));
}

// Step 6 (after the sort), one per image, serial: its keepTopK rows [y1, x1, y2, x2, class, score]:
// the first min(keepTopK, count) sorted positions that are kept with score > 0.01, then padding rows
// (zeros, class -1); an image with NaN/inf inputs gets padding rows only.
TAOSTREAM_HD inline void writeRows(const uint64_t* gathered, const float* candScore, const int32_t* candLabel,
                                   const mr::Box* candBox, const uint8_t* kept, const int32_t* count,
                                   const int32_t* invalid, const DetectionShape& s, int64_t image, float* detections) {
    float* out = detections + image * s.keepTopK * 6;
    const int32_t n = invalid[image] ? 0 : count[image];
    const int32_t written = s.keepTopK < n ? s.keepTopK : n;
    int32_t row = 0;
    for (int32_t k = 0; k < written; ++k) {
        const int64_t p = blockedPosition(nms::keyIndex(gathered[image * s.rois + k]), n, mr::kDetectionGatherThreads);
        const int64_t at = image * s.rois + p;
        if (!kept[at] || !(candScore[at] > kMinValidScore)) continue;
        float* r = out + int64_t{row++} * 6;
        r[0] = candBox[at].y1, r[1] = candBox[at].x1, r[2] = candBox[at].y2, r[3] = candBox[at].x2;
        r[4] = static_cast<float>(static_cast<int64_t>(candLabel[at]));
        r[5] = candScore[at];
    }
    for (; row < s.keepTopK; ++row) {
        float* r = out + int64_t{row} * 6;
        r[0] = r[1] = r[2] = r[3] = 0.0f;
        r[4] = -1.0f;
        r[5] = 0.0f;
    }
}

}  // namespace gendet
}  // namespace taostream
