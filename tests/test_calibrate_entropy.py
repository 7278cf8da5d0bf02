"""`--calibration-method entropy` is TensorRT's EntropyCalibration2 (converter/int8/entropy.py)."""

from __future__ import annotations

import numpy as np
import pytest

from taostream.converter.int8.entropy import entropy_amax


def test_hand_computed_case_picks_the_least_divergence():
    """Four bins, two levels. Bin 0 takes bin 1's count (8, not 100). By hand: i=2: P=[8,12]/20, Q=[8,8]/16,
    KL=0.0201; i=3: P=[8,8,4]/20, Q=[8,8,1]/17, KL=0.1147; i=4: P=[8,8,1,3]/20, Q=[8,8,2,2]/20, KL=0.0262.
    So amax is the upper edge of bin 2."""
    assert entropy_amax([100, 8, 1, 3], [0, 0.5, 1, 1.5, 2], levels=2, start_bin=2) == 1.0


def test_q_keeps_empty_bins_empty_and_ties_go_to_the_widest_range():
    """[4,4,0,2]: i=2 gives KL 0.0201, i=3 puts the outliers on an empty bin (infinite), i=4 reproduces P
    exactly (level 1 spreads 2 over its one non-empty bin): KL 0, amax = the whole range."""
    assert entropy_amax([4, 4, 0, 2], [0, 1, 2, 3, 4], levels=2, start_bin=2) == 4.0


def _relu6(rng, saturated: float) -> np.ndarray:
    x = np.minimum(np.maximum(rng.normal(0.3, 1.2, 400_000), 0.0), 6.0)  # a ReLU6: half exact zeros
    x[: int(saturated * x.size)] = 6.0
    return x


@pytest.mark.parametrize("saturated", [0.002, 0.02, 0.2])
def test_a_saturating_relu6_keeps_its_bound(saturated):
    """The spike at 6 is mass that clipping would move: TensorRT's threshold keeps 6 (onnxruntime's own
    entropy, which the calibrator used before, gives 3.76 at 2% saturated)."""
    x = _relu6(np.random.default_rng(0), saturated)
    hist, edges = np.histogram(x, 2048, range=(0, x.max()))
    assert entropy_amax(hist, edges) == pytest.approx(6.0)


@pytest.mark.parametrize("draw, low, high", [
    (lambda rng: np.abs(rng.laplace(size=400_000)), 0.5, 0.9),
    (lambda rng: np.abs(rng.standard_t(3, size=400_000)), 0.2, 0.5),
])
def test_a_long_tail_is_clipped(draw, low, high):
    """Rare large values are what entropy calibration clips: amax well inside the observed maximum."""
    x = draw(np.random.default_rng(0))
    hist, edges = np.histogram(x, 2048, range=(0, x.max()))
    assert low * x.max() < entropy_amax(hist, edges) < high * x.max()


def test_too_few_bins_or_no_data_keep_the_whole_range():
    edges = np.linspace(0, 3, 101)
    assert entropy_amax(np.ones(100), edges) == 3.0
    assert entropy_amax(np.zeros(2048), np.linspace(0, 1, 2049)) == 1.0
