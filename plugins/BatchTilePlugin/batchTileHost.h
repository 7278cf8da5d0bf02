// BatchTilePlugin_TRT on the host (C++17, no CUDA): TensorRT OSS plugin/batchTilePlugin semantics,
// equal bit for bit to the numpy reference (plugins/reference.py, batch_tile_reference). C ABI for
// ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// source: the first item of the tensor to repeat (item_bytes bytes, any dtype); out: [batch, item],
// fully written. A copy: NaN and infinite values are copied as they are.
TAOSTREAM_HOST_API int taostream_batch_tile(int64_t batch, int64_t item_bytes, const void* source, void* out);

#ifdef __cplusplus
}
#endif
