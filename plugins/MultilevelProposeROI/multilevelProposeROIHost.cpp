// MultilevelProposeROI_TRT on the host; see multilevelProposeROIHost.h and README.md.
#include "multilevelProposeROIHost.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../common/maskRCNNRefineHost.h"
#include "multilevelProposeROISteps.h"

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

// The GPU path (multilevelProposeROIKernels.cu) emulated: multilevelProposeROISteps.h's steps in the
// kernels' order, each CUB segmented sort by std::stable_sort on the same keys. An image with a NaN or
// infinite input gets zero rois (the plugin's output for it); returns TAOSTREAM_HOST_NON_FINITE when one
// had.
int taostream_multilevel_propose_roi_emulated(int32_t batch, int32_t height, int32_t width, int32_t prenms_topk,
                                              int32_t keep_topk, float fg_threshold, float iou_threshold,
                                              const float* const* deltas, const float* const* scores,
                                              const int64_t* counts, float* rois) {
    if (batch < 0 || height <= 0 || width <= 0 || prenms_topk <= 0 || prenms_topk > mr::kMaxPreNmsTopK ||
        keep_topk <= 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    int64_t expected[mr::kLevels];
    taostream_mrcnn_level_anchor_counts(height, width, expected);
    mr::ProposeRoiShape s{batch, height, width, prenms_topk, keep_topk, fg_threshold, iou_threshold,
                          static_cast<float>(std::log(1000.0 / 16.0)), {}, {}};
    mr::ProposeRoiInputs in{};
    for (int l = 0; l < mr::kLevels; ++l) {
        if (counts[l] != expected[l]) return TAOSTREAM_HOST_BAD_ARGUMENT;
        s.anchors[l] = counts[l];
        s.first[l + 1] = s.first[l] + counts[l];
        in.deltas[l] = deltas[l];
        in.scores[l] = scores[l];
    }
    const int64_t total = s.first[mr::kLevels];
    const int32_t words = (prenms_topk + 63) / 64;
    const int64_t rows = int64_t{mr::kLevels} * keep_topk;
    std::vector<uint64_t> sortedA(total), sortedB(prenms_topk), sortedC(prenms_topk), sortedD(rows);
    std::vector<float> sampleScores(prenms_topk), candScores(prenms_topk), rowScores(int64_t{batch} * rows);
    std::vector<Box> sampleBoxes(prenms_topk), candBoxes(prenms_topk), rowBoxes(int64_t{batch} * rows);
    std::vector<unsigned long long> mask(static_cast<size_t>(prenms_topk) * words), removed(words);
    std::vector<uint8_t> kept(prenms_topk);
    bool allValid = true;
    for (int32_t image = 0; image < batch; ++image) {
        const bool valid = mr::imageInputsFinite(in, s, image, 0, 1);  // step 0
        allValid = allValid && valid;
        for (int64_t k = 0; k < total; ++k) sortedA[k] = mr::anchorKey(in, s, image, k);  // step 1
        for (int l = 0; l < mr::kLevels; ++l) {  // sort A, one segment per level
            std::stable_sort(sortedA.begin() + s.first[l], sortedA.begin() + s.first[l + 1]);
        }
        for (int l = 0; l < mr::kLevels; ++l) {
            const int64_t segment = int64_t{image} * mr::kLevels + l;
            for (int32_t i = 0; i < prenms_topk; ++i) {  // step 2
                sortedB[i] = mr::sampleAt(in, s, sortedA.data(), segment, i, &sampleScores[i], &sampleBoxes[i]);
            }
            std::stable_sort(sortedB.begin(), sortedB.end());  // sort B
            const int32_t count = mr::candidateCount(sortedB.data(), s);  // step 3
            for (int32_t r = 0; r < count; ++r) {  // step 4
                mr::candidateAt(sortedB.data(), sampleScores.data(), sampleBoxes.data(), r, &candScores[r],
                                &candBoxes[r]);
            }
            std::fill(mask.begin(), mask.end(), 0ull);  // step 5: the mask kernel's bits
            for (int32_t i = 0; i < count; ++i) {
                for (int32_t j = i + 1; j < count; ++j) {
                    if (mr::candidateSuppresses(candBoxes.data(), s, i, j)) {
                        mask[static_cast<size_t>(i) * words + j / 64] |= 1ull << (j % 64);
                    }
                }
            }
            mr::greedyKeep(count, words, mask.data(), removed.data(), kept.data());  // step 6
            for (int32_t p = 0; p < prenms_topk; ++p) {  // step 7
                sortedC[p] = mr::gatherKey(candScores.data(), kept.data(), count, p);
            }
            std::stable_sort(sortedC.begin(), sortedC.end());  // sort C
            mr::levelRows(sortedC.data(), candScores.data(), candBoxes.data(), kept.data(), count, s,  // step 8
                          rowScores.data() + segment * keep_topk, rowBoxes.data() + segment * keep_topk);
        }
        for (int64_t t = 0; t < rows; ++t) sortedD[t] = mr::rowKey(rowScores.data(), s, image, static_cast<int32_t>(t));
        std::stable_sort(sortedD.begin(), sortedD.end());  // sort D
        for (int32_t k = 0; k < keep_topk; ++k) {  // step 10
            mr::roiAt(sortedD.data(), rowBoxes.data(), s, image, k, valid, rois);
        }
    }
    return allValid ? TAOSTREAM_HOST_OK : TAOSTREAM_HOST_NON_FINITE;
}

}  // extern "C"
