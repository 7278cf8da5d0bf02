// Proposal(Dynamic)'s GPU path as steps (__host__ __device__ under nvcc): the CUDA kernels
// (proposalKernels.cu) call each once per thread, the host emulation (proposalHost.cpp,
// taostream_proposal_emulated) calls the same functions in loops in the kernels' order, with
// std::stable_sort on the same keys for CUB's radix sort; tests/test_plugin_device_emulation.py holds
// the emulation equal to the host implementation (proposalHost.cpp) byte for byte.
//
// The host's order, and the keys that reproduce it: per image, element i = anchor * H * W + y * W + x
// (every one a candidate, boxes under roi_min_size with score -inf), by fg descending
// (np.argsort(-fg, kind="stable"): equal scores, +0.0 and -0.0 included, by element ascending); the
// first pre_nms_top_n (any number: no 5000 cap here) reach the +1-pixel greedy NMS, which stops once
// post_nms_top_n are kept. Key: nms::descendingScoreKey(fg) high, i low (distinct keys, so any correct
// sort gives that order). An image with a NaN score gets zero rois (the host refuses it).
#pragma once

#include <cstdint>

#include "../common/perClassNmsSteps.h"  // descendingScoreKey, candidateKey, keyIndex
#include "../common/proposalMath.h"

namespace taostream {
namespace frcnn {

// The anchor sizes and ratios travel in the kernels' parameter struct: at most this many of each (more:
// the plugin runs host-staged).
constexpr int32_t kMaxAnchorParameters = 32;

struct ProposalShape {
    int32_t batch, anchors, height, width, stride;
    float maxX, maxY, roiMinSize, iouThreshold;  // maxX = input_width - 1, maxY = input_height - 1
    int32_t preNmsTopN, postNmsTopN;
    int32_t numSizes, numRatios;
    float sizes[kMaxAnchorParameters], ratios[kMaxAnchorParameters];
};

TAOSTREAM_HD inline int64_t elementCount(const ProposalShape& s) { return int64_t{s.anchors} * s.height * s.width; }

// At most this many candidates of an image reach the NMS.
TAOSTREAM_HD inline int32_t candidateLimit(const ProposalShape& s) {
    const int64_t count = elementCount(s);
    return static_cast<int32_t>(count < s.preNmsTopN ? count : s.preNmsTopN);
}

// Step 0, per image: no NaN score (the host's check; NaN/inf deltas are clipped like the host's).
// `part` of `parts` threads (the emulation: 0 of 1).
TAOSTREAM_HD inline bool imageScoresValid(const float* scores, const ProposalShape& s, int64_t image, int64_t part,
                                          int64_t parts) {
    const int64_t count = elementCount(s);
    bool valid = true;
    for (int64_t i = part; i < count; i += parts) {
        const float score = scores[image * count + i];
        valid = valid && score == score;
    }
    return valid;
}

// Step 1, per (image, element i): the decoded box and the sort key of its fg score, as the host's
// decode loop computes them (anchor a = size_index * numRatios + ratio_index).
TAOSTREAM_HD inline uint64_t decodeElement(const float* scores, const float* deltas, const ProposalShape& s,
                                           int64_t image, int64_t i, ProposalBox* box) {
    const int64_t cells = int64_t{s.height} * s.width;
    const int64_t count = int64_t{s.anchors} * cells;
    const int32_t a = static_cast<int32_t>(i / cells);
    const int64_t cell = i % cells;
    const int64_t y = cell / s.width, x = cell % s.width;
    const float size = s.sizes[a / s.numRatios], ratio = s.ratios[a % s.numRatios];
    const float* d = deltas + image * count * 4 + int64_t{a} * 4 * cells + cell;
    *box = decodeProposal(d[0], d[cells], d[2 * cells], d[3 * cells], anchorWidth(size, ratio),
                          anchorHeight(size, ratio), anchorCentre(x, s.stride), anchorCentre(y, s.stride), s.maxX,
                          s.maxY);
    const float fg = proposalScore(scores[image * count + i], *box, s.roiMinSize);
    return nms::candidateKey(fg, static_cast<uint32_t>(i));
}

// Step 2 (after the sort), per (image, candidate r < candidateLimit): its box, in sorted order.
TAOSTREAM_HD inline ProposalBox candidateBox(const uint64_t* sorted, const ProposalBox* boxes, int32_t r) {
    return boxes[nms::keyIndex(sorted[r])];
}

// Step 3, the suppression bit: the earlier candidate i (kept) suppresses j > i (the host's
// iouPlusOne(kept, box) > threshold).
TAOSTREAM_HD inline bool candidateSuppresses(const ProposalBox* candidates, const ProposalShape& s, int32_t i,
                                             int32_t j) {
    return iouPlusOne(candidates[i], candidates[j]) > s.iouThreshold;
}

// Step 4, per image, serial: the greedy walk over the suppression words (row i: `words` words, bit j % 64
// of word j / 64 set when i suppresses j) until postNmsTopN are kept; the kept candidates' positions go
// to `kept` in walk order. `removed`: `words` words of scratch. Returns the kept count.
TAOSTREAM_HD inline int32_t greedyWalk(int32_t count, int32_t words, const unsigned long long* mask,
                                       const ProposalShape& s, unsigned long long* removed, int32_t* kept) {
    for (int32_t w = 0; w < words; ++w) removed[w] = 0ull;
    int32_t n = 0;
    for (int32_t i = 0; i < count && n < s.postNmsTopN; ++i) {
        if ((removed[i / 64] >> (i % 64)) & 1ull) continue;
        kept[n++] = i;
        const unsigned long long* row = mask + static_cast<int64_t>(i) * words;
        for (int32_t w = i / 64; w < words; ++w) removed[w] |= row[w];
    }
    return n;
}

// Step 5, per (image, output row r < postNmsTopN): row r of the rois (y1, x1, y2, x2) / (maxY, maxX),
// the zero box past the kept ones (normalized too, as the host does); keptCount 0 for an invalid image.
TAOSTREAM_HD inline void outputRow(const ProposalBox* candidates, const int32_t* kept, int32_t keptCount,
                                   const ProposalShape& s, int64_t image, int32_t r, float* rois) {
    const ProposalBox box = r < keptCount ? candidates[kept[r]] : ProposalBox{0.0f, 0.0f, 0.0f, 0.0f};
    float* out = rois + (image * s.postNmsTopN + r) * 4;
    out[0] = box.y1 / s.maxY;
    out[1] = box.x1 / s.maxX;
    out[2] = box.y2 / s.maxY;
    out[3] = box.x2 / s.maxX;
}

}  // namespace frcnn
}  // namespace taostream
