// The device-resident enqueues' one segmented sort (see deviceWorkspace.cuh): CUB's radix sort of
// 64-bit keys over all their bits, instantiated here once for every kernel file, and its segment offsets.
#include <cub/device/device_segmented_radix_sort.cuh>

#include "deviceWorkspace.cuh"

namespace taostream {
namespace device {

cudaError_t sortKeys64(void* temp, size_t& tempBytes, const uint64_t* in, uint64_t* out, int64_t items,
                       int64_t segments, const int* begin, const int* end, cudaStream_t stream) {
    return cub::DeviceSegmentedRadixSort::SortKeys(temp, tempBytes, in, out, static_cast<int>(items),
                                                   static_cast<int>(segments), begin, end, 0, 64, stream);
}

namespace {
__global__ void offsetsKernel(int64_t count, int64_t stride, int* __restrict__ offsets) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) offsets[i] = static_cast<int>(i * stride);
}
}  // namespace

void segmentOffsets(int64_t count, int64_t stride, int* offsets, cudaStream_t stream) {
    offsetsKernel<<<blocksFor(count), kThreads, 0, stream>>>(count, stride, offsets);
}

}  // namespace device
}  // namespace taostream
