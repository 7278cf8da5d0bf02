// Proposal(Dynamic)'s per-element CUDA kernels on the maths shared with the host implementation
// (plugins/common/proposalMath.h): the anchor decode with the kernel's clip and the roi_min_size score,
// one thread per (anchor, cell), and the suppression bitmask of the +1 pixel greedy NMS over the sorted
// candidates (bit j % 64 of word (i, j / 64) set when iouPlusOne(i, j) > the threshold, j > i). Built
// with --fmad=false so each operation rounds as on the host. The sort and the greedy walk over the mask
// are not written yet; the IPluginV3 plugin (proposalPlugin.cpp) is host-staged and calls none of these.
#include <cstdint>

#include "../common/proposalMath.h"
#include "../common/suppressionMask.cuh"

namespace fr = taostream::frcnn;

namespace {

__global__ void decodeProposalsKernel(int anchors, int height, int width, int stride, float maxX, float maxY,
                                      float roiMinSize, const float* __restrict__ anchorW,
                                      const float* __restrict__ anchorH, const float* __restrict__ scores,
                                      const float* __restrict__ deltas, fr::ProposalBox* __restrict__ boxes,
                                      float* __restrict__ fg) {
    const int64_t cells = static_cast<int64_t>(height) * width;
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= anchors * cells) return;
    const int a = static_cast<int>(i / cells);
    const int64_t cell = i % cells;
    const float* d = deltas + static_cast<int64_t>(a) * 4 * cells + cell;
    const fr::ProposalBox box = fr::decodeProposal(d[0], d[cells], d[2 * cells], d[3 * cells], anchorW[a], anchorH[a],
                                                   fr::anchorCentre(cell % width, stride),
                                                   fr::anchorCentre(cell / width, stride), maxX, maxY);
    boxes[i] = box;
    fg[i] = fr::proposalScore(scores[i], box, roiMinSize);
}

__global__ void plusOneSuppressionMaskKernel(int count, const fr::ProposalBox* __restrict__ boxes, float threshold,
                                             unsigned long long* __restrict__ mask) {
    taostream::suppressionMaskWord(
        count, [=](int i, int j) { return fr::iouPlusOne(boxes[i], boxes[j]) > threshold; }, mask);
}

}  // namespace

extern "C" {

// One image, device pointers: scores [anchors, height, width], deltas [anchors, 4, height, width],
// anchor_w / anchor_h [anchors] (anchorWidth / anchorHeight) -> boxes [anchors * height * width, 4]
// (x1, y1, x2, y2 pixels) and their scores (-inf for boxes at or under roi_min_size).
int taostream_proposal_decode_cuda(int anchors, int height, int width, int rpn_stride, int input_height,
                                   int input_width, float roi_min_size, const float* anchor_w, const float* anchor_h,
                                   const float* scores, const float* deltas, float* boxes, float* fg,
                                   cudaStream_t stream) {
    const int64_t count = static_cast<int64_t>(anchors) * height * width;
    if (count <= 0) return 0;
    const int threads = 256;
    decodeProposalsKernel<<<static_cast<unsigned>((count + threads - 1) / threads), threads, 0, stream>>>(
        anchors, height, width, rpn_stride, static_cast<float>(input_width - 1), static_cast<float>(input_height - 1),
        roi_min_size, anchor_w, anchor_h, scores, deltas, reinterpret_cast<fr::ProposalBox*>(boxes), fg);
    return static_cast<int>(cudaGetLastError());
}

// The sorted candidates' boxes [count, 4] -> mask [count, ceil(count / 64)] words.
int taostream_proposal_suppression_mask_cuda(int count, const float* boxes, float threshold, unsigned long long* mask,
                                             cudaStream_t stream) {
    if (count <= 0) return 0;
    const dim3 grid((count + 63) / 64, count);
    plusOneSuppressionMaskKernel<<<grid, 64, 0, stream>>>(count, reinterpret_cast<const fr::ProposalBox*>(boxes),
                                                          threshold, mask);
    return static_cast<int>(cudaGetLastError());
}

}  // extern "C"
