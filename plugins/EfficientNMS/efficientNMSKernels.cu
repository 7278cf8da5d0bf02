// EfficientNMS_TRT's per-element CUDA kernels on the maths shared with the host implementation
// (plugins/common/efficientNmsMath.h): the fused box decoder, one thread per (anchor, box class), and
// the suppression bitmask of the greedy NMS over the sorted candidates (bit j % 64 of word (i, j / 64)
// set when candidate i suppresses candidate j > i: same class unless class_agnostic, IoU >= the
// threshold). Built with --fmad=false so each operation rounds as on the host. The candidate
// selection and sort and the greedy walk over the mask are not written yet; the IPluginV3 plugin
// (efficientNMSPlugin.cpp) is host-staged and calls none of these.
#include <cstdint>

#include "../common/efficientNmsMath.h"
#include "../common/suppressionMask.cuh"

namespace ef = taostream::efficient;

namespace {

__global__ void efficientDecodeKernel(int64_t anchors, int boxClasses, int boxCoding, const float* __restrict__ boxes,
                                      const float* __restrict__ anchorBoxes, float* __restrict__ corners) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= anchors * boxClasses) return;
    const int64_t anchor = i / boxClasses;
    ef::decodeBox(boxes + 4 * i, anchorBoxes == nullptr ? nullptr : anchorBoxes + 4 * anchor, boxCoding,
                  corners + 4 * i);
}

__global__ void efficientSuppressionMaskKernel(int count, const float* __restrict__ corners,
                                               const int* __restrict__ classes, int classAgnostic, float threshold,
                                               unsigned long long* __restrict__ mask) {
    // i is the earlier (kept) candidate; IoU in the plugin's argument order (j's box first)
    taostream::suppressionMaskWord(
        count,
        [=](int i, int j) {
            return (classAgnostic || classes[i] == classes[j]) &&
                   ef::iou(corners + 4 * static_cast<int64_t>(j), corners + 4 * static_cast<int64_t>(i)) >= threshold;
        },
        mask);
}

}  // namespace

extern "C" {

// One image, device pointers: boxes [anchors, box_classes, 4], anchor_boxes [anchors, 4] or null ->
// corners [anchors, box_classes, 4]. Returns the launch status.
int taostream_efficient_decode_cuda(int64_t anchors, int box_classes, int box_coding, const float* boxes,
                                    const float* anchor_boxes, float* corners, cudaStream_t stream) {
    const int64_t count = anchors * box_classes;
    if (count <= 0) return 0;
    const int threads = 256;
    efficientDecodeKernel<<<static_cast<unsigned>((count + threads - 1) / threads), threads, 0, stream>>>(
        anchors, box_classes, box_coding, boxes, anchor_boxes, corners);
    return static_cast<int>(cudaGetLastError());
}

// The sorted candidates' corners [count, 4] and classes [count] -> mask [count, ceil(count / 64)] words.
int taostream_efficient_suppression_mask_cuda(int count, const float* corners, const int* classes,
                                              int class_agnostic, float threshold, unsigned long long* mask,
                                              cudaStream_t stream) {
    if (count <= 0) return 0;
    const dim3 grid((count + 63) / 64, count);
    efficientSuppressionMaskKernel<<<grid, 64, 0, stream>>>(count, corners, classes, class_agnostic, threshold, mask);
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
