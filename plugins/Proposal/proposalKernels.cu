// Proposal / ProposalDynamic on the GPU, the whole op, device-resident (no host copy, no stream wait):
// each kernel runs one step of proposalSteps.h per thread (the host emulation,
// taostream_proposal_emulated, runs the same steps in the same order): the anchor decode with the sort
// key of each box's score, cub::DeviceSegmentedRadixSort::SortKeys on the distinct 64-bit keys (one
// segment per image), the sorted candidates' boxes, the +1-pixel IoU suppression words of
// ../common/suppressionMask.cuh, the greedy walk (one thread per image) and one thread per roi row.
// Built with --fmad=false so each operation rounds as on the host. Compiled for every architecture and
// emulated on the host; never run on a GPU.
#include "proposalKernels.h"

#include <algorithm>
#include <climits>

#include "../common/deviceWorkspace.cuh"
#include "../common/suppressionMask.cuh"

namespace taostream {
namespace frcnn {
namespace {

using device::kThreads;
using device::kMaxGridYZ;
using device::blocksFor;

struct Layout {
    bool fits{false};
    int64_t count{0}, items{0}, chunk{0};
    int32_t limit{0}, words{0}, keptSlots{0};
    size_t tempBytes{0};
    size_t invalid{0}, offsets{0}, keysIn{0}, keysOut{0}, boxes{0}, candidates{0}, mask{0}, removed{0}, kept{0},
        keptCount{0}, temp{0}, total{0};
};

Layout layoutFor(const ProposalShape& s) {
    Layout l;
    l.count = elementCount(s);
    l.items = l.count * s.batch;
    // pre_nms_top_n, not the limit: the same answer for every batch and grid
    if (s.batch < 0 || l.count < 0 || l.items > INT_MAX || s.preNmsTopN <= 0 || s.preNmsTopN > kMaxGridYZ ||
        s.postNmsTopN <= 0 || s.numSizes <= 0 || s.numRatios <= 0 || s.numSizes > kMaxAnchorParameters ||
        s.numRatios > kMaxAnchorParameters || int64_t{s.numSizes} * s.numRatios != s.anchors) {
        return l;
    }
    l.limit = candidateLimit(s);
    l.words = (l.limit + 63) / 64;
    l.keptSlots = std::min(l.limit, s.postNmsTopN);
    const size_t imageMask = size_t(l.limit) * l.words * sizeof(unsigned long long);
    l.chunk = device::maskChunk(s.batch, imageMask);  // the masks of `chunk` images at a time
    if (!device::segmentedSortBytes(l.items, s.batch, &l.tempBytes)) return l;
    device::WorkspaceCarver take;
    l.invalid = take(sizeof(int32_t) * s.batch);
    l.offsets = take(sizeof(int) * (int64_t{s.batch} + 1));
    l.keysIn = take(sizeof(uint64_t) * l.items);
    l.keysOut = take(sizeof(uint64_t) * l.items);
    l.boxes = take(sizeof(ProposalBox) * l.items);
    l.candidates = take(sizeof(ProposalBox) * s.batch * l.limit);
    l.mask = take(imageMask * l.chunk);
    l.removed = take(sizeof(unsigned long long) * l.words * l.chunk);
    l.kept = take(sizeof(int32_t) * s.batch * l.keptSlots);
    l.keptCount = take(sizeof(int32_t) * s.batch);
    l.temp = take(l.tempBytes);
    l.total = take.total();
    l.fits = true;
    return l;
}

__global__ void validKernel(ProposalShape s, const float* __restrict__ scores, int32_t* __restrict__ invalid) {
    const bool valid = __syncthreads_and(imageScoresValid(scores, s, blockIdx.x, threadIdx.x, blockDim.x));
    if (threadIdx.x == 0) invalid[blockIdx.x] = valid ? 0 : 1;
}

__global__ void decodeKernel(ProposalShape s, int64_t items, int64_t count, const float* __restrict__ scores,
                             const float* __restrict__ deltas, uint64_t* __restrict__ keys,
                             ProposalBox* __restrict__ boxes) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < items) keys[i] = decodeElement(scores, deltas, s, i / count, i % count, boxes + i);
}

__global__ void gatherKernel(ProposalShape s, int64_t count, int32_t limit, const uint64_t* __restrict__ sorted,
                             const ProposalBox* __restrict__ boxes, ProposalBox* __restrict__ candidates) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= int64_t{s.batch} * limit) return;
    const int64_t image = i / limit;
    candidates[i] = candidateBox(sorted + image * count, boxes + image * count, static_cast<int32_t>(i % limit));
}

// grid (words, limit, images of the chunk), 64 threads
__global__ void maskKernel(ProposalShape s, int64_t firstImage, int32_t limit, int32_t words,
                           const ProposalBox* __restrict__ candidates, unsigned long long* __restrict__ mask) {
    const ProposalBox* imageCandidates = candidates + (firstImage + blockIdx.z) * limit;
    suppressionMaskWordStrided(
        limit, words, [=](int i, int j) { return candidateSuppresses(imageCandidates, s, i, j); },
        mask + static_cast<int64_t>(blockIdx.z) * limit * words);
}

