// Per-element maths of EfficientNMS_TRT (TensorRT OSS efficientNMSInference.cuh, as the numpy reference
// plugins/reference.py's efficient_nms_reference computes it): the fused box decoder (corners or
// centre-size, with or without anchors), the IoU and the score sigmoid. __host__ __device__ under nvcc,
// shared by the host implementation and the CUDA kernels; float32 operations in the reference's order,
// exp in double and rounded as the reference's exp_f32. Build with -ffp-contract=off / --fmad=false.
#pragma once

#include <cmath>
#include <cstdint>

#include "maskRCNNMath.h"  // TAOSTREAM_HD, npMinimum, npMaximum
#include "ssdDecode.h"     // expF32, sigmoidF32

namespace taostream {
namespace efficient {

using mrcnn::npMaximum;
using mrcnn::npMinimum;

// _reorder_corners: (min of each axis, max of each axis).
TAOSTREAM_HD inline void reorderCorners(const float* box, float* out) {
    const float b0 = box[0], b1 = box[1], b2 = box[2], b3 = box[3];
    out[0] = npMinimum(b0, b2);
    out[1] = npMinimum(b1, b3);
    out[2] = npMaximum(b0, b2);
    out[3] = npMaximum(b1, b3);
}

TAOSTREAM_HD inline void centreSizeToCorners(float cx, float cy, float w, float h, float* out) {
    const float halfW = w * 0.5f;
    const float halfH = h * 0.5f;
    out[0] = cx - halfW;
    out[1] = cy - halfH;
    out[2] = cx + halfW;
    out[3] = cy + halfH;
}

// efficient_decode of one box (4 values) with its anchor (nullptr without the anchors input) to corners.
// box_coding 0: corners (in any axis order; with anchors, both reordered and added); 1: centre-size
// (with anchors: (x * aw + ax, y * ah + ay, aw * exp(w), ah * exp(h))).
TAOSTREAM_HD inline void decodeBox(const float* box, const float* anchor, int boxCoding, float* out) {
    if (anchor != nullptr) {
        if (boxCoding == 0) {
            float b[4], a[4];
            reorderCorners(box, b);
            reorderCorners(anchor, a);
            for (int i = 0; i < 4; ++i) out[i] = b[i] + a[i];
            return;
        }
        const float sx = box[0] * anchor[2];
        const float sy = box[1] * anchor[3];
        const float cx = sx + anchor[0];
        const float cy = sy + anchor[1];
        const float w = anchor[2] * nms::expF32(box[2]);
        const float h = anchor[3] * nms::expF32(box[3]);
        centreSizeToCorners(cx, cy, w, h, out);
        return;
    }
    if (boxCoding == 0) {
        for (int i = 0; i < 4; ++i) out[i] = box[i];
        return;
    }
    centreSizeToCorners(box[0], box[1], box[2], box[3], out);
}

TAOSTREAM_HD inline float cornerArea(const float* c) {
    if (!(c[2] > c[0] && c[3] > c[1])) return 0.0f;
    return (c[2] - c[0]) * (c[3] - c[1]);
}

// efficient_iou: ``box`` is the candidate, ``other`` a kept box; both reordered first; 0 without overlap.
TAOSTREAM_HD inline float iou(const float* box, const float* other) {
    float a[4], b[4];
    reorderCorners(box, a);
    reorderCorners(other, b);
    const float lo0 = npMaximum(a[0], b[0]);
    const float lo1 = npMaximum(a[1], b[1]);
    const float hi0 = npMinimum(a[2], b[2]);
    const float hi1 = npMinimum(a[3], b[3]);
    const float size0 = hi0 - lo0;
    const float size1 = hi1 - lo1;
    const float inter = (size0 > 0.0f && size1 > 0.0f) ? size0 * size1 : 0.0f;
    const float areas = cornerArea(a) + cornerArea(b);
    const float unionArea = areas - inter;
    if (!(inter > 0.0f && unionArea > 0.0f)) return 0.0f;
    return inter / unionArea;
}

}  // namespace efficient
}  // namespace taostream
