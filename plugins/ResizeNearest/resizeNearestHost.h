// ResizeNearest_TRT on the host (C++17, no CUDA): TensorRT OSS plugin/resizeNearestPlugin semantics,
// equal bit for bit to the numpy reference (plugins/reference.py, resize_nearest_reference). C ABI for
// ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// int(float32(size) * scale), the output size of an axis; -1 where the reference makes none (scale
// not finite, a negative product, 2^31 or more).
TAOSTREAM_HOST_API int64_t taostream_resize_nearest_output_size(int64_t size, float scale);

// in: [planes, height, width] of element_bytes each (any dtype); out: [planes, out_height,
// out_width] with out[y, x] = in[int(y / scale), int(x / scale)] (float32 division), fully written.
// The output sizes are taostream_resize_nearest_output_size's; a source index outside the input is a
// bad argument (the reference raises IndexError there).
TAOSTREAM_HOST_API int taostream_resize_nearest(int64_t planes, int64_t height, int64_t width, float scale,
                                                int64_t element_bytes, const void* in, void* out);

#ifdef __cplusplus
}
#endif