__global__ void walkKernel(ProposalShape s, int64_t firstImage, int64_t chunk, int32_t limit, int32_t words,
                           int32_t keptSlots, const unsigned long long* __restrict__ mask,
                           const int32_t* __restrict__ invalid, unsigned long long* __restrict__ removed,
                           int32_t* __restrict__ kept, int32_t* __restrict__ keptCount) {
    const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= chunk) return;
    const int64_t image = firstImage + c;
    keptCount[image] = invalid[image] != 0 ? 0
                                           : greedyWalk(limit, words, mask + c * limit * words, s, removed + c * words,
                                                        kept + image * keptSlots);
}

__global__ void outputKernel(ProposalShape s, int32_t limit, int32_t keptSlots,
                             const ProposalBox* __restrict__ candidates, const int32_t* __restrict__ kept,
                             const int32_t* __restrict__ keptCount, float* __restrict__ rois) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= int64_t{s.batch} * s.postNmsTopN) return;
    const int64_t image = i / s.postNmsTopN;
    outputRow(candidates + image * limit, kept + image * keptSlots, keptCount[image], s, image,
              static_cast<int32_t>(i % s.postNmsTopN), rois);
}

}  // namespace

size_t proposalWorkspaceSize(const ProposalShape& s) {
    const Layout l = device::cachedLayout(s, layoutFor);
    return l.fits ? l.total : 0;
}

int proposalDevice(const ProposalShape& s, const float* scores, const float* deltas, void* workspace,
                   cudaStream_t stream, float* rois, const int32_t** invalidFlags) {
    const Layout l = device::cachedLayout(s, layoutFor);
    if (!l.fits || workspace == nullptr) return static_cast<int>(cudaErrorInvalidValue);
    char* base = static_cast<char*>(workspace);
    auto* invalid = reinterpret_cast<int32_t*>(base + l.invalid);
    auto* offsets = reinterpret_cast<int*>(base + l.offsets);
    auto* keysIn = reinterpret_cast<uint64_t*>(base + l.keysIn);
    auto* keysOut = reinterpret_cast<uint64_t*>(base + l.keysOut);
    auto* boxes = reinterpret_cast<ProposalBox*>(base + l.boxes);
    auto* candidates = reinterpret_cast<ProposalBox*>(base + l.candidates);
    auto* mask = reinterpret_cast<unsigned long long*>(base + l.mask);
    auto* removed = reinterpret_cast<unsigned long long*>(base + l.removed);
    auto* kept = reinterpret_cast<int32_t*>(base + l.kept);
    auto* keptCount = reinterpret_cast<int32_t*>(base + l.keptCount);
    *invalidFlags = invalid;
    if (s.batch == 0) return 0;
    validKernel<<<s.batch, kThreads, 0, stream>>>(s, scores, invalid);
    if (l.items == 0) {  // an empty grid: no candidates, zero rois
        cudaMemsetAsync(keptCount, 0, sizeof(int32_t) * s.batch, stream);
    } else {
        device::segmentOffsets(int64_t{s.batch} + 1, l.count, offsets, stream);
        decodeKernel<<<blocksFor(l.items), kThreads, 0, stream>>>(s, l.items, l.count, scores, deltas, keysIn,
                                                                  boxes);
        size_t tempBytes = l.tempBytes;
        const cudaError_t status = device::sortKeys64(
            base + l.temp, tempBytes, keysIn, keysOut, l.items, s.batch, offsets, offsets + 1, stream);
        if (status != cudaSuccess) return static_cast<int>(status);
        gatherKernel<<<blocksFor(int64_t{s.batch} * l.limit), kThreads, 0, stream>>>(s, l.count, l.limit, keysOut,
                                                                                    boxes, candidates);
        for (int64_t first = 0; first < s.batch; first += l.chunk) {
            const int64_t chunk = std::min<int64_t>(l.chunk, s.batch - first);
            const dim3 grid(static_cast<unsigned>(l.words), static_cast<unsigned>(l.limit),
                            static_cast<unsigned>(chunk));
            maskKernel<<<grid, 64, 0, stream>>>(s, first, l.limit, l.words, candidates, mask);
            walkKernel<<<static_cast<unsigned>((chunk + 63) / 64), 64, 0, stream>>>(
                s, first, chunk, l.limit, l.words, l.keptSlots, mask, invalid, removed, kept, keptCount);
        }
    }
    outputKernel<<<blocksFor(int64_t{s.batch} * s.postNmsTopN), kThreads, 0, stream>>>(s, l.limit, l.keptSlots,
                                                                                      candidates, kept, keptCount,
                                                                                      rois);
    return static_cast<int>(cudaGetLastError());
}

}  // namespace frcnn
}  // namespace taostream
