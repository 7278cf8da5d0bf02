// What the device-resident enqueues (perClassNmsDevice.cu and the EfficientNMS, Proposal,
// MultilevelProposeROI and GenerateDetection kernels) share on the host side of their launches: the
// workspace carved into 256-byte-aligned pieces in a fixed order (getWorkspaceSize and enqueue walk the
// same layout), the grid of a one-thread-per-item kernel, how many images' (or segments') suppression
// words are held at once, and the one segmented sort of 64-bit keys they all use (CUB's, instantiated
// once in segmentedSort.cu: each instantiation costs nvcc tens of seconds per architecture).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <cuda_runtime_api.h>

namespace taostream {
namespace device {

constexpr int kThreads = 256;
// Suppression words of at most this many bytes are held at once (images or segments go in chunks).
constexpr size_t kMaskBudget = size_t{64} << 20;
constexpr int64_t kMaxGridYZ = 65535;

inline unsigned blocksFor(int64_t count) { return static_cast<unsigned>((count + kThreads - 1) / kThreads); }

// Offsets into one workspace, each piece 256-byte aligned, in the order they are asked for.
class WorkspaceCarver {
public:
    size_t operator()(size_t bytes) {
        const size_t start = mAt;
        mAt += (bytes + 255) / 256 * 256;
        return start;
    }
    size_t total() const { return mAt; }

private:
    size_t mAt{0};
};

// How many units (images or segments) of `unitMaskBytes` suppression words at a time: min(all, max(one,
// the budget), the grid's z limit), 0 when a unit has none. Every term grows with the shapes, so a
// workspace sized for the largest shapes fits smaller ones.
inline int64_t maskChunk(int64_t units, size_t unitMaskBytes) {
    if (unitMaskBytes == 0) return 0;
    return std::min<int64_t>({units, std::max<int64_t>(1, static_cast<int64_t>(kMaskBudget / unitMaskBytes)),
                              kMaxGridYZ});
}

// cub::DeviceSegmentedRadixSort::SortKeys over all 64 bits of `items` keys in `segments` segments
// [begin[i], end[i]); with temp == nullptr it only sets tempBytes (CUB's size query).
cudaError_t sortKeys64(void* temp, size_t& tempBytes, const uint64_t* in, uint64_t* out, int64_t items,
                       int64_t segments, const int* begin, const int* end, cudaStream_t stream = nullptr);

// Writes offsets[i] = i * stride for i < count on `stream`: the begin/end offsets of equal segments that
// sortKeys64 takes (offsets and offsets + 1).
void segmentOffsets(int64_t count, int64_t stride, int* offsets, cudaStream_t stream);

// CUB's temporary storage for sorting `items` 64-bit keys (all 64 bits) in `segments` segments; 0 bytes
// for no items. False when CUB's query fails.
inline bool segmentedSortBytes(int64_t items, int64_t segments, size_t* bytes) {
    *bytes = 0;
    if (items <= 0) return true;
    return sortKeys64(nullptr, *bytes, nullptr, nullptr, items, segments, nullptr, nullptr) == cudaSuccess;
}

// layoutFor(s), kept from the last call on this thread for the same shape bytes and device: an enqueue
// (workspace size, then launches) asks for the same layout every call, and each asks CUB's size query
// again otherwise. Only a layout that fits is kept (a refused one is cheap and may depend on a failed
// query). The shape structs are plain values: equal bytes, equal shape.
template <typename Shape, typename Layout>
Layout cachedLayout(const Shape& s, Layout (*layoutFor)(const Shape&)) {
    struct Entry {
        bool valid{false};
        int device{-1};
        unsigned char shape[sizeof(Shape)];
        Layout layout;
    };
    thread_local Entry last;
    int current = -1;
    if (cudaGetDevice(&current) != cudaSuccess) current = -1;
    if (last.valid && last.device == current && std::memcmp(last.shape, &s, sizeof(Shape)) == 0) return last.layout;
    const Layout l = layoutFor(s);
    last.valid = l.fits;
    last.device = current;
    std::memcpy(last.shape, &s, sizeof(Shape));
    last.layout = l;
    return l;
}

}  // namespace device
}  // namespace taostream
