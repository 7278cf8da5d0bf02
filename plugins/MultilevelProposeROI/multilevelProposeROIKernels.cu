// MultilevelProposeROI_TRT on the GPU, the whole op, device-resident (no host copy, no stream wait):
// each kernel runs one step of multilevelProposeROISteps.h per thread (the host emulation,
// taostream_multilevel_propose_roi_emulated, runs the same steps in the same order). Four
// cub::DeviceSegmentedRadixSort::SortKeys on distinct 64-bit keys: A the anchors of each (image,
// level) by score, B the refine candidates by sort key, C TopKGather's kept scores (ties in CUB's
// blocked order), D the image's 5 x keep_topk level rows; between them the anchor decode, the
// suppression words of ../common/suppressionMask.cuh and a serial greedy walk per (image, level).
// Built with --fmad=false so the decode and IoU round as on the host. Compiled for every architecture
// and emulated on the host; never run on a GPU.
#include "multilevelProposeROIKernels.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "../common/deviceWorkspace.cuh"
#include "../common/suppressionMask.cuh"

namespace taostream {
namespace mrcnn {
namespace {

using device::kThreads;
using device::blocksFor;

struct Layout {
    bool fits{false};
    int64_t segments{0}, itemsA{0}, itemsB{0}, rows{0}, itemsD{0}, chunk{0};
    int32_t words{0};
    size_t tempBytes{0};
    size_t invalid{0}, offsetsA{0}, offsetsB{0}, offsetsD{0}, keysA{0}, sortedA{0}, keysB{0}, sortedB{0},
        sampleScores{0}, sampleBoxes{0}, count{0}, candScores{0}, candBoxes{0}, mask{0}, removed{0}, kept{0},
        keysC{0}, sortedC{0}, rowScores{0}, rowBoxes{0}, keysD{0}, sortedD{0}, temp{0}, total{0};
};

Layout layoutFor(const ProposeRoiShape& s) {
    Layout l;
    l.segments = segmentCount(s);
    l.itemsA = int64_t{s.batch} * s.first[kLevels];
    l.itemsB = l.segments * s.prenms;
    l.rows = int64_t{kLevels} * s.keep;
    l.itemsD = int64_t{s.batch} * l.rows;
    if (s.batch < 0 || s.prenms <= 0 || s.prenms > kMaxPreNmsTopK || s.keep <= 0 || l.itemsA > INT_MAX ||
        l.itemsB > INT_MAX || l.itemsD > INT_MAX || l.segments + 1 > INT_MAX) {
        return l;
    }
    l.words = (s.prenms + 63) / 64;
    const size_t segmentMask = size_t(s.prenms) * l.words * sizeof(unsigned long long);
    l.chunk = device::maskChunk(l.segments, segmentMask);  // the masks of `chunk` segments at a time
    size_t a = 0, b = 0, d = 0;
    if (!device::segmentedSortBytes(l.itemsA, l.segments, &a) ||
        !device::segmentedSortBytes(l.itemsB, l.segments, &b) || !device::segmentedSortBytes(l.itemsD, s.batch, &d)) {
        return l;
    }
    l.tempBytes = std::max({a, b, d});
    device::WorkspaceCarver take;
    l.invalid = take(sizeof(int32_t) * s.batch);
    l.offsetsA = take(sizeof(int) * (l.segments + 1));
    l.offsetsB = take(sizeof(int) * (l.segments + 1));
    l.offsetsD = take(sizeof(int) * (int64_t{s.batch} + 1));
    l.keysA = take(sizeof(uint64_t) * l.itemsA);
    l.sortedA = take(sizeof(uint64_t) * l.itemsA);
    l.keysB = take(sizeof(uint64_t) * l.itemsB);
    l.sortedB = take(sizeof(uint64_t) * l.itemsB);
    l.sampleScores = take(sizeof(float) * l.itemsB);
    l.sampleBoxes = take(sizeof(Box) * l.itemsB);
    l.count = take(sizeof(int32_t) * l.segments);
    l.candScores = take(sizeof(float) * l.itemsB);
    l.candBoxes = take(sizeof(Box) * l.itemsB);
    l.mask = take(segmentMask * l.chunk);
    l.removed = take(sizeof(unsigned long long) * l.words * l.chunk);
    l.kept = take(sizeof(uint8_t) * l.itemsB);
    l.keysC = take(sizeof(uint64_t) * l.itemsB);
    l.sortedC = take(sizeof(uint64_t) * l.itemsB);
    l.rowScores = take(sizeof(float) * l.itemsD);
    l.rowBoxes = take(sizeof(Box) * l.itemsD);
    l.keysD = take(sizeof(uint64_t) * l.itemsD);
    l.sortedD = take(sizeof(uint64_t) * l.itemsD);
    l.temp = take(l.tempBytes);
    l.total = take.total();
    l.fits = true;
    return l;
}

__global__ void validKernel(ProposeRoiShape s, ProposeRoiInputs in, int32_t* __restrict__ invalid) {
    const bool valid = __syncthreads_and(imageInputsFinite(in, s, blockIdx.x, threadIdx.x, blockDim.x));
    if (threadIdx.x == 0) invalid[blockIdx.x] = valid ? 0 : 1;
}

// offsetsA[segment] = the segment's first key (image x all anchors + the level's first); offsetsB and
// offsetsD: uniform strides.
__global__ void offsetsKernel(ProposeRoiShape s, int64_t segments, int* __restrict__ offsetsA,
                              int* __restrict__ offsetsB, int* __restrict__ offsetsD) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i > segments) return;
    const int64_t image = i / kLevels;
    offsetsA[i] = static_cast<int>(image * s.first[kLevels] + s.first[i % kLevels]);
    offsetsB[i] = static_cast<int>(i * s.prenms);
    if (i <= s.batch) offsetsD[i] = static_cast<int>(i * kLevels * s.keep);
}

__global__ void anchorKeysKernel(ProposeRoiShape s, ProposeRoiInputs in, int64_t items,
                                 uint64_t* __restrict__ keys) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < items) keys[i] = anchorKey(in, s, i / s.first[kLevels], i % s.first[kLevels]);
}

