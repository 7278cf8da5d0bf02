// MultilevelProposeROI_TRT's per-element CUDA kernels, on the maths shared with the host
// implementation (plugins/common/maskRCNNMath.h): anchor + decode of the selected anchors of a level,
// and the suppression bitmask of greedy NMS (bit j % 64 of word (i, j / 64) set when boxIou(i, j) > the
// threshold, j > i). Built with --fmad=false so each operation rounds as on the host. The sort, the
// greedy walk over the mask and the IPluginV3 plugin are not written yet.
#include <cstdint>

#include "../common/maskRCNNMath.h"
#include "../common/suppressionMask.cuh"

namespace mr = taostream::mrcnn;

namespace {

__global__ void decodeSelectedKernel(int level, int height, int width, int64_t centresX, int count,
                                     const int64_t* __restrict__ selected, const float* __restrict__ deltas,
                                     float clip, mr::Box* __restrict__ boxes) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const float weights[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    const int64_t anchor = selected[i];
    boxes[i] = mr::decodeBox(mr::levelAnchor(level, anchor, centresX), deltas + 4 * anchor, weights, clip, height,
                             width);
}

__global__ void suppressionMaskKernel(int count, const mr::Box* __restrict__ boxes, float threshold,
                                      unsigned long long* __restrict__ mask) {
    taostream::suppressionMaskWord(
        count, [=](int i, int j) { return mr::boxIou(boxes[i], boxes[j]) > threshold; }, mask);
}

}  // namespace

extern "C" {

// Device pointers; boxes as (y1, x1, y2, x2) float4-like rows. Returns the launch status.
int taostream_mrcnn_decode_selected_cuda(int level, int height, int width, int count, const int64_t* selected,
                                         const float* deltas, float* boxes, cudaStream_t stream) {
    const int64_t centresX = mr::levelCentres(level, width);
    const float clip = static_cast<float>(log(1000.0 / 16.0));
    const int threads = 256;
    decodeSelectedKernel<<<(count + threads - 1) / threads, threads, 0, stream>>>(
        level, height, width, centresX, count, selected, deltas, clip, reinterpret_cast<mr::Box*>(boxes));
    return static_cast<int>(cudaGetLastError());
}

int taostream_mrcnn_suppression_mask_cuda(int count, const float* boxes, float threshold,
                                          unsigned long long* mask, cudaStream_t stream) {
    if (count <= 0) return 0;
    const dim3 grid((count + 63) / 64, count);
    suppressionMaskKernel<<<grid, 64, 0, stream>>>(count, reinterpret_cast<const mr::Box*>(boxes), threshold, mask);
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
