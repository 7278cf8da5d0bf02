// The per-class NMS of BatchedNMS and NMS on the GPU; see perClassNmsDevice.h. Each kernel is one
// step function of perClassNmsSteps.h per thread (the host emulation, perClassNmsEmulation.h, calls the
// same functions in the same order), the sorts are cub::DeviceSegmentedRadixSort::SortKeys on distinct
// 64-bit keys. Built with --fmad=false so the IoU rounds as on the host.
#include "perClassNmsDevice.h"

#include <algorithm>
#include <climits>

#include "deviceWorkspace.cuh"
#include "suppressionMask.cuh"

namespace taostream {
namespace nms {
namespace {

using device::kThreads;
using device::kMaxGridYZ;
using device::blocksFor;

struct Layout {
    bool fits{false};
    int64_t segments{0}, items{0}, slots{0}, chunk{0};
    int32_t k{0}, words{0};
    size_t tempBytes{0};
    size_t nonFinite{0}, offsets{0}, mergeOffsets{0}, keysIn{0}, keysOut{0}, count{0}, mask{0}, removed{0},
        keptCount{0}, keptPrior{0}, mergeIn{0}, mergeOut{0}, temp{0}, total{0};
};

Layout layoutFor(const PerClassShape& s) {
    Layout l;
    l.segments = int64_t{s.batch} * s.numClasses;
    l.items = l.segments * s.numBoxes;
    l.k = candidateLimit(s);
    l.words = maskWords(l.k);
    l.slots = int64_t{s.batch} * s.numClasses * l.k;
    if (s.batch < 0 || s.numBoxes < 0 || s.numClasses <= 0 || l.items > INT_MAX || l.slots > INT_MAX ||
        l.segments >= INT_MAX || s.topK > kMaxGridYZ) {  // topK, not K: the same answer for every batch
        return l;
    }
    const size_t segmentMask = size_t(l.k) * l.words * sizeof(unsigned long long);
    l.chunk = device::maskChunk(l.segments, segmentMask);  // the masks of `chunk` segments at a time
    if (l.items > 0 && l.k > 0) {
        size_t candidates = 0, merge = 0;
        if (!device::segmentedSortBytes(l.items, l.segments, &candidates) ||
            !device::segmentedSortBytes(l.slots, s.batch, &merge)) {
            return l;
        }
        l.tempBytes = std::max(candidates, merge);
    }
    device::WorkspaceCarver take;
    l.nonFinite = take(sizeof(int32_t) * s.batch);
    l.offsets = take(sizeof(int) * (l.segments + 1));
    l.mergeOffsets = take(sizeof(int) * (s.batch + 1));
    l.keysIn = take(sizeof(uint64_t) * l.items);
    l.keysOut = take(sizeof(uint64_t) * l.items);
    l.count = take(sizeof(int32_t) * l.segments);
    l.mask = take(segmentMask * l.chunk);
    l.removed = take(sizeof(unsigned long long) * l.words * l.chunk);
    l.keptCount = take(sizeof(int32_t) * l.segments);
    l.keptPrior = take(sizeof(int32_t) * l.segments * l.k);
    l.mergeIn = take(sizeof(uint64_t) * l.slots);
    l.mergeOut = take(sizeof(uint64_t) * l.slots);
    l.temp = take(l.tempBytes);
    l.total = take.total();
    l.fits = true;
    return l;
}

__global__ void nonFiniteKernel(PerClassShape s, const float* __restrict__ boxes, const float* __restrict__ scores,
                                int32_t* __restrict__ nonFinite) {
    const int64_t image = blockIdx.x;
    const int64_t boxValues = int64_t{s.numBoxes} * s.locClasses * 4, scoreValues = int64_t{s.numBoxes} * s.numClasses;
    bool bad = false;
    for (int64_t i = threadIdx.x; i < boxValues; i += blockDim.x) bad |= !finiteValue(boxes[image * boxValues + i]);
    for (int64_t i = threadIdx.x; i < scoreValues; i += blockDim.x) bad |= !finiteValue(scores[image * scoreValues + i]);
    bad = __syncthreads_or(bad);
    if (threadIdx.x == 0) nonFinite[image] = bad ? 1 : 0;
}

__global__ void candidateKeysKernel(PerClassShape s, int64_t items, const float* __restrict__ scores,
                                    uint64_t* __restrict__ keys) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < items) keys[i] = classCandidateKey(scores, s, i / s.numBoxes, static_cast<int32_t>(i % s.numBoxes));
}

__global__ void candidateCountKernel(PerClassShape s, int64_t segments, const uint64_t* __restrict__ sorted,
                                     const float* __restrict__ scores, const int32_t* __restrict__ nonFinite,
                                     int32_t* __restrict__ count) {
    const int64_t segment = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (segment >= segments) return;
    count[segment] = candidateCount(sorted + segment * s.numBoxes, scores, s, segment,
                                    nonFinite[segment / s.numClasses] == 0);
}

// grid (words, K, segments of the chunk), 64 threads
__global__ void maskKernel(PerClassShape s, int64_t firstSegment, int words, const float* __restrict__ boxes,
                           const uint64_t* __restrict__ sorted, const int32_t* __restrict__ count,
                           unsigned long long* __restrict__ mask) {
    const int64_t segment = firstSegment + blockIdx.z;
    const uint64_t* keys = sorted + segment * s.numBoxes;
    suppressionMaskWordStrided(
        count[segment], words, [=](int i, int j) { return candidateSuppresses(boxes, keys, s, segment, i, j); },
        mask + static_cast<int64_t>(blockIdx.z) * gridDim.y * words);
}

__global__ void walkKernel(PerClassShape s, int64_t firstSegment, int64_t chunk, int words,
                           const uint64_t* __restrict__ sorted, const int32_t* __restrict__ count,
                           const unsigned long long* __restrict__ mask, unsigned long long* __restrict__ removed,
                           int32_t* __restrict__ keptPrior, int32_t* __restrict__ keptCount) {
    const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= chunk) return;
    const int64_t segment = firstSegment + c;
    const int32_t k = candidateLimit(s);
    keptCount[segment] = greedyWalk(count[segment], words, mask + c * k * words, removed + c * words,
                                    sorted + segment * s.numBoxes, keptPrior + segment * k);
}

