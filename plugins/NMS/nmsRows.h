// NMS_TRT's last step as the GPU runs it (nmsKernels.cu, one thread per output row) and the host
// emulation calls it (nmsHost.cpp, taostream_nms_emulated): row r of an image's [keepTopK, 7]
// detections from the per-class NMS's merged order (../common/perClassNmsSteps.h), written as
// nmsDetections.h writes it. __host__ __device__ under nvcc.
#pragma once

#include <cstdint>

#include "../common/perClassNmsSteps.h"

namespace taostream {
namespace nms {

// Row r (< keepTopK) of image: (image, class, score, x1, y1, x2, y2 clipped to [0, 1]); padding past
// the image's detections (image, -1, zeros). Row 0 also writes counts[image].
TAOSTREAM_HD inline void nmsDetectionRow(const uint64_t* merged, const float* boxes, const float* scores,
                                         const int32_t* keptCount, const int32_t* keptPrior, const PerClassShape& s,
                                         int32_t keepTopK, int64_t image, int32_t r, float* detections,
                                         int32_t* counts) {
    const int32_t n = keptDetections(keptCount, s, image, keepTopK);
    if (r == 0) counts[image] = n;
    float* row = detections + (image * keepTopK + r) * 7;
    row[0] = static_cast<float>(image);
    if (r < n) {
        const Detection d = detectionAt(merged, boxes, scores, keptPrior, s, image, r);
        row[1] = static_cast<float>(d.cls);
        row[2] = d.score;
        for (int c = 0; c < 4; ++c) row[3 + c] = npMinimum(npMaximum(d.box[c], 0.0f), 1.0f);
    } else {
        row[1] = -1.0f;
        for (int c = 2; c < 7; ++c) row[c] = 0.0f;
    }
}

}  // namespace nms
}  // namespace taostream
