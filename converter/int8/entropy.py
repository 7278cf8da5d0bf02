"""TensorRT's EntropyCalibration2 threshold from a histogram of |x| (NVIDIA GTC 2017, "8-bit Inference with
TensorRT"; as NVIDIA's pytorch-quantization computes it in calib/histogram.py).

For each candidate i (128 .. number of bins): the reference P is the first i bins with the mass beyond them
added to bin i-1; the candidate Q is the same i bins merged into 128 int8 levels and spread back evenly over
the bins that were non-empty (empty bins stay empty). The threshold is the upper edge of bin i with the least
KL(P || Q), the last one on ties. Bin 0 (exact zeros: half or more of a ReLU's output) is given bin 1's count
first, as pytorch-quantization does; otherwise its mass, spread over its level, favours clipping.

onnxruntime's own entropy differs: it histograms signed values over [-max, max] (half the bins stay empty for
a ReLU, and 128 levels span both signs), keeps the zero bin, and rounds Q to integers. On LPDNet US it
clips the ReLU6 outputs to 0.38-3.8 where this gives 6 (docs/int8.md).

Cumulative sums make each candidate O(levels): KL(P||Q) = sum(p log p - p log q) / N + log(sum Q / N), with
sum Q = the mass of the first i bins, and only bin i-1 differing from the histogram.
"""

from __future__ import annotations

import numpy as np


def entropy_amax(hist, edges, *, levels: int = 128, start_bin: int = 128) -> float:
    """amax minimising KL(P || Q) for the |x| histogram ``hist`` with bin ``edges`` (len(hist) + 1, from 0)."""
    counts = np.asarray(hist, dtype=np.float64).copy()
    edges = np.asarray(edges, dtype=np.float64)
    n = counts.size
    if n > 1:
        counts[0] = counts[1]
    total = counts.sum()
    if n <= start_bin or total <= 0:
        return float(edges[-1])
    nonzero = counts > 0
    clogc = np.zeros(n)
    clogc[nonzero] = counts[nonzero] * np.log(counts[nonzero])
    mass, filled, plogp = (np.concatenate(([0.0], np.cumsum(v))) for v in (counts, nonzero.astype(np.float64), clogc))
    level_starts = np.arange(levels + 1)
    best, best_i = np.inf, n
    for i in range(start_bin, n + 1):
        bounds = -(-level_starts * i // levels)  # first bin of each level: ceil(k * i / levels)
        level_mass, level_filled, level_plogp = (np.diff(v[bounds]) for v in (mass, filled, plogp))
        used = level_filled > 0
        q_level = level_mass[used] / level_filled[used]  # Q's value on each non-empty bin of the level
        acc = float(np.sum(level_plogp[used] - level_mass[used] * np.log(q_level)))
        last, outliers = counts[i - 1], total - mass[i]
        if outliers > 0:
            if last == 0:
                continue  # P has the outliers' mass where Q has none: infinite divergence
            log_q = np.log(q_level[-1])  # bin i-1 is non-empty, so its level (the last) is used
            acc += (last + outliers) * (np.log(last + outliers) - log_q) - last * (np.log(last) - log_q)
        kl = acc / total + np.log(mass[i] / total)
        if kl <= best:
            best, best_i = kl, i
    return float(edges[best_i])
