// The suppression matrix of a greedy NMS, one 64-bit word per CUDA block: block (word, i) of 64 threads
// sets bit t of row i's word when the earlier (kept) candidate i suppresses candidate j = 64 * word + t,
// j > i. The kernels of MultilevelProposeROI, Proposal and EfficientNMS each pass their own rule
// (IoU, the +1-pixel IoU, IoU within a class) as `suppresses(i, j)`, called only for i < j < count.
// Launch with grid (ceil(count / 64), count) and 64 threads; `mask` holds count x ceil(count / 64) words.
#pragma once

#include <cstdint>

namespace taostream {

template <typename Suppresses>
__device__ inline void suppressionMaskWord(int count, Suppresses suppresses, unsigned long long* __restrict__ mask) {
    const int i = blockIdx.y;
    const int word = blockIdx.x;
    const int j = word * 64 + threadIdx.x;
    const bool hit = i < count && j < count && j > i && suppresses(i, j);
    __shared__ unsigned long long bits;
    if (threadIdx.x == 0) bits = 0;
    __syncthreads();
    if (hit) atomicOr(&bits, 1ull << threadIdx.x);
    __syncthreads();
    if (threadIdx.x == 0 && i < count) mask[static_cast<int64_t>(i) * ((count + 63) / 64) + word] = bits;
}

}  // namespace taostream
