// BatchedNMS(Dynamic)_TRT on the host; see batchedNMSHost.h and README.md.
#include "batchedNMSHost.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../common/nmsMath.h"

namespace {

struct Kept {
    float score;
    int32_t cls;
    int64_t rank;
    int64_t prior;
};

}  // namespace

extern "C" int taostream_batched_nms(int32_t batch, int32_t num_boxes, int32_t num_classes, int32_t share_location,
                                     int32_t background_label_id, int32_t top_k, int32_t keep_top_k,
                                     float score_threshold, float iou_threshold, int32_t is_normalized,
                                     int32_t caffe_semantics, int32_t clip_boxes, const float* boxes,
                                     const float* scores, int32_t* num, float* out_boxes, float* out_scores,
                                     float* out_classes) {
    if (batch < 0 || num_boxes < 0 || num_classes <= 0 || top_k <= 0 || keep_top_k <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int64_t locClasses = share_location ? 1 : num_classes;
    const int64_t boxValues = int64_t{batch} * num_boxes * locClasses * 4;
    const int64_t scoreValues = int64_t{batch} * num_boxes * num_classes;
    for (int64_t i = 0; i < boxValues; ++i) {
        if (!std::isfinite(boxes[i])) return TAOSTREAM_HOST_NON_FINITE;
    }
    for (int64_t i = 0; i < scoreValues; ++i) {
        if (!std::isfinite(scores[i])) return TAOSTREAM_HOST_NON_FINITE;
    }
    const bool normalized = is_normalized != 0, caffe = caffe_semantics != 0;
    std::vector<float> classScores(num_boxes);
    std::vector<int64_t> order(num_boxes);
    std::vector<int64_t> keptPriors;
    std::vector<Kept> kept;
    for (int32_t image = 0; image < batch; ++image) {
        const float* imageBoxes = boxes + int64_t{image} * num_boxes * locClasses * 4;
        const float* imageScores = scores + int64_t{image} * num_boxes * num_classes;
        kept.clear();
        for (int32_t cls = 0; cls < num_classes; ++cls) {
            if (cls == background_label_id) continue;
            for (int32_t p = 0; p < num_boxes; ++p) classScores[p] = imageScores[int64_t{p} * num_classes + cls];
            // stable descending sort, scores above the threshold, the first top_k
            order.resize(num_boxes);
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(),
                             [&](int64_t a, int64_t b) { return classScores[a] > classScores[b]; });
            order.erase(std::remove_if(order.begin(), order.end(),
                                       [&](int64_t p) { return !(classScores[p] > score_threshold); }),
                        order.end());
            if (static_cast<int64_t>(order.size()) > top_k) order.resize(top_k);
            const int64_t column = share_location ? 0 : cls;
            auto boxOf = [&](int64_t prior) { return imageBoxes + (prior * locClasses + column) * 4; };
            keptPriors.clear();
            for (int64_t prior : order) {
                bool suppressed = false;
                for (int64_t other : keptPriors) {
                    if (taostream::nms::pluginIou(boxOf(prior), boxOf(other), normalized, caffe) > iou_threshold) {
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
        const int64_t written = std::min<int64_t>(keep_top_k, static_cast<int64_t>(kept.size()));
        num[image] = static_cast<int32_t>(written);
        float* rowBoxes = out_boxes + int64_t{image} * keep_top_k * 4;
        float* rowScores = out_scores + int64_t{image} * keep_top_k;
        float* rowClasses = out_classes + int64_t{image} * keep_top_k;
        for (int64_t r = 0; r < keep_top_k; ++r) {
            if (r < written) {
                const Kept& k = kept[r];
                const float* box = imageBoxes + (k.prior * locClasses + (share_location ? 0 : k.cls)) * 4;
                for (int c = 0; c < 4; ++c) {
                    rowBoxes[4 * r + c] =
                        clip_boxes ? taostream::nms::npMinimum(taostream::nms::npMaximum(box[c], 0.0f), 1.0f) : box[c];
                }
                rowScores[r] = k.score;
                rowClasses[r] = static_cast<float>(k.cls);
            } else {
                for (int c = 0; c < 4; ++c) rowBoxes[4 * r + c] = 0.0f;
                rowScores[r] = 0.0f;
                rowClasses[r] = -1.0f;
            }
        }
    }
    return TAOSTREAM_HOST_OK;
}