__global__ void sampleKernel(ProposeRoiShape s, ProposeRoiInputs in, int64_t items,
                             const uint64_t* __restrict__ sortedA, uint64_t* __restrict__ keys,
                             float* __restrict__ scores, Box* __restrict__ boxes) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= items) return;
    const int64_t segment = i / s.prenms;
    keys[i] = sampleAt(in, s, sortedA + (segment / kLevels) * s.first[kLevels], segment,
                       static_cast<int32_t>(i % s.prenms), scores + i, boxes + i);
}

__global__ void countKernel(ProposeRoiShape s, int64_t segments, const uint64_t* __restrict__ sortedB,
                            int32_t* __restrict__ count) {
    const int64_t segment = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (segment < segments) count[segment] = candidateCount(sortedB + segment * s.prenms, s);
}

__global__ void candidateKernel(ProposeRoiShape s, int64_t items, const uint64_t* __restrict__ sortedB,
                                const int32_t* __restrict__ count, const float* __restrict__ sampleScores,
                                const Box* __restrict__ sampleBoxes, float* __restrict__ candScores,
                                Box* __restrict__ candBoxes) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= items) return;
    const int64_t segment = i / s.prenms, base = segment * s.prenms;
    const int32_t r = static_cast<int32_t>(i % s.prenms);
    if (r >= count[segment]) return;
    candidateAt(sortedB + base, sampleScores + base, sampleBoxes + base, r, candScores + i, candBoxes + i);
}

// grid (words, prenms, segments of the chunk), 64 threads
__global__ void maskKernel(ProposeRoiShape s, int64_t firstSegment, int32_t words, const int32_t* __restrict__ count,
                           const Box* __restrict__ candBoxes, unsigned long long* __restrict__ mask) {
    const int64_t segment = firstSegment + blockIdx.z;
    const Box* boxes = candBoxes + segment * s.prenms;
    suppressionMaskWordStrided(
        count[segment], words, [=](int i, int j) { return candidateSuppresses(boxes, s, i, j); },
        mask + static_cast<int64_t>(blockIdx.z) * s.prenms * words);
}

__global__ void walkKernel(ProposeRoiShape s, int64_t firstSegment, int64_t chunk, int32_t words,
                           const int32_t* __restrict__ count, const unsigned long long* __restrict__ mask,
                           unsigned long long* __restrict__ removed, uint8_t* __restrict__ kept) {
    const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= chunk) return;
    const int64_t segment = firstSegment + c;
    greedyKeep(count[segment], words, mask + c * s.prenms * words, removed + c * words, kept + segment * s.prenms);
}

