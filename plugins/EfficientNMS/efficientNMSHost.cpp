// EfficientNMS_TRT on the host; see efficientNMSHost.h and README.md.
#include "efficientNMSHost.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../common/efficientNmsMath.h"
#include "../common/perClassNmsHost.h"  // allFinite

namespace ef = taostream::efficient;

namespace {

struct Candidate {
    int64_t element;  // anchor * classes + class
    float box[4];     // decoded corners
};

}  // namespace

extern "C" int taostream_efficient_nms(int32_t batch, int32_t anchors, int32_t classes, int32_t box_classes,
                                       int32_t anchor_batch, int32_t box_coding, int32_t background_class,
                                       int32_t class_agnostic, int32_t score_activation, float sort_threshold,
                                       float iou_threshold, int32_t max_output, int32_t max_candidates,
                                       const float* boxes, const float* scores, const float* anchor_boxes,
                                       int32_t* num, float* out_boxes, float* out_scores, int32_t* out_classes) {
    if (batch < 0 || anchors < 0 || classes <= 0 || (box_classes != 1 && box_classes != classes) ||
        (anchor_batch != 0 && anchor_batch != 1 && anchor_batch != batch) || (box_coding != 0 && box_coding != 1) ||
        max_output <= 0 || max_candidates <= 0 || (anchor_batch != 0 && anchor_boxes == nullptr)) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int64_t elements = int64_t{anchors} * classes;
    if (!taostream::nms::allFinite(boxes, int64_t{batch} * anchors * box_classes * 4) ||
        (anchor_batch != 0 && !taostream::nms::allFinite(anchor_boxes, int64_t{anchor_batch} * anchors * 4))) {
        return TAOSTREAM_HOST_NON_FINITE;
    }
    for (int64_t i = 0; i < int64_t{batch} * elements; ++i) {
        if (std::isnan(scores[i])) return TAOSTREAM_HOST_NON_FINITE;
    }
    std::vector<int64_t> order;
    std::vector<Candidate> kept;
    for (int32_t image = 0; image < batch; ++image) {
        const float* flat = scores + image * elements;
        // candidates: raw score >= the threshold, not the background class; score descending, ties by element
        order.clear();
        for (int64_t e = 0; e < elements; ++e) {
            if (flat[e] >= sort_threshold && e % classes != background_class) order.push_back(e);
        }
        std::stable_sort(order.begin(), order.end(), [&](int64_t l, int64_t r) { return flat[l] > flat[r]; });
        if (static_cast<int64_t>(order.size()) > max_candidates) order.resize(max_candidates);
        kept.clear();
        for (int64_t element : order) {
            if (static_cast<int64_t>(kept.size()) >= max_output) break;
            const int64_t anchor = element / classes, cls = element % classes;
            Candidate candidate{element, {}};
            const float* box = boxes + ((int64_t{image} * anchors + anchor) * box_classes + (box_classes == 1 ? 0 : cls)) * 4;
            const float* anchorBox =
                anchor_batch == 0 ? nullptr
                                  : anchor_boxes + ((anchor_batch == 1 ? 0 : int64_t{image}) * anchors + anchor) * 4;
            ef::decodeBox(box, anchorBox, box_coding, candidate.box);
            if (!taostream::nms::allFinite(candidate.box, 4)) return TAOSTREAM_HOST_NON_FINITE;
            bool suppressed = false;
            for (const Candidate& k : kept) {
                if ((class_agnostic || k.element % classes == cls) && ef::iou(candidate.box, k.box) >= iou_threshold) {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed) kept.push_back(candidate);
        }
        num[image] = static_cast<int32_t>(kept.size());
        float* imageBoxes = out_boxes + int64_t{image} * max_output * 4;
        float* imageScores = out_scores + int64_t{image} * max_output;
        int32_t* imageClasses = out_classes + int64_t{image} * max_output;
        std::memset(imageBoxes, 0, sizeof(float) * 4 * static_cast<size_t>(max_output));
        std::memset(imageScores, 0, sizeof(float) * static_cast<size_t>(max_output));
        std::memset(imageClasses, 0, sizeof(int32_t) * static_cast<size_t>(max_output));
        for (size_t r = 0; r < kept.size(); ++r) {
            std::memcpy(imageBoxes + 4 * r, kept[r].box, sizeof(float) * 4);
            const float raw = flat[kept[r].element];
            imageScores[r] = score_activation ? taostream::nms::sigmoidF32(raw) : raw;
            imageClasses[r] = static_cast<int32_t>(kept[r].element % classes);
        }
    }
    return TAOSTREAM_HOST_OK;
}
