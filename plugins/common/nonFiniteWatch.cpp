// See nonFiniteWatch.h.
#include "nonFiniteWatch.h"

#include <cstring>

#include "trtPlugin.h"

namespace taostream {
namespace trt {

NonFiniteWatch::~NonFiniteWatch() {
    if (mHost != nullptr) cudaFreeHost(mHost);
}

bool NonFiniteWatch::watch(std::string const& pluginName, int32_t const* deviceFlags, int32_t images,
                           cudaStream_t stream) {
    if (images <= 0) return true;
    mName = pluginName;
    cudaError_t status = cudaSuccess;
    if (images > mCapacity) {
        // a larger batch than any before: the stream's earlier checks read the old buffer, so wait for
        // them before it goes (the first enqueue has none and does not wait)
        if (mHost != nullptr) {
            status = cudaStreamSynchronize(stream);
            if (status == cudaSuccess) status = cudaFreeHost(mHost);
        }
        mHost = nullptr;
        mCapacity = 0;
        if (status == cudaSuccess) status = cudaMallocHost(reinterpret_cast<void**>(&mHost), sizeof(int32_t) * images);
        if (status == cudaSuccess) {
            std::memset(mHost, 0, sizeof(int32_t) * images);
            mCapacity = images;
        }
    }
    if (status == cudaSuccess) {
        status = cudaMemcpyAsync(mHost, deviceFlags, sizeof(int32_t) * images, cudaMemcpyDeviceToHost, stream);
    }
    if (status == cudaSuccess) status = cudaLaunchHostFunc(stream, &NonFiniteWatch::check, this);
    if (status != cudaSuccess) {
        log(nvinfer1::ILogger::Severity::kERROR,
            pluginName + ": queueing the NaN/inf check failed: " + cudaGetErrorString(status));
        return false;
    }
    return true;
}

void CUDART_CB NonFiniteWatch::check(void* self) {
    auto* watch = static_cast<NonFiniteWatch*>(self);
    // the whole buffer: slots past this batch hold flags of earlier, larger batches, already warned about
    for (int32_t i = 0; i < watch->mCapacity; ++i) {
        if (watch->mHost[i] != 0) {
            if (!watch->mWarned.exchange(true)) {
                log(nvinfer1::ILogger::Severity::kWARNING,
                    watch->mName + ": NaN or infinite inputs; such an image gets no output");
            }
            return;
        }
    }
}

}  // namespace trt
}  // namespace taostream
