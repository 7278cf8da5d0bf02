// Which path a device-resident enqueue takes, and the shape arithmetic it is decided on: pure C++17
// (no CUDA, no TensorRT), shared by the IPluginV3 plugins (common/trtPlugin.cpp) and the host library,
// which exports them for tests/test_plugin_host.py (taostream_plugin_device_path,
// taostream_plugin_narrow_dim; test-only symbols, see plugins/README.md).
//
// TensorRT sizes a plugin's workspace once, with getWorkspaceSize on the largest shapes of the
// optimization profile, and hands enqueue only a pointer. The GPU paths refuse shapes past their limits
// (CUB's int item counts, the 65535 grid rows, the suppression words' budget): for those
// getWorkspaceSize says 0 bytes. An engine whose largest shapes the GPU path refuses can still run
// smaller actual shapes that it would take, and the pointer then holds nothing (or is not null and
// points at 0 bytes): the path must depend on what the workspace was sized for, not on the actual
// shapes alone. configurePlugin records the largest input dims (serialized with the fields, so the
// runtime plugin knows them too), and enqueue runs on the GPU only where both the recorded largest
// shapes and the actual ones fit, the actual ones in no more bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace taostream {
namespace device {

// A TensorRT dimension (int64) as the int32 the GPU paths' shapes hold: -1, which every layout refuses,
// where it is negative (unknown) or past INT32_MAX, instead of a truncated value.
inline int32_t narrowDim(int64_t d) { return d < 0 || d > INT32_MAX ? -1 : static_cast<int32_t>(d); }

// True where enqueue runs the GPU path: a workspace was given, the GPU path takes the largest shapes
// the builder configured (`configuredBytes`: their workspace, 0 when it refuses them or they are not
// known) and the actual shapes (`neededBytes`, 0 when it refuses them), and these need no more than
// the workspace holds. Otherwise enqueue runs host-staged.
inline bool useDevicePath(bool workspaceGiven, size_t configuredBytes, size_t neededBytes) {
    return workspaceGiven && configuredBytes > 0 && neededBytes > 0 && neededBytes <= configuredBytes;
}

// Input dims as one int32 list: per input its rank, then its dims (each narrowed: -1 past INT32_MAX).
// The serialized form of the largest configured shapes.
inline std::vector<int32_t> encodeDims(const std::vector<std::vector<int64_t>>& dims) {
    std::vector<int32_t> out;
    for (const auto& d : dims) {
        out.push_back(static_cast<int32_t>(d.size()));
        for (int64_t v : d) out.push_back(narrowDim(v));
    }
    return out;
}

// encodeDims's list back to `inputs` dims (-1: as many as it holds, as EfficientNMS's 2 or 3 inputs are
// known only once configured); false (and `dims` cleared) where it does not hold exactly that many ranks
// of 0 to 8 and their dims.
inline bool decodeDims(const int32_t* values, int64_t count, int32_t inputs, std::vector<std::vector<int64_t>>* dims) {
    dims->clear();
    int64_t at = 0;
    for (int32_t i = 0; inputs < 0 ? at < count : i < inputs; ++i) {
        if (at >= count || values[at] < 0 || values[at] > 8 || at + 1 + values[at] > count) {
            dims->clear();
            return false;
        }
        dims->emplace_back(values + at + 1, values + at + 1 + values[at]);
        at += 1 + values[at];
    }
    if (at != count) dims->clear();
    return at == count;
}

// The elementwise largest of two sets of input dims (configurePlugin runs once per optimization
// profile: the recorded shapes cover every profile's largest). A rank that differs takes `next`; an
// unknown (-1) dim stays unknown.
inline void mergeLargest(std::vector<std::vector<int64_t>>* largest, const std::vector<std::vector<int64_t>>& next) {
    if (largest->size() != next.size()) {
        *largest = next;
        return;
    }
    for (size_t i = 0; i < next.size(); ++i) {
        std::vector<int64_t>& d = (*largest)[i];
        if (d.size() != next[i].size()) {
            d = next[i];
            continue;
        }
        for (size_t k = 0; k < d.size(); ++k) d[k] = d[k] < 0 || next[i][k] < 0 ? -1 : (d[k] > next[i][k] ? d[k] : next[i][k]);
    }
}

}  // namespace device
}  // namespace taostream
