"""The option names build errors quote: tao-converter's (-d, -t, ...) by default, `taostream convert`'s
(--input-dims, --precision, ...) while that command runs, so a message names the option the user typed."""

from __future__ import annotations

import contextlib
import contextvars

TAO_CONVERTER = {
    "input_dims": "-d", "input_order": "-i", "precision": "-t", "dla_core": "-u", "profile": "-p",
    "max_batch": "-m", "outputs": "-o", "calibration_cache": "-c", "calibration_batch_size": "-b",
    "workspace": "-w", "strict": "-s", "engine": "-e", "key": "-k",
}
CONVERT = {
    "input_dims": "--input-dims", "input_order": "--input-order", "precision": "--precision",
    "dla_core": "--dla-core", "profile": "--profile", "max_batch": "--batch", "min_batch": "--min",
    "opt_batch": "--opt", "outputs": "--outputs", "calibration_cache": "--calibration-cache",
    "calibration_batch_size": "--calibration-batch-size", "workspace": "--workspace", "strict": "--strict",
    "engine": "-o", "key": "--key",
}
_current = contextvars.ContextVar("taostream_option_names", default=TAO_CONVERTER)


def flag(setting: str) -> str:
    """The option that sets ``setting`` in the command now running (tao-converter's by default)."""
    return _current.get().get(setting, setting)


@contextlib.contextmanager
def quoting(names: dict[str, str]):
    """Quote ``names`` (TAO_CONVERTER or CONVERT) in messages raised inside the block."""
    token = _current.set(names)
    try:
        yield
    finally:
        _current.reset(token)
