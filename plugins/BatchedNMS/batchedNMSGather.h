// BatchedNMS's last step as the GPU runs it (batchedNMSKernels.cu, one thread per output row) and the
// host emulation calls it (batchedNMSHost.cpp, taostream_batched_nms_emulated): row r of an image from
// the per-class NMS's merged order (../common/perClassNmsSteps.h), written as batchedNMSHost.cpp
// writes it. __host__ __device__ under nvcc.
#pragma once

#include <cstdint>

#include "../common/perClassNmsSteps.h"

namespace taostream {
namespace nms {

// Row r (< keepTopK) of image: box (clipped to [0, 1] with clipBoxes), score, class; padding past the
// image's detections (zeros, class -1). Row 0 also writes num[image].
TAOSTREAM_HD inline void batchedNmsRow(const uint64_t* merged, const float* boxes, const float* scores,
                                       const int32_t* keptCount, const int32_t* keptPrior, const PerClassShape& s,
                                       int32_t keepTopK, bool clipBoxes, int64_t image, int32_t r, int32_t* num,
                                       float* outBoxes, float* outScores, float* outClasses) {
    const int32_t n = keptDetections(keptCount, s, image, keepTopK);
    if (r == 0) num[image] = n;
    const int64_t row = image * keepTopK + r;
    float* box = outBoxes + row * 4;
    if (r < n) {
        const Detection d = detectionAt(merged, boxes, scores, keptPrior, s, image, r);
        for (int c = 0; c < 4; ++c) box[c] = clipBoxes ? npMinimum(npMaximum(d.box[c], 0.0f), 1.0f) : d.box[c];
        outScores[row] = d.score;
        outClasses[row] = static_cast<float>(d.cls);
    } else {
        for (int c = 0; c < 4; ++c) box[c] = 0.0f;
        outScores[row] = 0.0f;
        outClasses[row] = -1.0f;
    }
}

}  // namespace nms
}  // namespace taostream
