// The host emulation of the GPU per-class NMS (perClassNmsDevice.cu): the same step functions
// (perClassNmsSteps.h) in loops, in the kernels' order, with std::stable_sort on the same 64-bit keys
// standing in for cub::DeviceSegmentedRadixSort::SortKeys (ascending; the keys are distinct, so any
// correct sort gives this order). BatchedNMS's and NMS's host C ABI expose it
// (taostream_batched_nms_emulated, taostream_nms_emulated) so that tests can hold it equal to the host
// implementation (perClassNmsHost.h) byte for byte; the GPU itself has never run it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "perClassNmsSteps.h"

namespace taostream {
namespace nms {

struct PerClassEmulation {
    std::vector<uint8_t> finite;        // per image: 1 when every box and score is finite
    std::vector<int32_t> keptCount;     // per segment
    std::vector<int32_t> keptPrior;     // per segment, K slots
    std::vector<uint64_t> merged;       // per image, numClasses * K sorted merge keys
};

// boxes [batch, numBoxes, locClasses, 4] and scores [batch, numBoxes, numClasses], host memory.
inline PerClassEmulation emulatePerClassNms(const float* boxes, const float* scores, const PerClassShape& s) {
    PerClassEmulation out;
    const int64_t segments = int64_t{s.batch} * s.numClasses;
    const int32_t k = candidateLimit(s), words = maskWords(k);
    // the finite-flag kernel: every value of the image through finiteValue
    const int64_t boxValues = int64_t{s.numBoxes} * s.locClasses * 4, scoreValues = int64_t{s.numBoxes} * s.numClasses;
    out.finite.assign(s.batch, 1);
    for (int32_t image = 0; image < s.batch; ++image) {
        for (int64_t i = 0; i < boxValues; ++i) out.finite[image] &= finiteValue(boxes[image * boxValues + i]) ? 1 : 0;
        for (int64_t i = 0; i < scoreValues; ++i) out.finite[image] &= finiteValue(scores[image * scoreValues + i]) ? 1 : 0;
    }
    out.keptCount.assign(segments, 0);
    out.keptPrior.assign(segments * k, 0);
    if (k == 0) return out;  // no boxes: the device path stops here too (counts zeroed)
    // step 1 and the segmented sort
    std::vector<uint64_t> sorted(segments * s.numBoxes);
    for (int64_t segment = 0; segment < segments; ++segment) {
        uint64_t* keys = sorted.data() + segment * s.numBoxes;
        for (int32_t p = 0; p < s.numBoxes; ++p) keys[p] = classCandidateKey(scores, s, segment, p);
        std::stable_sort(keys, keys + s.numBoxes);
    }
    std::vector<unsigned long long> mask(static_cast<size_t>(k) * words), removed(words);
    for (int64_t segment = 0; segment < segments; ++segment) {
        const uint64_t* keys = sorted.data() + segment * s.numBoxes;
        // step 2
        const int32_t count = candidateCount(keys, scores, s, segment, out.finite[segment / s.numClasses] != 0);
        // step 3: what the mask kernel writes for rows i < count (bits j with i < j < count)
        std::fill(mask.begin(), mask.end(), 0ull);
        for (int32_t i = 0; i < count; ++i) {
            for (int32_t j = i + 1; j < count; ++j) {
                if (candidateSuppresses(boxes, keys, s, segment, i, j)) {
                    mask[static_cast<size_t>(i) * words + j / 64] |= 1ull << (j % 64);
                }
            }
        }
        // step 4
        out.keptCount[segment] = greedyWalk(count, words, mask.data(), removed.data(), keys,
                                            out.keptPrior.data() + segment * k);
    }
    // step 5 and the merge sort, per image
    const int64_t slots = int64_t{s.numClasses} * k;
    out.merged.resize(s.batch * slots);
    for (int32_t image = 0; image < s.batch; ++image) {
        uint64_t* keys = out.merged.data() + image * slots;
        for (int64_t t = 0; t < slots; ++t) {
            keys[t] = mergeKey(scores, out.keptCount.data(), out.keptPrior.data(), s, image, static_cast<int32_t>(t));
        }
        std::stable_sort(keys, keys + slots);
    }
    return out;
}

}  // namespace nms
}  // namespace taostream
