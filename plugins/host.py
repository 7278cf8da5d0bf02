"""The plugins' C++ host implementations (libtaostream_plugins_host.so, built from plugins/ by the
project's CMake) for the CPU paths, called through ctypes (plugins/host_calls.py): each equals its
numpy reference (plugins/reference.py, frcnn.py, maskrcnn.py) bit for bit and is much faster. Where
the library is not built, or an input is not finite, the numpy reference runs instead.

Today: MultilevelProposeROI_TRT (MaskRCNN's proposals, nearly all of its CPU time in numpy),
MultilevelCropAndResize_TRT and GenerateDetection_TRT (its second stage), BatchedNMS_TRT /
BatchedNMSDynamic_TRT, NMS_TRT / NMSDynamic_TRT, BatchTilePlugin_TRT, ResizeNearest_TRT,
SpecialSlice_TRT, CropAndResize / CropAndResizeDynamic, Proposal / ProposalDynamic and
EfficientNMS_TRT.
The library is found at $TAOSTREAM_PLUGINS_HOST_LIBRARY, else in the checkout's build/plugins/
(``cmake -S . -B build && cmake --build build --target taostream_plugins_host``, or
``build_plugin_host_library()``).
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from taostream.plugins import host_calls
from taostream.plugins import frcnn as pluginref_frcnn
from taostream.plugins import maskrcnn as mrcnn
from taostream.plugins import reference as pluginref
from taostream.converter.errors import TaostreamError
from taostream.converter.native_build import (
    DEFAULT_BUILD_DIR, REPO_ROOT, SOURCE_DIR, NativeBuildError, bring_up_to_date, build_folder_lock, build_targets,
    configure,
)

LIBRARY_NAME = host_calls.LIBRARY_NAME
LIBRARY_ENV = "TAOSTREAM_PLUGINS_HOST_LIBRARY"
TARGET = "taostream_plugins_host"


def find_plugin_host_library(build_dir: Path | None = None) -> Path | None:
    """$TAOSTREAM_PLUGINS_HOST_LIBRARY, else the checkout's build (build/plugins/), else None."""
    from_env = os.environ.get(LIBRARY_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise TaostreamError(f"{LIBRARY_ENV}={from_env}: no such file; unset it or build the plugin host library")
        return path
    if SOURCE_DIR != REPO_ROOT:  # an installed package: no plugins/ sources beside it
        return None
    build_dir = Path(build_dir or DEFAULT_BUILD_DIR)
    candidate = build_dir / "plugins" / LIBRARY_NAME
    if candidate.is_file():
        try:  # before the first load: ctypes would keep serving an old library loaded from this path
            bring_up_to_date(build_dir, (TARGET,))
        except NativeBuildError as exc:
            logging.getLogger(__name__).warning("%s: could not be brought up to date (%s)", candidate,
                                                str(exc).splitlines()[0])
    return candidate if candidate.is_file() else None


def build_plugin_host_library(build_dir: Path | None = None, *, jobs: int = 2) -> Path:
    """Configure (once) and build libtaostream_plugins_host.so with CMake in a checkout; its path."""
    if SOURCE_DIR != REPO_ROOT:
        raise NativeBuildError("the plugin host library builds from a taostream checkout (plugins/ is not installed)")
    build_dir = Path(build_dir or DEFAULT_BUILD_DIR)
    with build_folder_lock(build_dir):
        configure(build_dir)
        build_targets(build_dir, (TARGET,), jobs=jobs)
    load_plugin_host.cache_clear()
    return build_dir / "plugins" / LIBRARY_NAME


@functools.lru_cache(maxsize=None)
def load_plugin_host(path: str | None = None):
    """The loaded library (ctypes.CDLL) with its argument types set, or None where it is not built.
    A library that cannot be loaded, of another ABI version or built from older sources (a function
    missing) is not used: a warning says to rebuild it, and the numpy references run."""
    path = path or find_plugin_host_library()
    if path is None:
        return None
    try:
        return host_calls.open_library(os.fspath(path))
    except OSError as exc:
        logging.getLogger(__name__).warning(
            "%s: not used (%s); the numpy references run instead. Rebuild it: cmake --build build --target %s",
            path, exc, TARGET)
        return None


# The wrappers live in host_calls.py (numpy and ctypes only, so the Triton CPU model can carry it);
# here they are bound to taostream's references and to the library this module finds.
host_calls.bind(pluginref, mrcnn, lambda: load_plugin_host(), frcnn_module=pluginref_frcnn)
ABI_VERSION, OK, NON_FINITE = host_calls.ABI_VERSION, host_calls.OK, host_calls.NON_FINITE
_FUNCTIONS = host_calls.FUNCTIONS
HOST_IMPLEMENTATIONS = host_calls.HOST_IMPLEMENTATIONS
propose_rois_host, crop_and_resize_host = host_calls.propose_rois_host, host_calls.crop_and_resize_host
generate_detection_host, nms_host = host_calls.generate_detection_host, host_calls.nms_host
batched_nms_host, static_batched_nms_host = host_calls.batched_nms_host, host_calls.static_batched_nms_host
batch_tile_host, resize_nearest_host = host_calls.batch_tile_host, host_calls.resize_nearest_host
special_slice_host = host_calls.special_slice_host
frcnn_crop_and_resize_host, proposal_host = host_calls.frcnn_crop_and_resize_host, host_calls.proposal_host
efficient_nms_host = host_calls.efficient_nms_host


def host_implementation_for(op: str):
    """The host implementation of ``op`` when the library is built and has it, else None."""
    function = HOST_IMPLEMENTATIONS.get(op) or HOST_IMPLEMENTATIONS.get(op.lstrip("_"))
    return function if function is not None and load_plugin_host() is not None else None
