// NMS_TRT's per-element CUDA kernel on the maths shared with the host implementation
// (plugins/common/ssdDecode.h): decode every (prior, location class) box and apply the confidence
// sigmoid. Built with --fmad=false so each operation rounds as on the host. The TensorRT plugin
// (nmsPlugin.cpp) runs these on the device, then the per-class sort and NMS on the host (no GPU
// sort/NMS kernel is written yet).
#include <cstdint>

#include "../common/ssdDecode.h"
#include "nmsKernels.h"

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
