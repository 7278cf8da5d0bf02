// decodeBBoxes.cu's box decoding (SSD priors and variances) and the confidence sigmoid, per element:
// __host__ __device__ under nvcc. The float operations of plugins/reference.py's
// decode_ssd_boxes, in its order; exp computed in double and rounded as the reference's exp_f32.
#pragma once

#include <cmath>

#include "maskRCNNMath.h"  // TAOSTREAM_HD

namespace taostream {
namespace nms {

enum CodeType { kCorner = 0, kCenterSize = 1, kCornerSize = 2, kTfCenter = 3 };

TAOSTREAM_HD inline float expF32(float x) { return static_cast<float>(exp(static_cast<double>(x))); }

TAOSTREAM_HD inline float sigmoidF32(float x) {
    const float e = expF32(-x);
    const float d = 1.0f + e;
    return 1.0f / d;
}

// loc (4), prior box pb (x1, y1, x2, y2), variances var (4) -> out (x1, y1, x2, y2).
TAOSTREAM_HD inline void decodeSsdBox(const float* loc, const float* pb, const float* variances, int codeType,
                                      bool varianceEncodedInTarget, float* out) {
    float var[4] = {variances[0], variances[1], variances[2], variances[3]};
    if (varianceEncodedInTarget && codeType != kTfCenter) {
        var[0] = var[1] = var[2] = var[3] = 1.0f;
    }
    const float pw = pb[2] - pb[0];
    const float ph = pb[3] - pb[1];
    const float pcx = (pb[0] + pb[2]) / 2.0f;
    const float pcy = (pb[1] + pb[3]) / 2.0f;
    if (codeType == kCorner) {
        for (int i = 0; i < 4; ++i) {
            const float scaled = loc[i] * var[i];
            out[i] = pb[i] + scaled;
        }
        return;
    }
    if (codeType == kCornerSize) {
        const float size[4] = {pw, ph, pw, ph};
        for (int i = 0; i < 4; ++i) {
            const float scaled = loc[i] * var[i];
            const float sized = scaled * size[i];
            out[i] = pb[i] + sized;
        }
        return;
    }
    float tx, ty, tw, th;
    if (codeType == kCenterSize) {
        tx = loc[0], ty = loc[1], tw = loc[2], th = loc[3];
    } else {  // TF_CENTER: (ty, tx, th, tw); the variances keep their positions
        ty = loc[0], tx = loc[1], th = loc[2], tw = loc[3];
    }
    const float vx = var[0] * tx;
    const float vy = var[1] * ty;
    const float vxw = vx * pw;
    const float vyh = vy * ph;
    const float cx = vxw + pcx;
    const float cy = vyh + pcy;
    const float w = expF32(var[2] * tw) * pw;
    const float h = expF32(var[3] * th) * ph;
    const float halfW = w / 2.0f;
    const float halfH = h / 2.0f;
    out[0] = cx - halfW;
    out[1] = cy - halfH;
    out[2] = cx + halfW;
    out[3] = cy + halfH;
}

}  // namespace nms
}  // namespace taostream
