// The enqueue path choice of common/devicePath.h behind the host library's C ABI, for tests only
// (tests/test_plugin_host.py): test-only symbols, not in plugins/host_calls.py's FUNCTIONS (see
// plugins/README.md, "The host library's symbols").
#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API
#include "devicePath.h"

extern "C" {

// 1 where enqueue runs the GPU path (devicePath.h useDevicePath), else 0.
TAOSTREAM_HOST_API int taostream_plugin_device_path(int workspace_given, uint64_t configured_bytes,
                                                    uint64_t needed_bytes) {
    return taostream::device::useDevicePath(workspace_given != 0, configured_bytes, needed_bytes) ? 1 : 0;
}

TAOSTREAM_HOST_API int32_t taostream_plugin_narrow_dim(int64_t dim) { return taostream::device::narrowDim(dim); }

// The largest configured dims of two profiles, through the serialized form: `a` and `b` are encodeDims
// lists of `inputs` inputs; the merged list is written to `out` (room for `capacity` values). Returns
// its length, or -1 where `a` or `b` does not decode or `out` is too small.
TAOSTREAM_HOST_API int64_t taostream_plugin_merge_largest_dims(const int32_t* a, int64_t a_count, const int32_t* b,
                                                               int64_t b_count, int32_t inputs, int32_t* out,
                                                               int64_t capacity) {
    std::vector<std::vector<int64_t>> largest, next;
    if (!taostream::device::decodeDims(a, a_count, inputs, &largest) ||
        !taostream::device::decodeDims(b, b_count, inputs, &next)) {
        return -1;
    }
    taostream::device::mergeLargest(&largest, next);
    const std::vector<int32_t> merged = taostream::device::encodeDims(largest);
    if (static_cast<int64_t>(merged.size()) > capacity) return -1;
    for (size_t i = 0; i < merged.size(); ++i) out[i] = merged[i];
    return static_cast<int64_t>(merged.size());
}

}  // extern "C"
