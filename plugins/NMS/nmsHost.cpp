// NMS(Dynamic)_TRT on the host; see nmsHost.h and README.md.
#include "nmsHost.h"

#include <vector>

#include "../common/ssdDecode.h"
#include "../common/perClassNmsEmulation.h"
#include "nmsDetections.h"
#include "nmsRows.h"

namespace nms = taostream::nms;

extern "C" int taostream_nms(int32_t batch, int32_t num_priors, int32_t num_classes, int32_t prior_batch,
                             int32_t share_location, int32_t background_label_id, int32_t top_k, int32_t keep_top_k,
                             float score_threshold, float iou_threshold, int32_t is_normalized, int32_t conf_sigmoid,
                             int32_t variance_encoded_in_target, int32_t code_type, const float* loc,
                             const float* conf, const float* priors, float* detections, int32_t* counts) {
    if (batch < 0 || num_priors <= 0 || num_classes <= 0 || top_k <= 0 || keep_top_k <= 0 ||
        (prior_batch != 1 && prior_batch != batch) || code_type < 0 || code_type > 3) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int32_t locClasses = share_location ? 1 : num_classes;
    if (!nms::allFinite(loc, int64_t{batch} * num_priors * locClasses * 4) ||
        !nms::allFinite(conf, int64_t{batch} * num_priors * num_classes) ||
        !nms::allFinite(priors, int64_t{prior_batch} * 2 * num_priors * 4)) {
        return TAOSTREAM_HOST_NON_FINITE;
    }
    const nms::PerClassFields fields{num_priors, locClasses, num_classes, share_location != 0, background_label_id,
                                     top_k,      keep_top_k, score_threshold, iou_threshold, is_normalized != 0,
                                     true};
    std::vector<float> boxes(static_cast<size_t>(num_priors) * locClasses * 4);
    std::vector<float> scores(static_cast<size_t>(num_priors) * num_classes);
    for (int32_t image = 0; image < batch; ++image) {
        const float* imageLoc = loc + int64_t{image} * num_priors * locClasses * 4;
        const float* imageConf = conf + int64_t{image} * num_priors * num_classes;
        const float* imagePriors = priors + (prior_batch == 1 ? 0 : int64_t{image} * 2 * num_priors * 4);
        for (int64_t p = 0; p < num_priors; ++p) {
            const float* pb = imagePriors + p * 4;
            const float* var = imagePriors + (int64_t{num_priors} + p) * 4;
            for (int64_t c = 0; c < locClasses; ++c) {
                nms::decodeSsdBox(imageLoc + (p * locClasses + c) * 4, pb, var, code_type,
                                  variance_encoded_in_target != 0, boxes.data() + (p * locClasses + c) * 4);
            }
        }
        for (int64_t i = 0; i < int64_t{num_priors} * num_classes; ++i) {
            scores[i] = conf_sigmoid ? nms::sigmoidF32(imageConf[i]) : imageConf[i];
        }
        counts[image] = nms::writeNmsDetections(image, boxes.data(), scores.data(), fields,
                                                detections + int64_t{image} * keep_top_k * 7);
    }
    return TAOSTREAM_HOST_OK;
}

extern "C" int taostream_nms_emulated(int32_t batch, int32_t num_priors, int32_t num_classes, int32_t prior_batch,
                                      int32_t share_location, int32_t background_label_id, int32_t top_k,
                                      int32_t keep_top_k, float score_threshold, float iou_threshold,
                                      int32_t is_normalized, int32_t conf_sigmoid, int32_t variance_encoded_in_target,
                                      int32_t code_type, const float* loc, const float* conf, const float* priors,
                                      float* detections, int32_t* counts) {
    if (batch < 0 || num_priors <= 0 || num_classes <= 0 || top_k <= 0 || keep_top_k <= 0 ||
        (prior_batch != 1 && prior_batch != batch) || code_type < 0 || code_type > 3) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const int32_t locClasses = share_location ? 1 : num_classes;
    const int64_t boxValues = int64_t{num_priors} * locClasses * 4, scoreValues = int64_t{num_priors} * num_classes;
    // the decode kernel (one thread per (prior, location class)) and the sigmoid kernel, per image
    std::vector<float> boxes(static_cast<size_t>(batch * boxValues)), scores(conf, conf + batch * scoreValues);
    for (int32_t image = 0; image < batch; ++image) {
        const float* imagePriors = priors + (prior_batch == 1 ? 0 : int64_t{image} * 2 * num_priors * 4);
        for (int64_t i = 0; i < int64_t{num_priors} * locClasses; ++i) {
            const int64_t prior = i / locClasses;
            nms::decodeSsdBox(loc + image * boxValues + 4 * i, imagePriors + 4 * prior,
                              imagePriors + 4 * (num_priors + prior), code_type, variance_encoded_in_target != 0,
                              boxes.data() + image * boxValues + 4 * i);
        }
    }
    if (conf_sigmoid) {
        for (float& v : scores) v = nms::sigmoidF32(v);
    }
    const nms::PerClassShape shape{batch,          num_priors, num_classes,     locClasses,         share_location != 0,
                                   background_label_id, top_k, score_threshold, iou_threshold, is_normalized != 0,
                                   true};
    const nms::PerClassEmulation e = nms::emulatePerClassNms(boxes.data(), scores.data(), shape);
    bool allFinite = true;
    for (int32_t image = 0; image < batch; ++image) {
        allFinite = allFinite && e.finite[image] != 0;
        for (int32_t r = 0; r < keep_top_k; ++r) {
            nms::nmsDetectionRow(e.merged.data(), boxes.data(), scores.data(), e.keptCount.data(), e.keptPrior.data(),
                                 shape, keep_top_k, image, r, detections, counts);
        }
    }
    return allFinite ? TAOSTREAM_HOST_OK : TAOSTREAM_HOST_NON_FINITE;
}
