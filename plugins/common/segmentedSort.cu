// The device-resident enqueues' one segmented sort (see deviceWorkspace.cuh): CUB's radix sort of
// 64-bit keys over all their bits, instantiated here once for every kernel file.
#include <cub/device/device_segmented_radix_sort.cuh>

#include "deviceWorkspace.cuh"

namespace taostream {
namespace device {

cudaError_t sortKeys64(void* temp, size_t& tempBytes, const uint64_t* in, uint64_t* out, int64_t items,
                       int64_t segments, const int* begin, const int* end, cudaStream_t stream) {
    return cub::DeviceSegmentedRadixSort::SortKeys(temp, tempBytes, in, out, static_cast<int>(items),
                                                   static_cast<int>(segments), begin, end, 0, 64, stream);
}

}  // namespace device
}  // namespace taostream
