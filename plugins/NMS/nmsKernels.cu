// NMS_TRT on the GPU, on the maths shared with the host implementation: decode every (prior, location
// class) box and apply the confidence sigmoid (plugins/common/ssdDecode.h), then the per-class NMS of
// ../common/perClassNmsDevice.cu and one thread per output row (nmsRows.h), the steps the host emulation
// (taostream_nms_emulated) runs in loops. Built with --fmad=false so each operation rounds as on the
// host. Compiled for every architecture and emulated on the host; never run on a GPU.
#include <cstdint>

#include "../common/perClassNmsDevice.h"
#include "../common/ssdDecode.h"
#include "nmsKernels.h"
#include "nmsRows.h"

namespace nms = taostream::nms;

namespace {

__global__ void decodeSsdKernel(int64_t priors, int locClasses, const float* __restrict__ loc,
                                const float* __restrict__ priorData, int codeType, bool varianceEncodedInTarget,
                                float* __restrict__ boxes) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= priors * locClasses) return;
    const int64_t prior = i / locClasses;
    nms::decodeSsdBox(loc + 4 * i, priorData + 4 * prior, priorData + 4 * (priors + prior), codeType,
                      varianceEncodedInTarget, boxes + 4 * i);
}

__global__ void nmsRowsKernel(nms::PerClassShape s, int32_t keepTopK, const uint64_t* __restrict__ merged,
                              const float* __restrict__ boxes, const float* __restrict__ scores,
                              const int32_t* __restrict__ keptCount, const int32_t* __restrict__ keptPrior,
                              float* __restrict__ detections, int32_t* __restrict__ counts) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= int64_t{s.batch} * keepTopK) return;
    nms::nmsDetectionRow(merged, boxes, scores, keptCount, keptPrior, s, keepTopK, i / keepTopK,
                         static_cast<int32_t>(i % keepTopK), detections, counts);
}

__global__ void sigmoidKernel(int64_t count, const float* __restrict__ in, float* __restrict__ out) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) out[i] = nms::sigmoidF32(in[i]);
}

}  // namespace

extern "C" {

// One image, device pointers: loc [priors, locClasses, 4], priorData [2, priors, 4] -> boxes.
int taostream_ssd_decode_cuda(int64_t priors, int loc_classes, const float* loc, const float* prior_data,
                              int code_type, int variance_encoded_in_target, float* boxes, cudaStream_t stream) {
    const int threads = 256;
    const int64_t count = priors * loc_classes;
    decodeSsdKernel<<<static_cast<unsigned>((count + threads - 1) / threads), threads, 0, stream>>>(
        priors, loc_classes, loc, prior_data, code_type, variance_encoded_in_target != 0, boxes);
    return static_cast<int>(cudaGetLastError());
}

int taostream_sigmoid_cuda(int64_t count, const float* in, float* out, cudaStream_t stream) {
    const int threads = 256;
    sigmoidKernel<<<static_cast<unsigned>((count + threads - 1) / threads), threads, 0, stream>>>(count, in, out);
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"

int taostream::nms::nmsDevice(const PerClassShape& s, int32_t keepTopK, const float* boxes, const float* scores,
                              void* workspace, cudaStream_t stream, float* detections, int32_t* counts,
                              const int32_t** nonFinite) {
    PerClassDeviceResult r{};
    const int status = perClassNmsDevice(s, boxes, scores, workspace, stream, &r);
    if (status != 0) return status;
    *nonFinite = r.nonFinite;
    const int64_t rows = int64_t{s.batch} * keepTopK;
    if (rows == 0) return 0;
    const int threads = 256;
    nmsRowsKernel<<<static_cast<unsigned>((rows + threads - 1) / threads), threads, 0, stream>>>(
        s, keepTopK, r.merged, boxes, scores, r.keptCount, r.keptPrior, detections, counts);
    return static_cast<int>(cudaGetLastError());
}
