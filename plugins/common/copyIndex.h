// Index maths of the plugins that only move elements: BatchTilePlugin_TRT, ResizeNearest_TRT and
// SpecialSlice_TRT (TensorRT OSS plugin/batchTilePlugin, resizeNearestPlugin, specialSlicePlugin, as
// the numpy references plugins/reference.py and plugins/maskrcnn.py have them). __host__ __device__
// under nvcc: the host implementations and the CUDA kernels compute every source index here.
// ResizeNearest's float operations are the reference's (float32, same order); build with
// -ffp-contract=off / --fmad=false.
#pragma once

#include <cstdint>

#include "maskRCNNMath.h"  // TAOSTREAM_HD

namespace taostream {
namespace copy {

// BatchTile: byte ``index`` of the output [batch, item] comes from byte index % itemBytes of the
// source's first item.
TAOSTREAM_HD inline int64_t batchTileSource(int64_t index, int64_t itemBytes) { return index % itemBytes; }

// ResizeNearest: the output size of an axis, int(float32(size) * scale); -1 where the reference
// cannot make one (scale not finite, a negative or NaN product, 2^31 or more).
TAOSTREAM_HD inline int64_t resizeNearestOutputSize(int64_t size, float scale) {
    const float product = static_cast<float>(size) * scale;
    if (!(product >= 0.0f && product < 2147483648.0f)) return -1;
    return static_cast<int64_t>(product);
}

// ResizeNearest: the source row (column) of output row (column) ``index``: int(float32(index) / scale).
TAOSTREAM_HD inline int64_t resizeNearestSource(int64_t index, float scale) {
    const float position = static_cast<float>(index) / scale;
    return static_cast<int64_t>(position);
}

// SpecialSlice: value ``index`` of the boxes [rows, 4] is value row * 6 + index % 4 of the detections
// [rows, 6] (y1, x1, y2, x2, class, score).
TAOSTREAM_HD inline int64_t specialSliceSource(int64_t index) { return (index / 4) * 6 + index % 4; }

}  // namespace copy
}  // namespace taostream
