// NMS_TRT's last step for one image, shared by the host implementation (nmsHost.cpp) and the
// TensorRT plugin (nmsPlugin.cpp): per-class NMS over the decoded boxes and scores, then the
// [keepTopK, 7] rows (image, class, score, x1, y1, x2, y2 clipped to [0, 1]; padding class -1).
#pragma once

#include <cstdint>
#include <vector>

#include "../common/perClassNmsHost.h"

namespace taostream {
namespace nms {

// boxes [numBoxes, locClasses, 4] decoded, scores [numBoxes, numClasses] (after the sigmoid when
// confSigmoid); rows: keepTopK * 7 floats, fully written. Returns the detections written.
inline int32_t writeNmsDetections(int32_t image, const float* boxes, const float* scores, const PerClassFields& f,
                                  float* rows) {
    const std::vector<Kept> kept = perClassNms(boxes, scores, f);
    for (int64_t r = 0; r < f.keepTopK; ++r) {
        float* row = rows + r * 7;
        row[0] = static_cast<float>(image);
        if (r < static_cast<int64_t>(kept.size())) {
            const Kept& k = kept[r];
            const float* box = boxes + (k.prior * f.locClasses + (f.shareLocation ? 0 : k.cls)) * 4;
            row[1] = static_cast<float>(k.cls);
            row[2] = k.score;
            for (int c = 0; c < 4; ++c) row[3 + c] = npMinimum(npMaximum(box[c], 0.0f), 1.0f);
        } else {
            row[1] = -1.0f;
            for (int c = 2; c < 7; ++c) row[c] = 0.0f;
        }
    }
    return static_cast<int32_t>(kept.size());
}

}  // namespace nms
}  // namespace taostream
