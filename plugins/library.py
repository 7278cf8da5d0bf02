"""What libtaostream_plugins.so (the IPluginV3 library of this folder) provides, where a checkout's
build puts it, and the command that builds it: read by `modernize --plugins taostream`, by
`bundle --plugins taostream` and by `check`.

The op list is the creators plugins/common/pluginLibrary.cpp registers (TensorRT OSS names, version
"1"; tests/test_plugin_library.py reads them back from a built library). EfficientNMS_TRT is among
them although TensorRT 10 and 11 still ship it (deprecated): where TensorRT's own creator is registered
it stays in charge (the library registers no duplicate), and the library's serves where it is not.
"""

from __future__ import annotations

import os
from pathlib import Path

LIBRARY_NAME = "libtaostream_plugins.so"
LIBRARY_ENV = "TAOSTREAM_PLUGINS_LIBRARY"  # a built copy, used before the checkout's build
# The plugin ops the library registers creators for, by the name a TAO graph's node carries.
LIBRARY_OPS = frozenset({
    "NMS_TRT", "NMSDynamic_TRT", "BatchedNMS_TRT", "BatchedNMSDynamic_TRT",
    "MultilevelProposeROI_TRT", "GenerateDetection_TRT", "MultilevelCropAndResize_TRT",
    "SpecialSlice_TRT", "Proposal", "ProposalDynamic",
    "BatchTilePlugin_TRT", "CropAndResize", "CropAndResizeDynamic", "ResizeNearest_TRT",
    "EfficientNMS_TRT",
})
PLUGIN_CHOICES = ("tensorrt", "taostream")
# The TensorRT majors the library can serve (IPluginV3 exists from TensorRT 10 on).
LIBRARY_TARGETS = ("10", "11")

_REPO = Path(__file__).resolve().parents[1]
# CMake puts the library at <build>/plugins/ when the root CMakeLists.txt is configured.
CHECKOUT_BUILD = _REPO / "build" / "plugins" / LIBRARY_NAME


def build_command(deepstream_major: int | None = None, tensorrt_root: str = "/usr") -> str:
    """The commands that build the library from a taostream checkout inside the DeepStream (or TensorRT)
    container, where the TensorRT headers (libnvinfer-dev, TENSORRT_ROOT=/usr) and nvcc are. The
    parsers compiled in take DeepStream 9's detection layout (rotation_angle) for ``deepstream_major`` >= 9."""
    layout = "" if deepstream_major is None else \
        f" -DTAOSTREAM_DS_ROTATION_ANGLE={'ON' if deepstream_major >= 9 else 'OFF'}"
    return (f"cmake -S taostream -B build -DTAOSTREAM_BUILD_PLUGINS=ON -DTENSORRT_ROOT={tensorrt_root}{layout} && "
            "cmake --build build --target taostream_plugins -j")


def find_built_library() -> Path | None:
    """$TAOSTREAM_PLUGINS_LIBRARY, else the checkout's build/plugins/libtaostream_plugins.so; None when
    neither exists (CI and pip installs have no TensorRT headers, so nothing builds it there)."""
    from_env = os.environ.get(LIBRARY_ENV)
    if from_env:
        return Path(from_env) if Path(from_env).is_file() else None
    return CHECKOUT_BUILD if CHECKOUT_BUILD.is_file() else None


def library_ops_of(graph_ops) -> list[str]:
    """The ops of ``graph_ops`` (node op names) the library provides, sorted, each once."""
    return sorted({op for op in graph_ops if op in LIBRARY_OPS})
