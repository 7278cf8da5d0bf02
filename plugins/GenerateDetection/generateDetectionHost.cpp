// GenerateDetection_TRT on the host; see generateDetectionHost.h and README.md.
#include "generateDetectionHost.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/maskRCNNRefineHost.h"
#include "generateDetectionSteps.h"

namespace mr = taostream::mrcnn;

namespace gd = taostream::gendet;

extern "C" float taostream_generate_detection_clip() { return static_cast<float>(std::log(1000.0 / 16.0)); }

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
    const float clip = taostream_generate_detection_clip();
    std::vector<float> best(rois);
    std::vector<int64_t> label(rois);
    std::vector<mr::Box> boxes(rois);
    for (int32_t image = 0; image < batch; ++image) {
        const float* imageScores = scores + image * perImage;
        const float* imageDeltas = deltas + image * perImage * 4;
        const float* imageRois = roi_boxes + int64_t{image} * rois * 4;
        for (int32_t r = 0; r < rois; ++r) {
            gd::foregroundArgmax(imageScores + int64_t{r} * num_classes, num_classes, &best[r], &label[r]);
            boxes[r] = gd::decodeRoi(imageRois + int64_t{r} * 4, imageDeltas + int64_t{r} * num_classes * 4, label[r],
                                     clip, height, width);
        }
        const mr::RefineFields fields{num_classes, 0, score_threshold, iou_threshold, keep_topk, rois,
                                      mr::kDetectionGatherThreads, true, gd::kMinValidScore};
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

// The kernels' steps (generateDetectionSteps.h) in generateDetectionKernels.cu's order, whole batch;
// std::stable_sort per image stands in for CUB's segmented radix sort (the keys are distinct).
extern "C" int taostream_generate_detection_emulated(int32_t batch, int32_t rois, int32_t num_classes,
                                                     int32_t keep_topk, float score_threshold, float iou_threshold,
                                                     int32_t height, int32_t width, const float* deltas,
                                                     const float* scores, const float* roi_boxes, float* detections) {
    if (batch < 0 || rois < 0 || num_classes < 2 || keep_topk <= 0 || height <= 0 || width <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const gd::DetectionShape s{batch, rois, num_classes, keep_topk, score_threshold, iou_threshold,
                               taostream_generate_detection_clip(), height, width};
    const int64_t items = int64_t{batch} * rois;
    const int32_t words = gd::maskWords(rois);
    std::vector<int32_t> invalid(batch), label(items), count(batch), candLabel(items);
    std::vector<float> best(items), candScore(items);
    std::vector<mr::Box> box(items), candBox(items);
    std::vector<uint64_t> keys(items), gathered(items);
    std::vector<unsigned long long> mask(static_cast<size_t>(items) * words), removed(words);
    std::vector<uint8_t> kept(items);
    for (int64_t image = 0; image < batch; ++image) {  // step 0: one block per image
        invalid[image] = gd::imageInputsFinite(deltas, scores, roi_boxes, s, image, 0, 1) ? 0 : 1;
    }
    for (int64_t i = 0; i < items; ++i) {  // step 1
        keys[i] = gd::roiStep(deltas, scores, roi_boxes, invalid.data(), s, i / rois, static_cast<int32_t>(i % rois),
                              best.data(), label.data(), box.data());
    }
    for (int64_t image = 0; image < batch; ++image) {
        std::stable_sort(keys.begin() + image * rois, keys.begin() + (image + 1) * rois);
    }
    for (int64_t image = 0; image < batch; ++image) {  // step 2
        count[image] = gd::compactCandidates(keys.data(), best.data(), label.data(), box.data(), s, image,
                                             candScore.data(), candLabel.data(), candBox.data());
    }
    for (int64_t image = 0; image < batch; ++image) {  // step 3: grid (words, rois, images)
        for (int32_t i = 0; i < count[image]; ++i) {
            for (int32_t word = 0; word < words; ++word) {
                unsigned long long bits = 0;
                for (int32_t t = 0; t < 64; ++t) {
                    const int32_t j = word * 64 + t;
                    if (j > i && j < count[image] &&
                        gd::candidateSuppresses(candBox.data() + image * rois, candLabel.data() + image * rois,
                                                iou_threshold, i, j)) {
                        bits |= 1ull << t;
                    }
                }
                mask[(image * rois + i) * words + word] = bits;
            }
        }
    }
    for (int64_t image = 0; image < batch; ++image) {  // step 4
        gd::greedyWalk(count[image], words, mask.data() + image * rois * words, removed.data(),
                       kept.data() + image * rois);
    }
    for (int64_t i = 0; i < items; ++i) {  // step 5
        gathered[i] = gd::gatherKey(candScore.data(), kept.data(), count.data(), s, i / rois,
                                    static_cast<int32_t>(i % rois));
    }
    for (int64_t image = 0; image < batch; ++image) {
        std::stable_sort(gathered.begin() + image * rois, gathered.begin() + (image + 1) * rois);
    }
    for (int64_t image = 0; image < batch; ++image) {  // step 6
        gd::writeRows(gathered.data(), candScore.data(), candLabel.data(), candBox.data(), kept.data(), count.data(),
                      invalid.data(), s, image, detections);
    }
    return std::find(invalid.begin(), invalid.end(), 1) == invalid.end() ? TAOSTREAM_HOST_OK
                                                                         : TAOSTREAM_HOST_NON_FINITE;
}