__global__ void mergeKeysKernel(PerClassShape s, int64_t slots, const float* __restrict__ scores,
                                const int32_t* __restrict__ keptCount, const int32_t* __restrict__ keptPrior,
                                uint64_t* __restrict__ keys) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= slots) return;
    const int64_t perImage = int64_t{s.numClasses} * candidateLimit(s);
    keys[i] = mergeKey(scores, keptCount, keptPrior, s, i / perImage, static_cast<int32_t>(i % perImage));
}

}  // namespace

size_t perClassNmsWorkspaceSize(const PerClassShape& s) {
    const Layout l = device::cachedLayout(s, layoutFor);
    return l.fits ? l.total : 0;
}

int perClassNmsDevice(const PerClassShape& s, const float* boxes, const float* scores, void* workspace,
                      cudaStream_t stream, PerClassDeviceResult* result) {
    const Layout l = device::cachedLayout(s, layoutFor);
    if (!l.fits || workspace == nullptr) return static_cast<int>(cudaErrorInvalidValue);
    char* base = static_cast<char*>(workspace);
    auto* nonFinite = reinterpret_cast<int32_t*>(base + l.nonFinite);
    auto* offsets = reinterpret_cast<int*>(base + l.offsets);
    auto* mergeOffsets = reinterpret_cast<int*>(base + l.mergeOffsets);
    auto* keysIn = reinterpret_cast<uint64_t*>(base + l.keysIn);
    auto* keysOut = reinterpret_cast<uint64_t*>(base + l.keysOut);
    auto* count = reinterpret_cast<int32_t*>(base + l.count);
    auto* mask = reinterpret_cast<unsigned long long*>(base + l.mask);
    auto* removed = reinterpret_cast<unsigned long long*>(base + l.removed);
    auto* keptCount = reinterpret_cast<int32_t*>(base + l.keptCount);
    auto* keptPrior = reinterpret_cast<int32_t*>(base + l.keptPrior);
    auto* mergeIn = reinterpret_cast<uint64_t*>(base + l.mergeIn);
    auto* mergeOut = reinterpret_cast<uint64_t*>(base + l.mergeOut);
    *result = PerClassDeviceResult{nonFinite, keptCount, keptPrior, mergeOut};
    if (s.batch == 0) return 0;
    nonFiniteKernel<<<s.batch, kThreads, 0, stream>>>(s, boxes, scores, nonFinite);
    if (l.k == 0) {  // no boxes: no candidates, no detections
        return static_cast<int>(cudaMemsetAsync(keptCount, 0, sizeof(int32_t) * l.segments, stream));
    }
    device::segmentOffsets(l.segments + 1, s.numBoxes, offsets, stream);
    device::segmentOffsets(int64_t{s.batch} + 1, static_cast<int>(l.slots / s.batch), mergeOffsets, stream);
    candidateKeysKernel<<<blocksFor(l.items), kThreads, 0, stream>>>(s, l.items, scores, keysIn);
    size_t tempBytes = l.tempBytes;
    cudaError_t status = device::sortKeys64(base + l.temp, tempBytes, keysIn, keysOut, l.items, l.segments,
                                                  offsets, offsets + 1, stream);
    if (status != cudaSuccess) return static_cast<int>(status);
    candidateCountKernel<<<blocksFor(l.segments), kThreads, 0, stream>>>(s, l.segments, keysOut, scores, nonFinite,
                                                                          count);
    for (int64_t first = 0; first < l.segments; first += l.chunk) {
        const int64_t chunk = std::min(l.chunk, l.segments - first);
        const dim3 grid(static_cast<unsigned>(l.words), static_cast<unsigned>(l.k), static_cast<unsigned>(chunk));
        maskKernel<<<grid, 64, 0, stream>>>(s, first, l.words, boxes, keysOut, count, mask);
        walkKernel<<<static_cast<unsigned>((chunk + 63) / 64), 64, 0, stream>>>(s, first, chunk, l.words, keysOut,
                                                                                count, mask, removed, keptPrior,
                                                                                keptCount);
    }
    mergeKeysKernel<<<blocksFor(l.slots), kThreads, 0, stream>>>(s, l.slots, scores, keptCount, keptPrior, mergeIn);
    tempBytes = l.tempBytes;
    status = device::sortKeys64(base + l.temp, tempBytes, mergeIn, mergeOut, l.slots, s.batch, mergeOffsets,
                                mergeOffsets + 1, stream);
    if (status != cudaSuccess) return static_cast<int>(status);
    return static_cast<int>(cudaGetLastError());
}

}  // namespace nms
}  // namespace taostream
