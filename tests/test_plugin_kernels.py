"""The plugins' CUDA kernels compile with nvcc where the CUDA toolkit is present (no GPU needed), with
no float multiply-add contraction, so each operation rounds as in the host implementations."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Kernels with float multiplies and adds (the no-contraction test applies to them) ...
KERNELS = ("plugins/MultilevelProposeROI/multilevelProposeROIKernels.cu", "plugins/NMS/nmsKernels.cu",
           "plugins/CropAndResize/cropAndResizeKernels.cu", "plugins/Proposal/proposalKernels.cu",
           "plugins/EfficientNMS/efficientNMSKernels.cu",
           "plugins/MultilevelCropAndResize/multilevelCropAndResizeKernels.cu",
           "plugins/GenerateDetection/generateDetectionKernels.cu")
# ... and every kernel source the CMake target builds (the per-class NMS's IoU has float multiplies and
# adds too, but nvcc contracts none of them even with --fmad=true: its build still passes --fmad=false; the
# one CUB sort all of them call is segmentedSort.cu).
ALL_KERNELS = KERNELS + ("plugins/BatchTilePlugin/batchTileKernels.cu", "plugins/ResizeNearest/resizeNearestKernels.cu",
                         "plugins/SpecialSlice/specialSliceKernels.cu", "plugins/BatchedNMS/batchedNMSKernels.cu",
                         "plugins/common/perClassNmsDevice.cu", "plugins/common/segmentedSort.cu")
nvcc = shutil.which("nvcc")
pytestmark = pytest.mark.skipif(nvcc is None or shutil.which("cmake") is None,
                                reason="the CUDA toolkit (nvcc) and CMake compile the kernels")


def _run(command, cwd=None):
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def kernel_build(tmp_path_factory):
    build = tmp_path_factory.mktemp("kernels")
    _run(["cmake", "-S", str(REPO), "-B", str(build), "-DTAOSTREAM_BUILD_PLUGIN_KERNELS=ON",
          "-DTAOSTREAM_BUILD_PARSERS=OFF", "-DTAOSTREAM_BUILD_PLUGIN_HOST=OFF", f"-DCMAKE_CUDA_COMPILER={nvcc}",
          "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"])
    _run(["cmake", "--build", str(build), "--target", "taostream_plugins_kernels", "-j",
          os.environ.get("TAOSTREAM_TEST_BUILD_JOBS", "2")])  # all cores in scripts/gpu_plugin_check.sh
    return build


def test_the_kernels_compile_with_nvcc_for_every_architecture(kernel_build):
    objects = sorted(p.name for p in (kernel_build / "plugins").rglob("*.cu.o"))
    assert objects == sorted(Path(source).name + ".o" for source in ALL_KERNELS)
    commands = json.loads((kernel_build / "compile_commands.json").read_text())
    kernel_commands = [c["command"] for c in commands if c["file"].endswith(".cu")]
    assert len(kernel_commands) == len(ALL_KERNELS)
    for command in kernel_commands:
        assert "--fmad=false" in command
        assert all(f"sm_{arch}" in command or f"compute_{arch}" in command for arch in (75, 80, 90))


@pytest.mark.parametrize("source", KERNELS)
def test_no_float_multiply_add_is_contracted(source, tmp_path):
    # with nvcc's default (--fmad=true) the same source has float FMAs: the flag is what keeps them out
    def float_fmas(fmad: str) -> int:
        ptx = tmp_path / f"{fmad}.ptx"
        _run([nvcc, f"--fmad={fmad}", "-std=c++17", "-arch=sm_80", "-ptx", str(REPO / source), "-o", str(ptx)])
        return ptx.read_text().count("fma.rn.f32")

    assert float_fmas("true") > 0
    assert float_fmas("false") == 0
