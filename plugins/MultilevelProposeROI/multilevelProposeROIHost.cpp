// MultilevelProposeROI_TRT on the host; see multilevelProposeROIHost.h and README.md.
#include "multilevelProposeROIHost.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../common/maskRCNNRefineHost.h"

namespace {

using taostream::mrcnn::Box;
namespace mr = taostream::mrcnn;

// np.argsort(-score, kind="stable")[:count] for finite scores: only the scores >= the count-th
// largest are sorted.
std::vector<int64_t> topScores(const float* score, int64_t size, int64_t count) {
    std::vector<int64_t> chosen;
    if (count < size) {
        std::vector<float> copy(score, score + size);
        std::nth_element(copy.begin(), copy.begin() + (size - count), copy.end());
        const float kth = copy[size - count];
        for (int64_t i = 0; i < size; ++i) {
            if (score[i] >= kth) chosen.push_back(i);
        }
    } else {
        chosen.resize(size);
        std::iota(chosen.begin(), chosen.end(), 0);
    }
    std::stable_sort(chosen.begin(), chosen.end(), [&](int64_t a, int64_t b) { return score[a] > score[b]; });
    if (static_cast<int64_t>(chosen.size()) > count) chosen.resize(count);
    return chosen;
}

struct LevelRows {
    std::vector<float> scores;  // keep_topk, zero padded
    std::vector<Box> boxes;
};

LevelRows proposeLevel(int level, const float* delta, const float* score, int64_t anchors, int height, int width,
                       int prenms, int keep, float fgThreshold, float iouThreshold) {
    static const float kWeights[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    const float clip = static_cast<float>(std::log(1000.0 / 16.0));
    const int64_t centresX = mr::levelCentres(level, width);
    const std::vector<int64_t> order = topScores(score, anchors, prenms);
    std::vector<float> sampleScore(prenms, 0.0f);
    std::vector<Box> sampleBox(prenms, Box{0.0f, 0.0f, 0.0f, 0.0f});
    for (size_t i = 0; i < order.size(); ++i) {
        const int64_t a = order[i];
        sampleScore[i] = score[a];
        sampleBox[i] = mr::decodeBox(mr::levelAnchor(level, a, centresX), delta + 4 * a, kWeights, clip, height, width);
    }
    std::vector<int64_t> labels(prenms, 0);
    mr::RefineFields fields{1, -1, fgThreshold, iouThreshold, keep, prenms, mr::kProposalGatherThreads, false, 0.0f};
    const std::vector<mr::RefinedRow> rows = mr::refine(sampleScore.data(), labels.data(), sampleBox.data(), fields);
    LevelRows out{std::vector<float>(keep, 0.0f), std::vector<Box>(keep, Box{0.0f, 0.0f, 0.0f, 0.0f})};
    for (size_t r = 0; r < rows.size(); ++r) {
        out.scores[r] = rows[r].score;
        out.boxes[r] = rows[r].box;
    }
    return out;
}

bool allFinite(const float* values, int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
        if (!std::isfinite(values[i])) return false;
    }
    return true;
}

}  // namespace

extern "C" {

int taostream_plugins_host_abi_version(void) { return 4; }  // plugins/host.py ABI_VERSION

void taostream_mrcnn_level_anchor_counts(int32_t height, int32_t width, int64_t* counts) {
    for (int l = 0; l < mr::kLevels; ++l) {
        const int level = mr::kMinLevel + l;
        counts[l] = mr::levelCentres(level, height) * mr::levelCentres(level, width) * mr::kRatios;
    }
}

int taostream_multilevel_propose_roi(int32_t batch, int32_t height, int32_t width, int32_t prenms_topk,
                                     int32_t keep_topk, float fg_threshold, float iou_threshold,
                                     const float* const* deltas, const float* const* scores,
                                     const int64_t* counts, float* rois) {
    if (batch < 0 || height <= 0 || width <= 0 || prenms_topk <= 0 || prenms_topk > mr::kMaxPreNmsTopK ||
        keep_topk <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    int64_t expected[mr::kLevels];
    taostream_mrcnn_level_anchor_counts(height, width, expected);
    for (int l = 0; l < mr::kLevels; ++l) {
        if (counts[l] != expected[l]) return TAOSTREAM_HOST_BAD_ARGUMENT;
        if (!allFinite(deltas[l], int64_t{batch} * counts[l] * 4) || !allFinite(scores[l], int64_t{batch} * counts[l])) {
            return TAOSTREAM_HOST_NON_FINITE;
        }
    }
    for (int32_t image = 0; image < batch; ++image) {
        std::vector<float> allScores;
        std::vector<Box> allBoxes;
        allScores.reserve(static_cast<size_t>(keep_topk) * mr::kLevels);
        allBoxes.reserve(static_cast<size_t>(keep_topk) * mr::kLevels);
        for (int l = 0; l < mr::kLevels; ++l) {
            const int64_t n = counts[l];
            LevelRows rows = proposeLevel(mr::kMinLevel + l, deltas[l] + image * n * 4, scores[l] + image * n, n,
                                          height, width, prenms_topk, keep_topk, fg_threshold, iou_threshold);
            allScores.insert(allScores.end(), rows.scores.begin(), rows.scores.end());
            allBoxes.insert(allBoxes.end(), rows.boxes.begin(), rows.boxes.end());
        }
        std::vector<int64_t> order(allScores.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return allScores[a] > allScores[b]; });
        float* out = rois + static_cast<int64_t>(image) * keep_topk * 4;
        for (int32_t k = 0; k < keep_topk; ++k) {
            const Box& b = allBoxes[order[k]];
            out[4 * k] = b.y1;
            out[4 * k + 1] = b.x1;
            out[4 * k + 2] = b.y2;
            out[4 * k + 3] = b.x2;
        }
    }
    return TAOSTREAM_HOST_OK;
}

}  // extern "C"
