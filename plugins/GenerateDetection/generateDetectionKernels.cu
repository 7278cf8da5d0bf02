// GenerateDetection_TRT on the GPU, the whole op, device-resident (no host copy, no stream wait): each
// kernel runs one step of generateDetectionSteps.h per thread (the host emulation,
// taostream_generate_detection_emulated, runs the same steps in the same order); both sorts are
// cub::DeviceSegmentedRadixSort::SortKeys on distinct 64-bit keys (one segment per image); the greedy
// walk is one thread per image over the suppression words of ../common/suppressionMask.cuh. Built with
// --fmad=false so the decoder and IoU round as on the host. Compiled for every architecture and
// emulated on the host; never run on a GPU.
#include "generateDetectionKernels.h"

#include <climits>

#include "../common/deviceWorkspace.cuh"
#include "../common/suppressionMask.cuh"

namespace taostream {
namespace gendet {
namespace {

using device::kThreads;
using device::kMaxGridYZ;
using device::blocksFor;

constexpr size_t kMaxMaskBytes = size_t{1} << 30;

struct Layout {
    bool fits{false};
    int64_t items{0};
    int32_t words{0};
    size_t tempBytes{0};
    size_t invalid{0}, offsets{0}, best{0}, label{0}, box{0}, keysIn{0}, keysOut{0}, count{0}, candScore{0},
        candLabel{0}, candBox{0}, mask{0}, removed{0}, kept{0}, gatherIn{0}, gatherOut{0}, temp{0}, total{0};
};

Layout layoutFor(const DetectionShape& s) {
    Layout l;
    l.items = int64_t{s.batch} * s.rois;
    l.words = maskWords(s.rois);
    const size_t maskBytes = size_t(l.items) * l.words * sizeof(unsigned long long);
    if (s.batch < 0 || s.rois < 0 || s.numClasses < 2 || s.keepTopK <= 0 || l.items > INT_MAX ||
        s.rois > kMaxGridYZ || s.batch > kMaxGridYZ || maskBytes > kMaxMaskBytes) {
        return l;
    }
    if (!device::segmentedSortBytes(l.items, s.batch, &l.tempBytes)) return l;
    device::WorkspaceCarver take;
    l.invalid = take(sizeof(int32_t) * s.batch);
    l.offsets = take(sizeof(int) * (int64_t{s.batch} + 1));
    l.best = take(sizeof(float) * l.items);
    l.label = take(sizeof(int32_t) * l.items);
    l.box = take(sizeof(mr::Box) * l.items);
    l.keysIn = take(sizeof(uint64_t) * l.items);
    l.keysOut = take(sizeof(uint64_t) * l.items);
    l.count = take(sizeof(int32_t) * s.batch);
    l.candScore = take(sizeof(float) * l.items);
    l.candLabel = take(sizeof(int32_t) * l.items);
    l.candBox = take(sizeof(mr::Box) * l.items);
    l.mask = take(maskBytes);
    l.removed = take(sizeof(unsigned long long) * l.words * s.batch);
    l.kept = take(sizeof(uint8_t) * l.items);
    l.gatherIn = take(sizeof(uint64_t) * l.items);
    l.gatherOut = take(sizeof(uint64_t) * l.items);
    l.temp = take(l.tempBytes);
    l.total = take.total();
    l.fits = true;
    return l;
}

__global__ void validKernel(DetectionShape s, const float* __restrict__ deltas, const float* __restrict__ scores,
                            const float* __restrict__ rois, int32_t* __restrict__ invalid) {
    const bool finite = __syncthreads_and(imageInputsFinite(deltas, scores, rois, s, blockIdx.x, threadIdx.x,
                                                            blockDim.x));
    if (threadIdx.x == 0) invalid[blockIdx.x] = finite ? 0 : 1;
}

__global__ void roiKernel(DetectionShape s, int64_t items, const float* __restrict__ deltas,
                          const float* __restrict__ scores, const float* __restrict__ rois,
                          const int32_t* __restrict__ invalid, float* __restrict__ best, int32_t* __restrict__ label,
                          mr::Box* __restrict__ box, uint64_t* __restrict__ keys) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < items) {
        keys[i] = roiStep(deltas, scores, rois, invalid, s, i / s.rois, static_cast<int32_t>(i % s.rois), best, label,
                          box);
    }
}

__global__ void compactKernel(DetectionShape s, const uint64_t* __restrict__ sorted, const float* __restrict__ best,
                              const int32_t* __restrict__ label, const mr::Box* __restrict__ box,
                              int32_t* __restrict__ count, float* __restrict__ candScore,
                              int32_t* __restrict__ candLabel, mr::Box* __restrict__ candBox) {
    const int64_t image = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (image < s.batch) {
        count[image] = compactCandidates(sorted, best, label, box, s, image, candScore, candLabel, candBox);
    }
}

// grid (words, rois, images), 64 threads
__global__ void maskKernel(DetectionShape s, int32_t words, const int32_t* __restrict__ count,
                           const mr::Box* __restrict__ candBox, const int32_t* __restrict__ candLabel,
                           unsigned long long* __restrict__ mask) {
    const int64_t image = blockIdx.z;
    const mr::Box* boxes = candBox + image * s.rois;
    const int32_t* labels = candLabel + image * s.rois;
    const float threshold = s.iouThreshold;
    suppressionMaskWordStrided(
        count[image], words, [=](int i, int j) { return candidateSuppresses(boxes, labels, threshold, i, j); },
        mask + image * s.rois * words);
}

__global__ void walkKernel(DetectionShape s, int32_t words, const int32_t* __restrict__ count,
                           const unsigned long long* __restrict__ mask, unsigned long long* __restrict__ removed,
                           uint8_t* __restrict__ kept) {
    const int64_t image = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (image < s.batch) {
        greedyWalk(count[image], words, mask + image * s.rois * words, removed + image * words, kept + image * s.rois);
    }
}

__global__ void gatherKeyKernel(DetectionShape s, int64_t items, const float* __restrict__ candScore,
                                const uint8_t* __restrict__ kept, const int32_t* __restrict__ count,
                                uint64_t* __restrict__ keys) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < items) keys[i] = gatherKey(candScore, kept, count, s, i / s.rois, static_cast<int32_t>(i % s.rois));
}

