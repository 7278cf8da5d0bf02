// The per-class NMS of BatchedNMS and NMS on the GPU (perClassNmsDevice.cu): every step of
// perClassNmsSteps.h as a kernel, the two sorts with cub::DeviceSegmentedRadixSort, no host copy and
// no stream synchronization. Compiled for every architecture and emulated on the host
// (perClassNmsEmulation.h, tested equal to the host implementation byte for byte); never run on a GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "perClassNmsSteps.h"

namespace taostream {
namespace nms {

// Device pointers into the workspace, valid until the stream's next use of it.
struct PerClassDeviceResult {
    const int32_t* nonFinite;     // per image: 1 when a box or score is NaN or infinite (no detections)
    const int32_t* keptCount;     // per segment (image * numClasses + cls)
    const int32_t* keptPrior;     // per segment, candidateLimit slots: box indices in rank order
    const uint64_t* merged;       // per image, numClasses * candidateLimit merge keys, sorted
};

// Workspace bytes for these shapes; 0 when the device path cannot take them (CUB's int item counts,
// the grid's limits) or CUB's size query fails (no device): the caller runs the host path then.
size_t perClassNmsWorkspaceSize(const PerClassShape& s);

// boxes [batch, numBoxes, locClasses, 4] and scores [batch, numBoxes, numClasses] on the device;
// `workspace` of perClassNmsWorkspaceSize(s) bytes. Queues everything on `stream`; returns a
// cudaError_t (0: queued).
int perClassNmsDevice(const PerClassShape& s, const float* boxes, const float* scores, void* workspace,
                      cudaStream_t stream, PerClassDeviceResult* result);

}  // namespace nms
}  // namespace taostream
