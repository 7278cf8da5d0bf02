// SpecialSlice_TRT on the host (C++17, no CUDA): TensorRT OSS plugin/specialSlicePlugin semantics,
// equal bit for bit to the numpy reference (plugins/maskrcnn.py, special_slice_reference). C ABI for
// ctypes.
#pragma once

#include <stdint.h>

#include "../MultilevelProposeROI/multilevelProposeROIHost.h"  // TAOSTREAM_HOST_API, status codes

#ifdef __cplusplus
extern "C" {
#endif

// detections: [rows, 6] (y1, x1, y2, x2, class, score; rows = N * K); boxes: [rows, 4], fully
// written. A copy: NaN and infinite values are copied as they are.
TAOSTREAM_HOST_API int taostream_special_slice(int64_t rows, const float* detections, float* boxes);

#ifdef __cplusplus
}
#endif