__global__ void rowsKernel(DetectionShape s, const uint64_t* __restrict__ gathered, const float* __restrict__ candScore,
                           const int32_t* __restrict__ candLabel, const mr::Box* __restrict__ candBox,
                           const uint8_t* __restrict__ kept, const int32_t* __restrict__ count,
                           const int32_t* __restrict__ invalid, float* __restrict__ detections) {
    const int64_t image = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (image < s.batch) {
        writeRows(gathered, candScore, candLabel, candBox, kept, count, invalid, s, image, detections);
    }
}

}  // namespace

size_t generateDetectionWorkspaceSize(const DetectionShape& s) {
    const Layout l = device::cachedLayout(s, layoutFor);
    return l.fits ? l.total : 0;
}

int generateDetectionDevice(const DetectionShape& s, const float* deltas, const float* scores, const float* rois,
                            void* workspace, cudaStream_t stream, float* detections, const int32_t** invalidFlags) {
    const Layout l = device::cachedLayout(s, layoutFor);
    if (!l.fits || workspace == nullptr) return static_cast<int>(cudaErrorInvalidValue);
    char* base = static_cast<char*>(workspace);
    auto* invalid = reinterpret_cast<int32_t*>(base + l.invalid);
    auto* offsets = reinterpret_cast<int*>(base + l.offsets);
    auto* best = reinterpret_cast<float*>(base + l.best);
    auto* label = reinterpret_cast<int32_t*>(base + l.label);
    auto* box = reinterpret_cast<mr::Box*>(base + l.box);
    auto* keysIn = reinterpret_cast<uint64_t*>(base + l.keysIn);
    auto* keysOut = reinterpret_cast<uint64_t*>(base + l.keysOut);
    auto* count = reinterpret_cast<int32_t*>(base + l.count);
    auto* candScore = reinterpret_cast<float*>(base + l.candScore);
    auto* candLabel = reinterpret_cast<int32_t*>(base + l.candLabel);
    auto* candBox = reinterpret_cast<mr::Box*>(base + l.candBox);
    auto* mask = reinterpret_cast<unsigned long long*>(base + l.mask);
    auto* removed = reinterpret_cast<unsigned long long*>(base + l.removed);
    auto* kept = reinterpret_cast<uint8_t*>(base + l.kept);
    auto* gatherIn = reinterpret_cast<uint64_t*>(base + l.gatherIn);
    auto* gatherOut = reinterpret_cast<uint64_t*>(base + l.gatherOut);
    *invalidFlags = invalid;
    if (s.batch == 0) return 0;
    validKernel<<<s.batch, kThreads, 0, stream>>>(s, deltas, scores, rois, invalid);
    if (l.items == 0) {  // no rois: padding rows only
        cudaMemsetAsync(count, 0, sizeof(int32_t) * s.batch, stream);
    } else {
        device::segmentOffsets(int64_t{s.batch} + 1, s.rois, offsets, stream);
        roiKernel<<<blocksFor(l.items), kThreads, 0, stream>>>(s, l.items, deltas, scores, rois, invalid, best, label,
                                                                box, keysIn);
        size_t tempBytes = l.tempBytes;
        cudaError_t status = device::sortKeys64(base + l.temp, tempBytes, keysIn, keysOut, l.items, s.batch,
                                                  offsets, offsets + 1, stream);
        if (status != cudaSuccess) return static_cast<int>(status);
        compactKernel<<<blocksFor(s.batch), kThreads, 0, stream>>>(s, keysOut, best, label, box, count, candScore,
                                                                    candLabel, candBox);
        const dim3 grid(static_cast<unsigned>(l.words), static_cast<unsigned>(s.rois), static_cast<unsigned>(s.batch));
        maskKernel<<<grid, 64, 0, stream>>>(s, l.words, count, candBox, candLabel, mask);
        walkKernel<<<blocksFor(s.batch), kThreads, 0, stream>>>(s, l.words, count, mask, removed, kept);
        gatherKeyKernel<<<blocksFor(l.items), kThreads, 0, stream>>>(s, l.items, candScore, kept, count, gatherIn);
        tempBytes = l.tempBytes;
        status = device::sortKeys64(base + l.temp, tempBytes, gatherIn, gatherOut, l.items, s.batch, offsets,
                                    offsets + 1, stream);
        if (status != cudaSuccess) return static_cast<int>(status);
    }
    rowsKernel<<<blocksFor(s.batch), kThreads, 0, stream>>>(s, gatherOut, candScore, candLabel, candBox, kept, count,
                                                             invalid, detections);
    return static_cast<int>(cudaGetLastError());
}

}  // namespace gendet
}  // namespace taostream
