// MultilevelProposeROI_TRT's GPU path as steps (__host__ __device__ under nvcc): the CUDA kernels
// (multilevelProposeROIKernels.cu) call each once per thread, the host emulation
// (multilevelProposeROIHost.cpp, taostream_multilevel_propose_roi_emulated) calls the same functions in
// loops in the kernels' order, with std::stable_sort on the same keys for CUB's radix sort;
// tests/test_plugin_device_emulation.py holds the emulation equal to the host implementation byte for
// byte.
//
// The host's order (multilevelProposeROIHost.cpp, maskRCNNRefineHost.h's refine), and the keys that
// reproduce it. Segment = (image, level), level P2..P6:
// A. the level's anchors by score descending, equal scores (+0.0 == -0.0) by anchor ascending
//    (np.argsort(-score, kind="stable")); the first min(prenms_topk, anchors) become samples 0.., the
//    rest of the prenms_topk samples score 0 with the zero box. Key: descendingScoreKey(score) high,
//    anchor low.
// B. refine's candidates: samples with score >= fg_threshold whose sort key (score + 1 in float:
//    sortKey) decodes to label 0, by that key descending, equal keys by sample ascending. Key:
//    descendingScoreKey(sortKey) high, sample low; a non-candidate 0xFFFFFFFF high (after them all).
// C. greedy NMS in candidate order (greedyNms's rule: overlapping, IoU > threshold), then TopKGather:
//    kept ? score : 0 descending, ties in CUB's blocked order (blockedRank of the position among the
//    candidates); of the first min(keep_topk, candidates) positions the kept ones are the level's rows,
//    zero rows after. Key: descendingScoreKey high, blockedRank low (a bijection: distinct keys).
// D. the image's 5 x keep_topk level rows by score descending, equal scores by row ascending; the
//    first keep_topk are the rois. Key: descendingScoreKey high, row low.
// An image with a NaN or infinite delta or score gets zero rois (the host refuses it).
#pragma once

#include <cstdint>

#include "../common/maskRCNNMath.h"
#include "../common/perClassNmsSteps.h"  // descendingScoreKey, candidateKey, noCandidateKey, keyIndex

