// The refine step the MaskRCNN plugins share (sortPerClass, PerClassNMS, TopKGather of
// maskRCNNKernels.cu) on the host, for one image. Semantics and float operations as
// plugins/maskrcnn.py's refine_arrays.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "maskRCNNMath.h"

namespace taostream {
namespace mrcnn {

struct RefinedRow {
    Box box;
    int64_t label;
    float score;
};

struct RefineFields {
    int numClasses;
    int64_t background;
    float scoreThreshold;
    float iouThreshold;
    int64_t keepTopK;
    int64_t valid;
    int threads;
    bool hasMinScore;
    float minScore;
};

// Greedy NMS in order: box j is kept unless an earlier kept box of its label has IoU > threshold
// with it (boxIou(earlier, later)). The inner loop over the later boxes is branch-free over
// structure-of-arrays coordinates so that the compiler vectorizes it; the float operations are
// boxIou's, in its order, so the keep flags are the same.
inline std::vector<char> greedyNms(const std::vector<Box>& box, const std::vector<int64_t>& label, float threshold) {
    const int64_t count = static_cast<int64_t>(box.size());
    std::vector<float> y1(count), x1(count), y2(count), x2(count), area(count);
    std::vector<int32_t> cls(label.begin(), label.end());  // labels are class ids: small
    for (int64_t i = 0; i < count; ++i) {
        y1[i] = box[i].y1;
        x1[i] = box[i].x1;
        y2[i] = box[i].y2;
        x2[i] = box[i].x2;
        area[i] = (box[i].y2 - box[i].y1) * (box[i].x2 - box[i].x1);
    }
    std::vector<int32_t> kept(count, 1);
    for (int64_t i = 0; i < count; ++i) {
        if (!kept[i]) continue;
        const float by1 = y1[i], bx1 = x1[i], by2 = y2[i], bx2 = x2[i], barea = area[i];
        const int32_t bcls = cls[i];
        const float* __restrict__ py1 = y1.data();
        const float* __restrict__ px1 = x1.data();
        const float* __restrict__ py2 = y2.data();
        const float* __restrict__ px2 = x2.data();
        const float* __restrict__ parea = area.data();
        const int32_t* __restrict__ pcls = cls.data();
        int32_t* __restrict__ pkept = kept.data();
        for (int64_t j = i + 1; j < count; ++j) {
            const float oy1 = npMaximum(by1, py1[j]);
            const float ox1 = npMaximum(bx1, px1[j]);
            const float oy2 = npMinimum(by2, py2[j]);
            const float ox2 = npMinimum(bx2, px2[j]);
            const float ow = ox2 - ox1;
            const float oh = oy2 - oy1;
            const float overlap = ow * oh;
            const float unionArea = (barea + parea[j]) - overlap;
            const float iou = overlap / unionArea;
            const bool suppress = !(ow < 0.0f) & !(oh < 0.0f) & (iou > threshold) & (pcls[j] == bcls);
            pkept[j] = suppress ? 0 : pkept[j];
        }
    }
    return std::vector<char>(kept.begin(), kept.end());
}

// One image: rows (at most keepTopK) in output order.
inline std::vector<RefinedRow> refine(const float* scores, const int64_t* labels, const Box* boxes,
                                      const RefineFields& f) {
    // sortPerClass: candidates, ordered by key descending (stable), decoded back; keys <= 1 dropped.
    std::vector<int64_t> index;
    std::vector<float> keys;
    for (int64_t i = 0; i < f.valid; ++i) {
        if (labels[i] != f.background && labels[i] != -1 && scores[i] >= f.scoreThreshold) {
            index.push_back(i);
            keys.push_back(sortKey(scores[i], labels[i], f.numClasses));
        }
    }
    std::vector<int64_t> order(index.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys[a] > keys[b]; });
    std::vector<int64_t> candIndex;
    std::vector<float> candScore;
    std::vector<int64_t> candLabel;
    candIndex.reserve(order.size());
    for (int64_t o : order) {
        float score;
        int64_t label;
        scoreFromKey(keys[o], f.numClasses, &score, &label);
        if (label >= 0) {
            candIndex.push_back(index[o]);
            candScore.push_back(score);
            candLabel.push_back(label);
        }
    }
    const int64_t count = static_cast<int64_t>(candIndex.size());
    // PerClassNMS: greedy within each class, in candidate order.
    std::vector<Box> candBox(count);
    for (int64_t i = 0; i < count; ++i) candBox[i] = boxes[candIndex[i]];
    const std::vector<char> kept = greedyNms(candBox, candLabel, f.iouThreshold);
    // TopKGather: kept scores descending (suppressed slots score 0), ties in CUB's blocked order;
    // the first min(keepTopK, count) positions are written.
    std::vector<int64_t> positions(count);
    std::iota(positions.begin(), positions.end(), 0);
    auto sortScore = [&](int64_t p) { return kept[p] ? candScore[p] : 0.0f; };
    std::sort(positions.begin(), positions.end(), [&](int64_t a, int64_t b) {
        const float sa = sortScore(a), sb = sortScore(b);
        if (sa != sb) return sa > sb;
        return blockedRank(a, count, f.threads) < blockedRank(b, count, f.threads);
    });
    std::vector<RefinedRow> rows;
    const int64_t written = std::min(f.keepTopK, count);
    for (int64_t k = 0; k < written; ++k) {
        const int64_t slot = positions[k];
        if (!kept[slot]) continue;
        if (f.hasMinScore && !(candScore[slot] > f.minScore)) continue;
        rows.push_back(RefinedRow{candBox[slot], candLabel[slot], candScore[slot]});
    }
    return rows;
}

}  // namespace mrcnn
}  // namespace taostream
