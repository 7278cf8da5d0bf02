// Per-element maths of Proposal / ProposalDynamic (TensorRT OSS proposalKernel.cu, as the numpy
// reference plugins/frcnn.py's proposal_reference computes it under numpy 1.x): anchors, the decode
// with the kernel's clip, the roi_min_size test and the +1 pixel IoU. __host__ __device__ under nvcc,
// shared by the host implementation and the CUDA kernels; float32 operations in the reference's order
// (one area in double where numpy's scalar arithmetic makes it so), exp in double and rounded as the
// reference's exp_f32. Build with -ffp-contract=off / --fmad=false.
#pragma once

#include <cmath>
#include <cstdint>

#include "maskRCNNMath.h"  // TAOSTREAM_HD, npMinimum, npMaximum
#include "ssdDecode.h"     // expF32

namespace taostream {
namespace frcnn {

struct ProposalBox {
    float x1, y1, x2, y2;  // input pixels
};

// Anchor a = size_index * ratios + ratio_index: w = size * sqrt(ratio), h = size / sqrt(ratio).
TAOSTREAM_HD inline float anchorWidth(float size, float ratio) {
    const float root = sqrtf(ratio);
    return size * root;
}
TAOSTREAM_HD inline float anchorHeight(float size, float ratio) {
    const float root = sqrtf(ratio);
    return size / root;
}

// The anchor centre of grid cell ``cell`` along an axis: (cell + 0.5) * stride.
TAOSTREAM_HD inline float anchorCentre(int64_t cell, int32_t stride) {
    const float middle = static_cast<float>(cell) + 0.5f;
    return middle * static_cast<float>(stride);
}

// The kernel's `(v >= 0) ? v : 0` then `(v <= high) ? v : high` (a NaN becomes 0).
TAOSTREAM_HD inline float clipLikeKernel(float v, float high) {
    const float low = v >= 0.0f ? v : 0.0f;
    return low <= high ? low : high;
}

// One anchor's deltas (tx, ty, tw, th) to a clipped pixel box; maxX = input_width - 1, maxY likewise.
TAOSTREAM_HD inline ProposalBox decodeProposal(float tx, float ty, float tw, float th, float anchorW, float anchorH,
                                               float centreX, float centreY, float maxX, float maxY) {
    const float shiftX = anchorW * tx;
    const float shiftY = anchorH * ty;
    const float cx = centreX + shiftX;
    const float cy = centreY + shiftY;
    const float bw = nms::expF32(tw) * anchorW;
    const float bh = nms::expF32(th) * anchorH;
    const float x1 = cx - bw / 2.0f;
    const float y1 = cy - bh / 2.0f;
    const float x2 = bw + x1;
    const float y2 = bh + y1;
    return ProposalBox{clipLikeKernel(x1, maxX), clipLikeKernel(y1, maxY), clipLikeKernel(x2, maxX),
                       clipLikeKernel(y2, maxY)};
}

// A box with a side <= roi_min_size gets score -inf (it stays a candidate).
TAOSTREAM_HD inline float proposalScore(float score, const ProposalBox& box, float roiMinSize) {
    const float w = box.x2 - box.x1;
    const float h = box.y2 - box.y1;
    return (w <= roiMinSize || h <= roiMinSize) ? -INFINITY : score;
}

// IoU with the +1 pixel convention; ``kept`` is the earlier (kept) box. Its area is computed in double
// and rounded, as numpy computes the reference's scalar `(x2 - x1 + 1) * (y2 - y1 + 1)`.
TAOSTREAM_HD inline float iouPlusOne(const ProposalBox& kept, const ProposalBox& other) {
    const float spanX = mrcnn::npMinimum(kept.x2, other.x2) - mrcnn::npMaximum(kept.x1, other.x1);
    const float spanY = mrcnn::npMinimum(kept.y2, other.y2) - mrcnn::npMaximum(kept.y1, other.y1);
    const float w = mrcnn::npMaximum(spanX + 1.0f, 0.0f);
    const float h = mrcnn::npMaximum(spanY + 1.0f, 0.0f);
    const float inter = w * h;
    const double keptW = static_cast<double>(kept.x2 - kept.x1) + 1.0;
    const double keptH = static_cast<double>(kept.y2 - kept.y1) + 1.0;
    const float keptArea = static_cast<float>(keptW * keptH);
    const float otherArea = ((other.x2 - other.x1) + 1.0f) * ((other.y2 - other.y1) + 1.0f);
    const float areas = keptArea + otherArea;
    return inter / (areas - inter);
}

}  // namespace frcnn
}  // namespace taostream
