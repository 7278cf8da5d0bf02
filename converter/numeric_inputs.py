"""Numbers a user types, checked where they enter: one TaostreamError line naming the option, what
TensorRT or DeepStream accepts, and the fix, instead of an engine build or a deployment that fails
later (or a NaN threshold that silently keeps or drops everything).

TensorRT limits used here:
- batch sizes are ``int32_t`` (IBuilder::setMaxBatchSize, optimization-profile dims in TensorRT 8.x,
  nvinfer's batch-size), so at most 2**31 - 1;
- a tensor's element count must stay below 2**31: TensorRT 8.x indexes tensors with 32-bit integers,
  and 10.x lifted it only for some layers (NVIDIA/TensorRT issue #3815, "tensor number < 2^31-1"),
  so batch x C x H x W of the input must not exceed 2**31 - 1.
"""

from __future__ import annotations

import math
from typing import Iterable

from taostream.converter.errors import TaostreamError

INT32_MAX = 2**31 - 1
MAX_TENSOR_ELEMENTS = INT32_MAX


# Jetson AGX Xavier, Xavier NX, AGX Orin and Orin NX 16GB have two DLA cores, Orin NX 8GB one, Orin Nano none
MAX_DLA_CORE = 1


def require_dla_core(value: int | None, option: str = "--dla-core") -> int | None:
    """None (no DLA) or a DLA core index >= 0 (Jetson AGX Xavier/Orin have cores 0 and 1)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TaostreamError(f"{option} {value!r}: give a DLA core number (0 or 1), or leave the option out for the GPU")
    if value < 0:
        raise TaostreamError(f"{option} {value}: a DLA core is numbered from 0 (0 or 1 on Jetson AGX Xavier/Orin); "
                             "leave the option out to run on the GPU")
    if value > MAX_DLA_CORE:
        raise TaostreamError(f"{option} {value}: no Jetson has DLA core {value} (Xavier and Orin have two, 0 and 1; "
                             "Orin NX 8GB only 0): use 0 or 1, or leave the option out to run on the GPU")
    return value


def require_batch_size(value: int, option: str = "--batch-size", per_sample: Iterable[int] | None = None) -> int:
    """A batch size TensorRT can build: 1 <= value <= 2**31-1 and, when the per-sample input dims are
    known, value x prod(dims) <= 2**31-1 elements."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TaostreamError(f"{option} {value!r}: give a whole number of 1 or more")
    if value < 1:
        raise TaostreamError(f"{option} {value}: the batch size must be 1 or more")
    if value > INT32_MAX:
        raise TaostreamError(f"{option} {value}: TensorRT batch sizes are 32-bit; use at most {INT32_MAX}")
    dims = [int(d) for d in per_sample or () if int(d) > 0]
    if dims:
        sample = math.prod(dims)
        if value * sample > MAX_TENSOR_ELEMENTS:
            largest = max(1, MAX_TENSOR_ELEMENTS // sample)
            raise TaostreamError(
                f"{option} {value}: the input tensor would hold {value} x {'x'.join(map(str, dims))} = "
                f"{value * sample} elements, more than TensorRT's 2^31-1; use a batch size of at most {largest}")
    return value


def require_fraction(value: float | None, option: str = "--threshold", above_one: bool = False) -> float | None:
    """None or a finite number in [0, 1] (confidence thresholds: NaN would compare false with
    every score and silently keep or drop everything). ``above_one``: allow numbers above 1 (a check
    before the network is known; DetectNet_v2's cluster confidences are summed coverage)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TaostreamError(f"{option} {value!r}: give a number between 0 and 1, e.g. 0.5") from None
    if math.isnan(number) or not 0.0 <= number <= (math.inf if above_one else 1.0) or math.isinf(number):
        raise TaostreamError(f"{option} {value}: a confidence threshold is between 0 and 1 (inclusive), e.g. 0.5")
    return number


def require_iou(value: float | None, option: str = "--iou") -> float | None:
    """None or a finite overlap in (0, 1]: an IoU of 0 makes every prediction overlapping nothing a
    match (a box anywhere in the image scores as found), above 1 nothing ever matches."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TaostreamError(f"{option} {value!r}: give an IoU above 0 and at most 1, e.g. 0.5") from None
    if not 0.0 < number <= 1.0:  # also refuses NaN
        raise TaostreamError(f"{option} {value}: a matching IoU is above 0 and at most 1 (0 would count a box "
                             "anywhere in the image as a match), e.g. 0.5")
    return number


def parse_gpu_index(text: str | int, option: str = "--gpu-index") -> str:
    """'0', '0,1' or '1, 3' -> the CUDA_VISIBLE_DEVICES value '0', '0,1', '1,3': GPU numbers >= 0,
    comma separated, each once."""
    parts = [part.strip() for part in str(text).split(",")]
    if not parts or any(not part.isdigit() or not part.isascii() for part in parts):
        raise TaostreamError(f"{option} {text!r}: give GPU numbers separated by commas, e.g. 0 or 0,1 "
                             "(as nvidia-smi numbers them)")
    numbers = [int(part) for part in parts]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise TaostreamError(f"{option} {text!r}: GPU {', '.join(map(str, repeated))} listed twice; give each GPU once")
    return ",".join(map(str, numbers))
