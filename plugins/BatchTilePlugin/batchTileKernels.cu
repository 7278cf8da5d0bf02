// BatchTilePlugin_TRT's CUDA kernel on the index maths shared with the host implementation
// (plugins/common/copyIndex.h): every output byte from its byte of the source's first item, 4 bytes
// at a time where the item size allows. The IPluginV3 plugin (batchTilePlugin.cpp) launches it.
#include <cstdint>

#include "batchTileKernels.h"

#include "../common/copyIndex.h"

namespace cp = taostream::copy;

namespace {

template <typename Word>
__global__ void batchTileKernel(int64_t count, int64_t itemWords, const Word* __restrict__ source,
                                Word* __restrict__ out) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        out[i] = source[cp::batchTileSource(i, itemWords)];
    }
}

}  // namespace

extern "C" {

// Device pointers: source holds item_bytes bytes, out batch * item_bytes. Returns the launch status.
int taostream_batch_tile_cuda(int64_t batch, int64_t item_bytes, const void* source, void* out,
                              cudaStream_t stream) {
    if (batch <= 0 || item_bytes <= 0) return 0;
    const int threads = 256;
    const unsigned blocks = 1024;
    if (item_bytes % 4 == 0 && reinterpret_cast<uintptr_t>(source) % 4 == 0 && reinterpret_cast<uintptr_t>(out) % 4 == 0) {
        batchTileKernel<uint32_t><<<blocks, threads, 0, stream>>>(batch * item_bytes / 4, item_bytes / 4,
                                                                 static_cast<const uint32_t*>(source),
                                                                 static_cast<uint32_t*>(out));
    } else {
        batchTileKernel<unsigned char><<<blocks, threads, 0, stream>>>(batch * item_bytes, item_bytes,
                                                                      static_cast<const unsigned char*>(source),
                                                                      static_cast<unsigned char*>(out));
    }
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