__global__ void gatherKeysKernel(ProposeRoiShape s, int64_t items, const float* __restrict__ candScores,
                                 const uint8_t* __restrict__ kept, const int32_t* __restrict__ count,
                                 uint64_t* __restrict__ keys) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= items) return;
    const int64_t segment = i / s.prenms, base = segment * s.prenms;
    keys[i] = gatherKey(candScores + base, kept + base, count[segment], static_cast<int32_t>(i % s.prenms));
}

__global__ void levelRowsKernel(ProposeRoiShape s, int64_t segments, const uint64_t* __restrict__ sortedC,
                                const float* __restrict__ candScores, const Box* __restrict__ candBoxes,
                                const uint8_t* __restrict__ kept, const int32_t* __restrict__ count,
                                float* __restrict__ rowScores, Box* __restrict__ rowBoxes) {
    const int64_t segment = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (segment >= segments) return;
    const int64_t base = segment * s.prenms;
    levelRows(sortedC + base, candScores + base, candBoxes + base, kept + base, count[segment], s,
              rowScores + segment * s.keep, rowBoxes + segment * s.keep);
}

__global__ void rowKeysKernel(ProposeRoiShape s, int64_t items, const float* __restrict__ rowScores,
                              uint64_t* __restrict__ keys) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t rows = int64_t{kLevels} * s.keep;
    if (i < items) keys[i] = rowKey(rowScores, s, i / rows, static_cast<int32_t>(i % rows));
}

__global__ void roiKernel(ProposeRoiShape s, const uint64_t* __restrict__ sortedD, const Box* __restrict__ rowBoxes,
                          const int32_t* __restrict__ invalid, float* __restrict__ rois) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= int64_t{s.batch} * s.keep) return;
    const int64_t image = i / s.keep;
    roiAt(sortedD + image * kLevels * s.keep, rowBoxes, s, image, static_cast<int32_t>(i % s.keep),
          invalid[image] == 0, rois);
}

}  // namespace

ProposeRoiShape proposeRoiShape(int32_t batch, int32_t height, int32_t width, int32_t prenms, int32_t keep,
                                float fgThreshold, float iouThreshold) {
    ProposeRoiShape s{batch, height, width, prenms, keep, fgThreshold, iouThreshold,
                      static_cast<float>(std::log(1000.0 / 16.0)), {}, {}};
    for (int l = 0; l < kLevels; ++l) {
        const int level = kMinLevel + l;
        s.anchors[l] = levelCentres(level, height) * levelCentres(level, width) * kRatios;
        s.first[l + 1] = s.first[l] + s.anchors[l];
    }
    return s;
}

size_t proposeRoiWorkspaceSize(const ProposeRoiShape& s) {
    const Layout l = device::cachedLayout(s, layoutFor);
    return l.fits ? l.total : 0;
}

