// Per-class NMS of the NMS-family plugins on the host, for one image (allClassNMS.cu semantics as
// plugins/reference.py's per_class_nms has them): shared by BatchedNMS and NMS.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "nmsMath.h"

namespace taostream {
namespace nms {

struct Kept {
    float score;
    int32_t cls;
    int64_t rank;   // position among its class's kept boxes
    int64_t prior;  // box index
};

struct PerClassFields {
    int32_t numBoxes, locClasses, numClasses;
    bool shareLocation;
    int32_t backgroundLabelId, topK, keepTopK;
    float scoreThreshold, iouThreshold;
    bool normalized, caffe;
};

// boxes [numBoxes, locClasses, 4], scores [numBoxes, numClasses]: the kept detections in output
// order (score descending, then class, then rank), at most keepTopK.
inline std::vector<Kept> perClassNms(const float* boxes, const float* scores, const PerClassFields& f) {
    std::vector<Kept> kept;
    std::vector<float> classScores(f.numBoxes);
    std::vector<int64_t> order;
    std::vector<int64_t> keptPriors;
    for (int32_t cls = 0; cls < f.numClasses; ++cls) {
        if (cls == f.backgroundLabelId) continue;
        for (int32_t p = 0; p < f.numBoxes; ++p) classScores[p] = scores[int64_t{p} * f.numClasses + cls];
        // stable descending sort, scores above the threshold, the first topK
        order.resize(f.numBoxes);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return classScores[a] > classScores[b]; });
        order.erase(std::remove_if(order.begin(), order.end(),
                                   [&](int64_t p) { return !(classScores[p] > f.scoreThreshold); }),
                    order.end());
        if (static_cast<int64_t>(order.size()) > f.topK) order.resize(f.topK);
        const int64_t column = f.shareLocation ? 0 : cls;
        auto boxOf = [&](int64_t prior) { return boxes + (prior * f.locClasses + column) * 4; };
        keptPriors.clear();
        for (int64_t prior : order) {
            bool suppressed = false;
            for (int64_t other : keptPriors) {
                if (pluginIou(boxOf(prior), boxOf(other), f.normalized, f.caffe) > f.iouThreshold) {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed) {
                kept.push_back(Kept{classScores[prior], cls, static_cast<int64_t>(keptPriors.size()), prior});
                keptPriors.push_back(prior);
            }
        }
    }
    std::sort(kept.begin(), kept.end(), [](const Kept& a, const Kept& b) {
        if (a.score != b.score) return a.score > b.score;
        if (a.cls != b.cls) return a.cls < b.cls;
        return a.rank < b.rank;
    });
    if (static_cast<int64_t>(kept.size()) > f.keepTopK) kept.resize(f.keepTopK);
    return kept;
}

inline bool allFinite(const float* values, int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
        if (!std::isfinite(values[i])) return false;
    }
    return true;
}

}  // namespace nms
}  // namespace taostream
