// Per-element maths of the NMS-family plugins (TensorRT OSS allClassNMS.cu, as the numpy reference
// plugins/reference.py's plugin_iou computes it): __host__ __device__ under nvcc. Same float
// operations in the same order as the reference; build with -ffp-contract=off.
#pragma once

#include "maskRCNNMath.h"  // TAOSTREAM_HD, npMinimum, npMaximum

namespace taostream {
namespace nms {

using mrcnn::npMaximum;
using mrcnn::npMinimum;

// IoU of two boxes given as two corners each (any order: normalized to min/max first). ``normalized``
// boxes get no +1 in their areas; pixel boxes do, and with Caffe semantics the intersection too.
TAOSTREAM_HD inline float pluginIou(const float* box, const float* other, bool normalized, bool caffe) {
    const float a0 = npMinimum(box[0], box[2]), a1 = npMinimum(box[1], box[3]);
    const float a2 = npMaximum(box[0], box[2]), a3 = npMaximum(box[1], box[3]);
    const float b0 = npMinimum(other[0], other[2]), b1 = npMinimum(other[1], other[3]);
    const float b2 = npMaximum(other[0], other[2]), b3 = npMaximum(other[1], other[3]);
    const bool disjoint = (b0 > a2) || (b2 < a0) || (b1 > a3) || (b3 < a1);
    const float lo0 = disjoint ? 0.0f : npMaximum(a0, b0);
    const float lo1 = disjoint ? 0.0f : npMaximum(a1, b1);
    const float hi0 = disjoint ? 0.0f : npMinimum(a2, b2);
    const float hi1 = disjoint ? 0.0f : npMinimum(a3, b3);
    const float plus = (caffe && !normalized) ? 1.0f : 0.0f;
    const float interW = (hi0 - lo0) + plus;
    const float interH = (hi1 - lo1) + plus;
    const float areaPlus = normalized ? 0.0f : 1.0f;
    const float areaA = ((a2 - a0) + areaPlus) * ((a3 - a1) + areaPlus);
    const float areaB = ((b2 - b0) + areaPlus) * ((b3 - b1) + areaPlus);
    const float inter = interW * interH;
    if (!(interW > 0.0f && interH > 0.0f)) return 0.0f;
    return inter / ((areaA + areaB) - inter);
}

}  // namespace nms
}  // namespace taostream
