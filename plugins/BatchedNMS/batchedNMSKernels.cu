// BatchedNMS(Dynamic)_TRT on the GPU; see batchedNMSKernels.h. The per-class NMS
// (../common/perClassNmsDevice.cu), then batchedNmsRow, the step the host emulation
// (taostream_batched_nms_emulated) calls in a loop, once per output row. Built with --fmad=false.
#include "batchedNMSKernels.h"

#include "../common/perClassNmsDevice.h"
#include "batchedNMSGather.h"

namespace taostream {
namespace nms {
namespace {

__global__ void batchedNmsRowsKernel(PerClassShape s, int32_t keepTopK, bool clipBoxes, const uint64_t* merged,
                                     const float* __restrict__ boxes, const float* __restrict__ scores,
                                     const int32_t* __restrict__ keptCount, const int32_t* __restrict__ keptPrior,
                                     int32_t* __restrict__ num, float* __restrict__ outBoxes,
                                     float* __restrict__ outScores, float* __restrict__ outClasses) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= int64_t{s.batch} * keepTopK) return;
    batchedNmsRow(merged, boxes, scores, keptCount, keptPrior, s, keepTopK, clipBoxes, i / keepTopK,
                  static_cast<int32_t>(i % keepTopK), num, outBoxes, outScores, outClasses);
}

}  // namespace

int batchedNmsDevice(const PerClassShape& s, int32_t keepTopK, bool clipBoxes, const float* boxes,
                     const float* scores, void* workspace, cudaStream_t stream, int32_t* num, float* outBoxes,
                     float* outScores, float* outClasses, const int32_t** nonFinite) {
    PerClassDeviceResult r{};
    const int status = perClassNmsDevice(s, boxes, scores, workspace, stream, &r);
    if (status != 0) return status;
    *nonFinite = r.nonFinite;
    const int64_t rows = int64_t{s.batch} * keepTopK;
    if (rows == 0) return 0;
    const int threads = 256;
    batchedNmsRowsKernel<<<static_cast<unsigned>((rows + threads - 1) / threads), threads, 0, stream>>>(
        s, keepTopK, clipBoxes, r.merged, boxes, scores, r.keptCount, r.keptPrior, num, outBoxes, outScores,
        outClasses);
    return static_cast<int>(cudaGetLastError());
}

}  // namespace nms
}  // namespace taostream
