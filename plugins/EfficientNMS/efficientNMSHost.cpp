// EfficientNMS_TRT on the host; see efficientNMSHost.h and README.md.
#include "efficientNMSHost.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../common/efficientNmsMath.h"
#include "../common/perClassNmsHost.h"  // allFinite
#include "efficientNMSSteps.h"

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

extern "C" int taostream_efficient_nms_emulated(int32_t batch, int32_t anchors, int32_t classes, int32_t box_classes,
                                                int32_t anchor_batch, int32_t box_coding, int32_t background_class,
                                                int32_t class_agnostic, int32_t score_activation,
                                                float sort_threshold, float iou_threshold, int32_t max_output,
                                                int32_t max_candidates, const float* boxes, const float* scores,
                                                const float* anchor_boxes, int32_t* num, float* out_boxes,
                                                float* out_scores, int32_t* out_classes) {
    if (batch < 0 || anchors < 0 || classes <= 0 || (box_classes != 1 && box_classes != classes) ||
        (anchor_batch != 0 && anchor_batch != 1 && anchor_batch != batch) || (box_coding != 0 && box_coding != 1) ||
        max_output <= 0 || max_candidates <= 0 || (anchor_batch != 0 && anchor_boxes == nullptr)) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const ef::EfficientShape s{batch,           anchors,        classes,      box_classes,
                               anchor_batch,    box_coding,     background_class, class_agnostic != 0,
                               score_activation != 0, sort_threshold, iou_threshold, max_output, max_candidates};
    const int64_t elements = int64_t{anchors} * classes;
    const int32_t limit = ef::candidateLimit(s);
    const int32_t words = (limit + 63) / 64;
    std::vector<uint64_t> sorted(elements);
    std::vector<float> corners(static_cast<size_t>(limit) * 4);
    std::vector<int32_t> candidateClasses(limit), kept(std::min(limit, max_output));
    std::vector<uint8_t> finite(limit);
    std::vector<unsigned long long> mask(static_cast<size_t>(limit) * words), removed(words);
    bool allValid = true;
    for (int32_t image = 0; image < batch; ++image) {
        bool valid = ef::imageInputsValid(boxes, scores, anchor_boxes, s, image, 0, 1);  // step 0
        for (int64_t e = 0; e < elements; ++e) sorted[e] = ef::elementKey(scores, s, image, e);  // step 1
        std::stable_sort(sorted.begin(), sorted.end());  // CUB's SortKeys, one segment per image
        const int32_t count = elements == 0 ? 0 : ef::candidateCount(sorted.data(), s);  // step 2
        for (int32_t r = 0; r < count; ++r) {  // step 3
            finite[r] = ef::decodeCandidate(sorted.data(), boxes, anchor_boxes, s, image, r, corners.data() + 4 * r,
                                            candidateClasses.data() + r) ? 1 : 0;
        }
        std::fill(mask.begin(), mask.end(), 0ull);  // step 4: the mask kernel's bits for rows i < count
        for (int32_t i = 0; i < count; ++i) {
            for (int32_t j = i + 1; j < count; ++j) {
                if (ef::candidateSuppresses(corners.data(), candidateClasses.data(), s, i, j)) {
                    mask[static_cast<size_t>(i) * words + j / 64] |= 1ull << (j % 64);
                }
            }
        }
        int32_t keptCount = 0;  // step 5 (not run for an invalid image: the kernel skips it too)
        if (valid) {
            keptCount = ef::greedyWalk(count, words, mask.data(), finite.data(), s, removed.data(), kept.data(), &valid);
        }
        allValid = allValid && valid;
        for (int32_t r = 0; r < max_output; ++r) {  // step 6
            ef::outputRow(sorted.data(), scores, corners.data(), candidateClasses.data(), kept.data(), keptCount, s,
                          image, r, num, out_boxes, out_scores, out_classes);
        }
    }
    return allValid ? TAOSTREAM_HOST_OK : TAOSTREAM_HOST_NON_FINITE;
}
