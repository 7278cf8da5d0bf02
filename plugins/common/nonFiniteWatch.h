// The warning of a device-resident plugin for an image with NaN or infinite inputs, without waiting for
// the stream: the kernels leave one flag per image on the device; `watch` queues their copy to pinned
// host memory and a host function (cudaLaunchHostFunc) that logs "<plugin>: NaN or infinite inputs;
// such an image gets no output" once per plugin object when one is set. Nothing blocks the host and
// both steps are stream work (a CUDA graph can capture them). The pinned buffer is allocated by the
// first enqueue; an enqueue with a larger batch than any before waits for its stream once to replace it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <cuda_runtime_api.h>

namespace taostream {
namespace trt {

class NonFiniteWatch {
public:
    NonFiniteWatch() = default;
    // a copy (clone(): another execution context) watches its own enqueues with its own buffer
    NonFiniteWatch(NonFiniteWatch const&) {}
    NonFiniteWatch& operator=(NonFiniteWatch const&) { return *this; }
    ~NonFiniteWatch();  // cudaFreeHost, which waits for the device: no callback outlives the buffer

    // Queues on `stream` the check of `images` device flags (int32, nonzero: NaN/inf in that image).
    // False, with the CUDA error logged, when the copy or the host function cannot be queued.
    bool watch(std::string const& pluginName, int32_t const* deviceFlags, int32_t images, cudaStream_t stream);

private:
    static void CUDART_CB check(void* self);
    int32_t* mHost{nullptr};
    int32_t mCapacity{0};
    std::string mName;
    std::atomic<bool> mWarned{false};
};

}  // namespace trt
}  // namespace taostream
