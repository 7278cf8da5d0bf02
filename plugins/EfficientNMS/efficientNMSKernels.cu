// EfficientNMS_TRT on the GPU, the whole op, device-resident (no host copy, no stream wait): each kernel
// runs one step of efficientNMSSteps.h per thread (the host emulation, taostream_efficient_nms_emulated,
// runs the same steps in the same order), the candidate sort is cub::DeviceSegmentedRadixSort::SortKeys
// on distinct 64-bit keys, the greedy walk is one thread per image over the suppression words of
// ../common/suppressionMask.cuh. Built with --fmad=false so the decoder and IoU round as on the host.
// Compiled for every architecture and emulated on the host; never run on a GPU.
#include "efficientNMSKernels.h"

#include <algorithm>
#include <climits>

#include "../common/deviceWorkspace.cuh"
#include "../common/suppressionMask.cuh"

namespace taostream {
namespace efficient {
namespace {

using device::kThreads;
using device::kMaxGridYZ;
using device::blocksFor;

struct Layout {
    bool fits{false};
    int64_t elements{0}, items{0}, chunk{0};
    int32_t limit{0}, words{0}, keptSlots{0};
    size_t tempBytes{0};
    size_t invalid{0}, offsets{0}, keysIn{0}, keysOut{0}, count{0}, corners{0}, classes{0}, finite{0}, mask{0},
        removed{0}, kept{0}, keptCount{0}, temp{0}, total{0};
};

Layout layoutFor(const EfficientShape& s) {
    Layout l;
    l.elements = int64_t{s.anchors} * s.classes;
    l.items = l.elements * s.batch;
    l.limit = candidateLimit(s);
    l.words = (l.limit + 63) / 64;
    l.keptSlots = std::min(l.limit, s.maxOutput);
    // maxCandidates, not the limit: the same answer for every batch and anchor count
    if (s.batch < 0 || s.anchors < 0 || s.classes <= 0 || l.items > INT_MAX || s.maxCandidates > kMaxGridYZ ||
        s.maxOutput <= 0) {
        return l;
    }
    const size_t imageMask = size_t(l.limit) * l.words * sizeof(unsigned long long);
    l.chunk = device::maskChunk(s.batch, imageMask);  // the masks of `chunk` images at a time
    if (!device::segmentedSortBytes(l.items, s.batch, &l.tempBytes)) return l;
    device::WorkspaceCarver take;
    const int64_t candidates = int64_t{s.batch} * l.limit;
    l.invalid = take(sizeof(int32_t) * s.batch);
    l.offsets = take(sizeof(int) * (int64_t{s.batch} + 1));
    l.keysIn = take(sizeof(uint64_t) * l.items);
    l.keysOut = take(sizeof(uint64_t) * l.items);
    l.count = take(sizeof(int32_t) * s.batch);
    l.corners = take(sizeof(float) * 4 * candidates);
    l.classes = take(sizeof(int32_t) * candidates);
    l.finite = take(sizeof(uint8_t) * candidates);
    l.mask = take(imageMask * l.chunk);
    l.removed = take(sizeof(unsigned long long) * l.words * l.chunk);
    l.kept = take(sizeof(int32_t) * s.batch * l.keptSlots);
    l.keptCount = take(sizeof(int32_t) * s.batch);
    l.temp = take(l.tempBytes);
    l.total = take.total();
    l.fits = true;
    return l;
}

__global__ void validKernel(EfficientShape s, const float* __restrict__ boxes, const float* __restrict__ scores,
                            const float* __restrict__ anchors, int32_t* __restrict__ invalid) {
    const bool valid = __syncthreads_and(imageInputsValid(boxes, scores, anchors, s, blockIdx.x, threadIdx.x,
                                                          blockDim.x));
    if (threadIdx.x == 0) invalid[blockIdx.x] = valid ? 0 : 1;
}

__global__ void keysKernel(EfficientShape s, int64_t items, int64_t elements, const float* __restrict__ scores,
                           uint64_t* __restrict__ keys) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < items) keys[i] = elementKey(scores, s, i / elements, i % elements);
}

__global__ void countKernel(EfficientShape s, int64_t elements, const uint64_t* __restrict__ sorted,
                            int32_t* __restrict__ count) {
    const int64_t image = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (image < s.batch) count[image] = candidateCount(sorted + image * elements, s);
}

__global__ void decodeKernel(EfficientShape s, int64_t elements, int32_t limit, const uint64_t* __restrict__ sorted,
                             const int32_t* __restrict__ count, const float* __restrict__ boxes,
                             const float* __restrict__ anchors, float* __restrict__ corners,
                             int32_t* __restrict__ classes, uint8_t* __restrict__ finite) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t image = i / limit;
    const int32_t r = static_cast<int32_t>(i % limit);
    if (image >= s.batch || r >= count[image]) return;
    finite[i] = decodeCandidate(sorted + image * elements, boxes, anchors, s, image, r, corners + 4 * i, classes + i)
                    ? 1
                    : 0;
}

// grid (words, limit, images of the chunk), 64 threads
__global__ void maskKernel(EfficientShape s, int64_t firstImage, int32_t limit, int32_t words,
                           const int32_t* __restrict__ count, const float* __restrict__ corners,
                           const int32_t* __restrict__ classes, unsigned long long* __restrict__ mask) {
    const int64_t image = firstImage + blockIdx.z;
    const float* imageCorners = corners + image * limit * 4;
    const int32_t* imageClasses = classes + image * limit;
    suppressionMaskWordStrided(
        count[image], words, [=](int i, int j) { return candidateSuppresses(imageCorners, imageClasses, s, i, j); },
        mask + static_cast<int64_t>(blockIdx.z) * limit * words);
}

