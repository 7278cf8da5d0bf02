// BatchTilePlugin_TRT's CUDA kernel (batchTileKernels.cu), launched by the TensorRT plugin
// (batchTilePlugin.cpp).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

extern "C" {
// Device pointers: source holds item_bytes bytes, out batch * item_bytes (the source repeated).
// Returns the launch status (a cudaError_t).
int taostream_batch_tile_cuda(int64_t batch, int64_t item_bytes, const void* source, void* out, cudaStream_t stream);
}
