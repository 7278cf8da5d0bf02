// GenerateDetection_TRT on the host; see generateDetectionHost.h and README.md.
#include "generateDetectionHost.h"

#include <cmath>
#include <vector>

#include "../common/maskRCNNRefineHost.h"

namespace mr = taostream::mrcnn;

namespace {

constexpr int kArgmaxGroup = 32;  // argMaxWOBackground<32>: one warp per group of classes
constexpr float kMinValidScore = 0.01f;

// argMaxWOBackground: the best class 1..C-1 with score > 0 (else -1, score 0). Within a group of 32
// classes equal maxima go to the higher class; a later group must be strictly greater to win.
void foregroundArgmax(const float* scores, int numClasses, float* bestScore, int64_t* bestClass) {
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

}  // namespace

extern "C" int taostream_generate_detection(int32_t batch, int32_t rois, int32_t num_classes, int32_t keep_topk,
                                            float score_threshold, float iou_threshold, int32_t height,
                                            int32_t width, const float* deltas, const float* scores,
                                            const float* roi_boxes, float* detections) {
    if (batch < 0 || rois < 0 || num_classes < 2 || keep_topk <= 0 || height <= 0 || width <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int64_t perImage = int64_t{rois} * num_classes;
    for (int64_t i = 0; i < int64_t{batch} * perImage * 4; ++i) {
        if (!std::isfinite(deltas[i])) return TAOSTREAM_HOST_NON_FINITE;
    }
    for (int64_t i = 0; i < int64_t{batch} * perImage; ++i) {
        if (!std::isfinite(scores[i])) return TAOSTREAM_HOST_NON_FINITE;
    }
    for (int64_t i = 0; i < int64_t{batch} * rois * 4; ++i) {
        if (!std::isfinite(roi_boxes[i])) return TAOSTREAM_HOST_NON_FINITE;
    }
    static const float kWeights[4] = {10.0f, 10.0f, 5.0f, 5.0f};
    const float clip = static_cast<float>(std::log(1000.0 / 16.0));
    std::vector<float> best(rois);
    std::vector<int64_t> label(rois);
    std::vector<mr::Box> boxes(rois);
    for (int32_t image = 0; image < batch; ++image) {
        const float* imageScores = scores + image * perImage;
        const float* imageDeltas = deltas + image * perImage * 4;
        const float* imageRois = roi_boxes + int64_t{image} * rois * 4;
        for (int32_t r = 0; r < rois; ++r) {
            foregroundArgmax(imageScores + int64_t{r} * num_classes, num_classes, &best[r], &label[r]);
            const int64_t cls = label[r] > 0 ? label[r] : 0;
            const float* roi = imageRois + int64_t{r} * 4;
            boxes[r] = mr::decodeBox(mr::Box{roi[0], roi[1], roi[2], roi[3]},
                                     imageDeltas + (int64_t{r} * num_classes + cls) * 4, kWeights, clip, height, width);
        }
        const mr::RefineFields fields{num_classes, 0, score_threshold, iou_threshold, keep_topk, rois,
                                      mr::kDetectionGatherThreads, true, kMinValidScore};
        const std::vector<mr::RefinedRow> rows = mr::refine(best.data(), label.data(), boxes.data(), fields);
        float* out = detections + int64_t{image} * keep_topk * 6;
        for (int32_t k = 0; k < keep_topk; ++k) {
            float* row = out + int64_t{k} * 6;
            if (k < static_cast<int32_t>(rows.size())) {
                const mr::RefinedRow& x = rows[k];
                row[0] = x.box.y1, row[1] = x.box.x1, row[2] = x.box.y2, row[3] = x.box.x2;
                row[4] = static_cast<float>(x.label);
                row[5] = x.score;
            } else {
                row[0] = row[1] = row[2] = row[3] = 0.0f;
                row[4] = -1.0f;
                row[5] = 0.0f;
            }
        }
    }
    return TAOSTREAM_HOST_OK;
}