int proposeRoiDevice(const ProposeRoiShape& s, const ProposeRoiInputs& in, void* workspace, cudaStream_t stream,
                     float* rois, const int32_t** invalidFlags) {
    const Layout l = device::cachedLayout(s, layoutFor);
    if (!l.fits || workspace == nullptr) return static_cast<int>(cudaErrorInvalidValue);
    char* base = static_cast<char*>(workspace);
    auto at = [&](size_t offset) { return static_cast<void*>(base + offset); };
    auto* invalid = static_cast<int32_t*>(at(l.invalid));
    auto* offsetsA = static_cast<int*>(at(l.offsetsA));
    auto* offsetsB = static_cast<int*>(at(l.offsetsB));
    auto* offsetsD = static_cast<int*>(at(l.offsetsD));
    auto* keysA = static_cast<uint64_t*>(at(l.keysA));
    auto* sortedA = static_cast<uint64_t*>(at(l.sortedA));
    auto* keysB = static_cast<uint64_t*>(at(l.keysB));
    auto* sortedB = static_cast<uint64_t*>(at(l.sortedB));
    auto* sampleScores = static_cast<float*>(at(l.sampleScores));
    auto* sampleBoxes = static_cast<Box*>(at(l.sampleBoxes));
    auto* count = static_cast<int32_t*>(at(l.count));
    auto* candScores = static_cast<float*>(at(l.candScores));
    auto* candBoxes = static_cast<Box*>(at(l.candBoxes));
    auto* mask = static_cast<unsigned long long*>(at(l.mask));
    auto* removed = static_cast<unsigned long long*>(at(l.removed));
    auto* kept = static_cast<uint8_t*>(at(l.kept));
    auto* keysC = static_cast<uint64_t*>(at(l.keysC));
    auto* sortedC = static_cast<uint64_t*>(at(l.sortedC));
    auto* rowScores = static_cast<float*>(at(l.rowScores));
    auto* rowBoxes = static_cast<Box*>(at(l.rowBoxes));
    auto* keysD = static_cast<uint64_t*>(at(l.keysD));
    auto* sortedD = static_cast<uint64_t*>(at(l.sortedD));
    *invalidFlags = invalid;
    if (s.batch == 0) return 0;
    validKernel<<<s.batch, kThreads, 0, stream>>>(s, in, invalid);
    offsetsKernel<<<blocksFor(l.segments + 1), kThreads, 0, stream>>>(s, l.segments, offsetsA, offsetsB, offsetsD);
    auto sort = [&](const uint64_t* keysIn, uint64_t* keysOut, int64_t items, int64_t segments, const int* offsets) {
        size_t bytes = l.tempBytes;
        return device::sortKeys64(base + l.temp, bytes, keysIn, keysOut, items, segments, offsets, offsets + 1,
                                  stream);
    };
    cudaError_t status = cudaSuccess;
    if (l.itemsA > 0) {  // sort A (an image too small for any anchor has none: every sample the zero row)
        anchorKeysKernel<<<blocksFor(l.itemsA), kThreads, 0, stream>>>(s, in, l.itemsA, keysA);
        if ((status = sort(keysA, sortedA, l.itemsA, l.segments, offsetsA)) != cudaSuccess) return status;
    }
    sampleKernel<<<blocksFor(l.itemsB), kThreads, 0, stream>>>(s, in, l.itemsB, sortedA, keysB, sampleScores,
                                                               sampleBoxes);
    if ((status = sort(keysB, sortedB, l.itemsB, l.segments, offsetsB)) != cudaSuccess) return status;  // B
    countKernel<<<blocksFor(l.segments), kThreads, 0, stream>>>(s, l.segments, sortedB, count);
    candidateKernel<<<blocksFor(l.itemsB), kThreads, 0, stream>>>(s, l.itemsB, sortedB, count, sampleScores,
                                                                  sampleBoxes, candScores, candBoxes);
    for (int64_t first = 0; first < l.segments; first += l.chunk) {
        const int64_t chunk = std::min<int64_t>(l.chunk, l.segments - first);
        const dim3 grid(static_cast<unsigned>(l.words), static_cast<unsigned>(s.prenms), static_cast<unsigned>(chunk));
        maskKernel<<<grid, 64, 0, stream>>>(s, first, l.words, count, candBoxes, mask);
        walkKernel<<<static_cast<unsigned>((chunk + 63) / 64), 64, 0, stream>>>(s, first, chunk, l.words, count, mask,
                                                                                removed, kept);
    }
    gatherKeysKernel<<<blocksFor(l.itemsB), kThreads, 0, stream>>>(s, l.itemsB, candScores, kept, count, keysC);
    if ((status = sort(keysC, sortedC, l.itemsB, l.segments, offsetsB)) != cudaSuccess) return status;  // C
    levelRowsKernel<<<blocksFor(l.segments), kThreads, 0, stream>>>(s, l.segments, sortedC, candScores, candBoxes,
                                                                    kept, count, rowScores, rowBoxes);
    rowKeysKernel<<<blocksFor(l.itemsD), kThreads, 0, stream>>>(s, l.itemsD, rowScores, keysD);
    if ((status = sort(keysD, sortedD, l.itemsD, s.batch, offsetsD)) != cudaSuccess) return status;  // D
    roiKernel<<<blocksFor(int64_t{s.batch} * s.keep), kThreads, 0, stream>>>(s, sortedD, rowBoxes, invalid, rois);
    return static_cast<int>(cudaGetLastError());
}

}  // namespace mrcnn
}  // namespace taostream
