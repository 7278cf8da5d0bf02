// BatchedNMS(Dynamic)_TRT on the host; see batchedNMSHost.h and README.md.
#include "batchedNMSHost.h"

#include <vector>

#include "../common/perClassNmsEmulation.h"
#include "../common/perClassNmsHost.h"
#include "batchedNMSGather.h"

namespace nms = taostream::nms;

extern "C" int taostream_batched_nms(int32_t batch, int32_t num_boxes, int32_t num_classes, int32_t share_location,
                                     int32_t background_label_id, int32_t top_k, int32_t keep_top_k,
                                     float score_threshold, float iou_threshold, int32_t is_normalized,
                                     int32_t caffe_semantics, int32_t clip_boxes, const float* boxes,
                                     const float* scores, int32_t* num, float* out_boxes, float* out_scores,
                                     float* out_classes) {
    if (batch < 0 || num_boxes < 0 || num_classes <= 0 || top_k <= 0 || keep_top_k <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int32_t locClasses = share_location ? 1 : num_classes;
    if (!nms::allFinite(boxes, int64_t{batch} * num_boxes * locClasses * 4) ||
        !nms::allFinite(scores, int64_t{batch} * num_boxes * num_classes)) {
        return TAOSTREAM_HOST_NON_FINITE;
    }
    const nms::PerClassFields fields{num_boxes,      locClasses,    num_classes,   share_location != 0,
                                     background_label_id, top_k, keep_top_k, score_threshold,
                                     iou_threshold,  is_normalized != 0, caffe_semantics != 0};
    for (int32_t image = 0; image < batch; ++image) {
        const float* imageBoxes = boxes + int64_t{image} * num_boxes * locClasses * 4;
        const float* imageScores = scores + int64_t{image} * num_boxes * num_classes;
        const std::vector<nms::Kept> kept = nms::perClassNms(imageBoxes, imageScores, fields);
        const int64_t written = static_cast<int64_t>(kept.size());
        num[image] = static_cast<int32_t>(written);
        float* rowBoxes = out_boxes + int64_t{image} * keep_top_k * 4;
        float* rowScores = out_scores + int64_t{image} * keep_top_k;
        float* rowClasses = out_classes + int64_t{image} * keep_top_k;
        for (int64_t r = 0; r < keep_top_k; ++r) {
            if (r < written) {
                const nms::Kept& k = kept[r];
                const float* box = imageBoxes + (k.prior * locClasses + (share_location ? 0 : k.cls)) * 4;
                for (int c = 0; c < 4; ++c) {
                    rowBoxes[4 * r + c] = clip_boxes ? nms::npMinimum(nms::npMaximum(box[c], 0.0f), 1.0f) : box[c];
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

extern "C" int taostream_batched_nms_emulated(int32_t batch, int32_t num_boxes, int32_t num_classes,
                                              int32_t share_location, int32_t background_label_id, int32_t top_k,
                                              int32_t keep_top_k, float score_threshold, float iou_threshold,
                                              int32_t is_normalized, int32_t caffe_semantics, int32_t clip_boxes,
                                              const float* boxes, const float* scores, int32_t* num,
                                              float* out_boxes, float* out_scores, float* out_classes) {
    if (batch < 0 || num_boxes < 0 || num_classes <= 0 || top_k <= 0 || keep_top_k <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const nms::PerClassShape shape{batch,         num_boxes,       num_classes,         share_location ? 1 : num_classes,
                                   share_location != 0, background_label_id, top_k, score_threshold,
                                   iou_threshold, is_normalized != 0, caffe_semantics != 0};
    const nms::PerClassEmulation e = nms::emulatePerClassNms(boxes, scores, shape);
    bool allFinite = true;
    for (int32_t image = 0; image < batch; ++image) {
        allFinite = allFinite && e.finite[image] != 0;
        for (int32_t r = 0; r < keep_top_k; ++r) {
            nms::batchedNmsRow(e.merged.data(), boxes, scores, e.keptCount.data(), e.keptPrior.data(), shape,
                               keep_top_k, clip_boxes != 0, image, r, num, out_boxes, out_scores, out_classes);
        }
    }
    return allFinite ? TAOSTREAM_HOST_OK : TAOSTREAM_HOST_NON_FINITE;
}
