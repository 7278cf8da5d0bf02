// Proposal / ProposalDynamic on the host; see proposalHost.h and README.md.
#include "proposalHost.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../common/proposalMath.h"
#include "proposalSteps.h"

namespace fr = taostream::frcnn;

extern "C" int taostream_proposal(int32_t batch, int32_t anchors, int32_t height, int32_t width,
                                  int32_t input_height, int32_t input_width, int32_t rpn_stride, float roi_min_size,
                                  float nms_iou_threshold, int32_t pre_nms_top_n, int32_t post_nms_top_n,
                                  int32_t num_sizes, const float* sizes, int32_t num_ratios, const float* ratios,
                                  const float* scores, const float* deltas, float* rois) {
    if (batch < 0 || anchors <= 0 || height < 0 || width < 0 || input_height < 2 || input_width < 2 ||
        pre_nms_top_n <= 0 || post_nms_top_n <= 0 || int64_t{num_sizes} * num_ratios != anchors) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int64_t cells = int64_t{height} * width;
    const int64_t count = anchors * cells;
    for (int64_t i = 0; i < int64_t{batch} * count; ++i) {
        if (std::isnan(scores[i])) return TAOSTREAM_HOST_NON_FINITE;
    }
    std::vector<float> anchorW(anchors), anchorH(anchors);
    for (int32_t s = 0; s < num_sizes; ++s) {
        for (int32_t r = 0; r < num_ratios; ++r) {
            anchorW[s * num_ratios + r] = fr::anchorWidth(sizes[s], ratios[r]);
            anchorH[s * num_ratios + r] = fr::anchorHeight(sizes[s], ratios[r]);
        }
    }
    const float maxX = static_cast<float>(input_width - 1);
    const float maxY = static_cast<float>(input_height - 1);
    std::vector<fr::ProposalBox> boxes(count);
    std::vector<float> fg(count);
    std::vector<int64_t> order(count);
    std::vector<fr::ProposalBox> kept;
    for (int32_t b = 0; b < batch; ++b) {
        const float* imageScores = scores + b * count;
        const float* imageDeltas = deltas + b * count * 4;
        for (int32_t a = 0; a < anchors; ++a) {
            for (int64_t cell = 0; cell < cells; ++cell) {
                const int64_t y = cell / width, x = cell % width;
                const float* d = imageDeltas + int64_t{a} * 4 * cells + cell;
                const int64_t i = a * cells + cell;
                boxes[i] = fr::decodeProposal(d[0], d[cells], d[2 * cells], d[3 * cells], anchorW[a], anchorH[a],
                                              fr::anchorCentre(x, rpn_stride), fr::anchorCentre(y, rpn_stride), maxX,
                                              maxY);
                fg[i] = fr::proposalScore(imageScores[i], boxes[i], roi_min_size);
            }
        }
        // np.argsort(-fg, kind="stable")[:pre_nms_top_n]: score descending, ties by index
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t l, int64_t r) { return fg[l] > fg[r]; });
        const int64_t candidates = std::min<int64_t>(count, pre_nms_top_n);
        kept.clear();
        for (int64_t c = 0; c < candidates && static_cast<int64_t>(kept.size()) < post_nms_top_n; ++c) {
            const fr::ProposalBox& box = boxes[order[c]];
            bool suppressed = false;
            for (const fr::ProposalBox& k : kept) {
                if (fr::iouPlusOne(k, box) > nms_iou_threshold) {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed) kept.push_back(box);
        }
        float* out = rois + int64_t{b} * post_nms_top_n * 4;
        for (int64_t r = 0; r < post_nms_top_n; ++r) {
            const fr::ProposalBox box = r < static_cast<int64_t>(kept.size()) ? kept[r] : fr::ProposalBox{0, 0, 0, 0};
            out[r * 4 + 0] = box.y1 / maxY;
            out[r * 4 + 1] = box.x1 / maxX;
            out[r * 4 + 2] = box.y2 / maxY;
            out[r * 4 + 3] = box.x2 / maxX;
        }
    }
    return TAOSTREAM_HOST_OK;
}

// The GPU path (proposalKernels.cu) emulated: proposalSteps.h's steps in the kernels' order, the CUB
// segmented sort by std::stable_sort on the same keys. An image with a NaN score gets zero rois (the
// plugin's output for it); returns TAOSTREAM_HOST_NON_FINITE when one had.
extern "C" int taostream_proposal_emulated(int32_t batch, int32_t anchors, int32_t height, int32_t width,
                                           int32_t input_height, int32_t input_width, int32_t rpn_stride,
                                           float roi_min_size, float nms_iou_threshold, int32_t pre_nms_top_n,
                                           int32_t post_nms_top_n, int32_t num_sizes, const float* sizes,
                                           int32_t num_ratios, const float* ratios, const float* scores,
                                           const float* deltas, float* rois) {
    if (batch < 0 || anchors <= 0 || height < 0 || width < 0 || input_height < 2 || input_width < 2 ||
        pre_nms_top_n <= 0 || post_nms_top_n <= 0 || int64_t{num_sizes} * num_ratios != anchors ||
        num_sizes > fr::kMaxAnchorParameters || num_ratios > fr::kMaxAnchorParameters) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    fr::ProposalShape s{batch,
                        anchors,
                        height,
                        width,
                        rpn_stride,
                        static_cast<float>(input_width - 1),
                        static_cast<float>(input_height - 1),
                        roi_min_size,
                        nms_iou_threshold,
                        pre_nms_top_n,
                        post_nms_top_n,
                        num_sizes,
                        num_ratios,
                        {},
                        {}};
    std::copy(sizes, sizes + num_sizes, s.sizes);
    std::copy(ratios, ratios + num_ratios, s.ratios);
    const int64_t count = fr::elementCount(s);
    const int32_t limit = fr::candidateLimit(s);
    const int32_t words = (limit + 63) / 64;
    std::vector<uint64_t> sorted(count);
    std::vector<fr::ProposalBox> boxes(count), candidates(limit);
    std::vector<unsigned long long> mask(static_cast<size_t>(limit) * words), removed(words);
    std::vector<int32_t> kept(std::min(limit, post_nms_top_n));
    bool allValid = true;
    for (int32_t image = 0; image < batch; ++image) {
        const bool valid = fr::imageScoresValid(scores, s, image, 0, 1);  // step 0
        for (int64_t i = 0; i < count; ++i) sorted[i] = fr::decodeElement(scores, deltas, s, image, i, &boxes[i]);
        std::stable_sort(sorted.begin(), sorted.end());                                   // CUB's SortKeys
        for (int32_t r = 0; r < limit; ++r) candidates[r] = fr::candidateBox(sorted.data(), boxes.data(), r);  // 2
        std::fill(mask.begin(), mask.end(), 0ull);  // step 3: the mask kernel's bits
        for (int32_t i = 0; i < limit; ++i) {
            for (int32_t j = i + 1; j < limit; ++j) {
                if (fr::candidateSuppresses(candidates.data(), s, i, j)) {
                    mask[static_cast<size_t>(i) * words + j / 64] |= 1ull << (j % 64);
                }
            }
        }
        const int32_t keptCount = valid ? fr::greedyWalk(limit, words, mask.data(), s, removed.data(), kept.data()) : 0;
        allValid = allValid && valid;
        for (int32_t r = 0; r < post_nms_top_n; ++r) fr::outputRow(candidates.data(), kept.data(), keptCount, s, image, r, rois);
    }
    return allValid ? TAOSTREAM_HOST_OK : TAOSTREAM_HOST_NON_FINITE;
}
