// The suppression matrix of a greedy NMS, one 64-bit word per CUDA block: block (word, i) of 64 threads
// sets bit t of row i's word when the earlier (kept) candidate i suppresses candidate j = 64 * word + t,
// j > i. The kernels of MultilevelProposeROI, Proposal, EfficientNMS and the per-class NMS of
// BatchedNMS / NMS each pass their own rule (IoU, the +1-pixel IoU, IoU within a class, plugin IoU) as
// `suppresses(i, j)`, called only for i < j < count.
#pragma once

#include <cstdint>

namespace taostream {

// Rows of `words` (>= ceil(count / 64)) words: `mask` holds rows x words words, rows >= count (a mask
// laid out for the largest count, as the per-class NMS's, whose counts only the device knows). Launch
// with grid (words, rows) and 64 threads; rows >= count write nothing.
template <typename Suppresses>
__device__ inline void suppressionMaskWordStrided(int count, int words, Suppresses suppresses,
                                                  unsigned long long* __restrict__ mask) {
    const int i = blockIdx.y;
    const int word = blockIdx.x;
    const int j = word * 64 + threadIdx.x;
    const bool hit = i < count && j < count && j > i && suppresses(i, j);
    __shared__ unsigned long long bits;
    if (threadIdx.x == 0) bits = 0;
    __syncthreads();
    if (hit) atomicOr(&bits, 1ull << threadIdx.x);
    __syncthreads();
    if (threadIdx.x == 0 && i < count) mask[static_cast<int64_t>(i) * words + word] = bits;
}

// Launch with grid (ceil(count / 64), count) and 64 threads; `mask` holds count x ceil(count / 64) words.
template <typename Suppresses>
__device__ inline void suppressionMaskWord(int count, Suppresses suppresses, unsigned long long* __restrict__ mask) {
    suppressionMaskWordStrided(count, (count + 63) / 64, suppresses, mask);
}

}  // namespace taostream