__global__ void walkKernel(EfficientShape s, int64_t firstImage, int64_t chunk, int32_t limit, int32_t words,
                           int32_t keptSlots, const int32_t* __restrict__ count,
                           const unsigned long long* __restrict__ mask, const uint8_t* __restrict__ finite,
                           unsigned long long* __restrict__ removed, int32_t* __restrict__ kept,
                           int32_t* __restrict__ keptCount, int32_t* __restrict__ invalid) {
    const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= chunk) return;
    const int64_t image = firstImage + c;
    if (invalid[image] != 0) {
        keptCount[image] = 0;
        return;
    }
    bool valid = true;
    keptCount[image] = greedyWalk(count[image], words, mask + c * limit * words, finite + image * limit, s,
                                  removed + c * words, kept + image * keptSlots, &valid);
    if (!valid) invalid[image] = 1;
}

__global__ void outputKernel(EfficientShape s, int64_t elements, int32_t limit, int32_t keptSlots,
                             const uint64_t* __restrict__ sorted, const float* __restrict__ scores,
                             const float* __restrict__ corners, const int32_t* __restrict__ classes,
                             const int32_t* __restrict__ kept, const int32_t* __restrict__ keptCount,
                             int32_t* __restrict__ num, float* __restrict__ outBoxes, float* __restrict__ outScores,
                             int32_t* __restrict__ outClasses) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= int64_t{s.batch} * s.maxOutput) return;
    const int64_t image = i / s.maxOutput;
    outputRow(sorted + image * elements, scores, corners + image * limit * 4, classes + image * limit,
              kept + image * keptSlots, keptCount[image], s, image, static_cast<int32_t>(i % s.maxOutput), num,
              outBoxes, outScores, outClasses);
}

}  // namespace

size_t efficientNmsWorkspaceSize(const EfficientShape& s) {
    const Layout l = device::cachedLayout(s, layoutFor);
    return l.fits ? l.total : 0;
}

int efficientNmsDevice(const EfficientShape& s, const float* boxes, const float* scores, const float* anchors,
                       void* workspace, cudaStream_t stream, int32_t* num, float* outBoxes, float* outScores,
                       int32_t* outClasses, const int32_t** invalidFlags) {
    const Layout l = device::cachedLayout(s, layoutFor);
    if (!l.fits || workspace == nullptr) return static_cast<int>(cudaErrorInvalidValue);
    char* base = static_cast<char*>(workspace);
    auto* invalid = reinterpret_cast<int32_t*>(base + l.invalid);
    auto* offsets = reinterpret_cast<int*>(base + l.offsets);
    auto* keysIn = reinterpret_cast<uint64_t*>(base + l.keysIn);
    auto* keysOut = reinterpret_cast<uint64_t*>(base + l.keysOut);
    auto* count = reinterpret_cast<int32_t*>(base + l.count);
    auto* corners = reinterpret_cast<float*>(base + l.corners);
    auto* classes = reinterpret_cast<int32_t*>(base + l.classes);
    auto* finite = reinterpret_cast<uint8_t*>(base + l.finite);
    auto* mask = reinterpret_cast<unsigned long long*>(base + l.mask);
    auto* removed = reinterpret_cast<unsigned long long*>(base + l.removed);
    auto* kept = reinterpret_cast<int32_t*>(base + l.kept);
    auto* keptCount = reinterpret_cast<int32_t*>(base + l.keptCount);
    *invalidFlags = invalid;
    if (s.batch == 0) return 0;
    validKernel<<<s.batch, kThreads, 0, stream>>>(s, boxes, scores, anchors, invalid);
    if (l.items == 0) {  // no anchors: no candidates
        cudaMemsetAsync(count, 0, sizeof(int32_t) * s.batch, stream);
        cudaMemsetAsync(keptCount, 0, sizeof(int32_t) * s.batch, stream);
    } else {
        device::segmentOffsets(int64_t{s.batch} + 1, l.elements, offsets, stream);
        keysKernel<<<blocksFor(l.items), kThreads, 0, stream>>>(s, l.items, l.elements, scores, keysIn);
        size_t tempBytes = l.tempBytes;
        const cudaError_t status = device::sortKeys64(
            base + l.temp, tempBytes, keysIn, keysOut, l.items, s.batch, offsets, offsets + 1, stream);
        if (status != cudaSuccess) return static_cast<int>(status);
        countKernel<<<blocksFor(s.batch), kThreads, 0, stream>>>(s, l.elements, keysOut, count);
        decodeKernel<<<blocksFor(int64_t{s.batch} * l.limit), kThreads, 0, stream>>>(
            s, l.elements, l.limit, keysOut, count, boxes, anchors, corners, classes, finite);
        for (int64_t first = 0; first < s.batch; first += l.chunk) {
            const int64_t chunk = std::min<int64_t>(l.chunk, s.batch - first);
            const dim3 grid(static_cast<unsigned>(l.words), static_cast<unsigned>(l.limit),
                            static_cast<unsigned>(chunk));
            maskKernel<<<grid, 64, 0, stream>>>(s, first, l.limit, l.words, count, corners, classes, mask);
            walkKernel<<<static_cast<unsigned>((chunk + 63) / 64), 64, 0, stream>>>(
                s, first, chunk, l.limit, l.words, l.keptSlots, count, mask, finite, removed, kept, keptCount,
                invalid);
        }
    }
    outputKernel<<<blocksFor(int64_t{s.batch} * s.maxOutput), kThreads, 0, stream>>>(
        s, l.elements, l.limit, l.keptSlots, keysOut, scores, corners, classes, kept, keptCount, num, outBoxes,
        outScores, outClasses);
    return static_cast<int>(cudaGetLastError());
}

}  // namespace efficient
}  // namespace taostream