namespace taostream {
namespace mrcnn {

struct ProposeRoiShape {
    int32_t batch, height, width, prenms, keep;
    float fgThreshold, iouThreshold, clip;  // clip = float(log(1000 / 16))
    int64_t anchors[kLevels];
    int64_t first[kLevels + 1];  // first[l]: the level's first anchor in an image's keys; first[5]: all
};

// The ten inputs: deltas[l] [N, anchors[l], 4], scores[l] [N, anchors[l]].
struct ProposeRoiInputs {
    const float* deltas[kLevels];
    const float* scores[kLevels];
};

TAOSTREAM_HD inline int64_t segmentCount(const ProposeRoiShape& s) { return int64_t{s.batch} * kLevels; }

// Step 0, per image: every delta and score finite. `part` of `parts` threads (the emulation: 0 of 1).
TAOSTREAM_HD inline bool imageInputsFinite(const ProposeRoiInputs& in, const ProposeRoiShape& s, int64_t image,
                                           int64_t part, int64_t parts) {
    bool valid = true;
    for (int l = 0; l < kLevels; ++l) {
        const int64_t n = s.anchors[l];
        for (int64_t i = part; i < n * 4; i += parts) valid = valid && nms::finiteValue(in.deltas[l][image * n * 4 + i]);
        for (int64_t i = part; i < n; i += parts) valid = valid && nms::finiteValue(in.scores[l][image * n + i]);
    }
    return valid;
}

// Step 1, per (image, key k of the image's first[5]): the level sort key (order A).
TAOSTREAM_HD inline uint64_t anchorKey(const ProposeRoiInputs& in, const ProposeRoiShape& s, int64_t image, int64_t k) {
    int l = 0;
    while (k >= s.first[l + 1]) ++l;
    const int64_t anchor = k - s.first[l];
    return nms::candidateKey(in.scores[l][image * s.anchors[l] + anchor], static_cast<uint32_t>(anchor));
}

// Step 2, per (segment, sample i < prenms): the sample's score and decoded box, and its refine key
// (order B). `sortedA`: the image's sorted anchor keys (first[5] of them).
TAOSTREAM_HD inline uint64_t sampleAt(const ProposeRoiInputs& in, const ProposeRoiShape& s, const uint64_t* sortedA,
                                      int64_t segment, int32_t i, float* score, Box* box) {
    const int64_t image = segment / kLevels;
    const int l = static_cast<int>(segment % kLevels);
    const int64_t n = s.anchors[l];
    if (i < n) {
        const int64_t anchor = nms::keyIndex(sortedA[s.first[l] + i]);
        const int level = kMinLevel + l;
        const float weights[4] = {1.0f, 1.0f, 1.0f, 1.0f};
        *score = in.scores[l][image * n + anchor];
        *box = decodeBox(levelAnchor(level, anchor, levelCentres(level, s.width)), in.deltas[l] + (image * n + anchor) * 4,
                         weights, s.clip, s.height, s.width);
    } else {
        *score = 0.0f;
        *box = Box{0.0f, 0.0f, 0.0f, 0.0f};
    }
    const float key = sortKey(*score, 0, 1);
    float decoded;
    int64_t label;
    scoreFromKey(key, 1, &decoded, &label);
    if (*score >= s.fgThreshold && label >= 0) return nms::candidateKey(key, static_cast<uint32_t>(i));
    return nms::noCandidateKey(static_cast<uint32_t>(i));
}

// Step 3 (after sort B), per segment: the candidate count (a prefix of the sorted keys).
TAOSTREAM_HD inline int32_t candidateCount(const uint64_t* sortedB, const ProposeRoiShape& s) {
    int32_t n = 0;
    while (n < s.prenms && (sortedB[n] >> 32) != 0xFFFFFFFFull) ++n;
    return n;
}

// Step 4, per (segment, candidate r < count): its box and the score its key decodes to.
TAOSTREAM_HD inline void candidateAt(const uint64_t* sortedB, const float* sampleScores, const Box* sampleBoxes,
                                     int32_t r, float* score, Box* box) {
    const uint32_t sample = nms::keyIndex(sortedB[r]);
    int64_t label;
    scoreFromKey(sortKey(sampleScores[sample], 0, 1), 1, score, &label);
    *box = sampleBoxes[sample];
}

// Step 5, the suppression bit: kept candidate i (earlier) suppresses j > i (greedyNms's expression).
TAOSTREAM_HD inline bool candidateSuppresses(const Box* boxes, const ProposeRoiShape& s, int32_t i, int32_t j) {
    const Box& b = boxes[i];
    const Box& o = boxes[j];
    const float oy1 = npMaximum(b.y1, o.y1);
    const float ox1 = npMaximum(b.x1, o.x1);
    const float oy2 = npMinimum(b.y2, o.y2);
    const float ox2 = npMinimum(b.x2, o.x2);
    const float ow = ox2 - ox1;
    const float oh = oy2 - oy1;
    const float overlap = ow * oh;
    const float areaB = (b.y2 - b.y1) * (b.x2 - b.x1);
    const float areaO = (o.y2 - o.y1) * (o.x2 - o.x1);
    const float unionArea = (areaB + areaO) - overlap;
    const float iou = overlap / unionArea;
    return !(ow < 0.0f) && !(oh < 0.0f) && iou > s.iouThreshold;
}

// Step 6, per segment, serial: the greedy walk; kept[i] 1 for a kept candidate. `removed`: `words`
// words of scratch.
TAOSTREAM_HD inline void greedyKeep(int32_t count, int32_t words, const unsigned long long* mask,
                                    unsigned long long* removed, uint8_t* kept) {
    for (int32_t w = 0; w < words; ++w) removed[w] = 0ull;
    for (int32_t i = 0; i < count; ++i) {
        kept[i] = ((removed[i / 64] >> (i % 64)) & 1ull) ? 0 : 1;
        if (!kept[i]) continue;
        const unsigned long long* row = mask + static_cast<int64_t>(i) * words;
        for (int32_t w = i / 64; w < words; ++w) removed[w] |= row[w];
    }
}

// Step 7, per (segment, position p < prenms): the gather key (order C).
TAOSTREAM_HD inline uint64_t gatherKey(const float* candScores, const uint8_t* kept, int32_t count, int32_t p) {
    if (p >= count) return nms::noCandidateKey(static_cast<uint32_t>(p));
    const int64_t rank = blockedRank(p, count, kProposalGatherThreads);
    return nms::candidateKey(kept[p] ? candScores[p] : 0.0f, static_cast<uint32_t>(rank));
}

// The candidate position of a blocked rank (blockedRank's inverse over count positions).
TAOSTREAM_HD inline int32_t positionOfRank(int64_t rank, int32_t count) {
    const int64_t items = (int64_t{count} + kProposalGatherThreads - 1) / kProposalGatherThreads;
    return static_cast<int32_t>((rank % items) * kProposalGatherThreads + rank / items);
}

// Step 8 (after sort C), per segment, serial: the level's keep rows (score, box), zero rows after.
TAOSTREAM_HD inline void levelRows(const uint64_t* sortedC, const float* candScores, const Box* candBoxes,
                                   const uint8_t* kept, int32_t count, const ProposeRoiShape& s, float* rowScores,
                                   Box* rowBoxes) {
    const int32_t written = s.keep < count ? s.keep : count;
    int32_t r = 0;
    for (int32_t k = 0; k < written; ++k) {
        const int32_t p = positionOfRank(nms::keyIndex(sortedC[k]), count);
        if (!kept[p]) continue;
        rowScores[r] = candScores[p];
        rowBoxes[r] = candBoxes[p];
        ++r;
    }
    for (; r < s.keep; ++r) {
        rowScores[r] = 0.0f;
        rowBoxes[r] = Box{0.0f, 0.0f, 0.0f, 0.0f};
    }
}

// Step 9, per (image, row t < 5 x keep): the final key (order D).
TAOSTREAM_HD inline uint64_t rowKey(const float* rowScores, const ProposeRoiShape& s, int64_t image, int32_t t) {
    return nms::candidateKey(rowScores[image * kLevels * s.keep + t], static_cast<uint32_t>(t));
}

// Step 10 (after sort D), per (image, roi k < keep): roi k (y1, x1, y2, x2 pixels); zeros for an image
// with non-finite inputs. `imageSortedD`: the image's 5 x keep sorted keys.
TAOSTREAM_HD inline void roiAt(const uint64_t* imageSortedD, const Box* rowBoxes, const ProposeRoiShape& s,
                               int64_t image, int32_t k, bool imageValid, float* rois) {
    const int64_t rows = int64_t{kLevels} * s.keep;
    const Box b = imageValid ? rowBoxes[image * rows + nms::keyIndex(imageSortedD[k])]
                             : Box{0.0f, 0.0f, 0.0f, 0.0f};
    float* out = rois + (image * s.keep + k) * 4;
    out[0] = b.y1;
    out[1] = b.x1;
    out[2] = b.y2;
    out[3] = b.x2;
}

}  // namespace mrcnn
}  // namespace taostream
