"""libtaostream_plugins.so cross-built for a Jetson with plugins/cmake/aarch64-jetson.cmake, read as an
ELF file, loaded under user-mode qemu by plugins/harness/plugin_harness.cpp (cross-built beside it) the
way TensorRT loads it, and shipped in a `bundle --platform jetson`. The toolkit's CUDA major picks the
Jetson: 12 for JetPack 6.1 / 6.2 (Orin, TensorRT 10.3, DeepStream 7.1), 13 for JetPack 7.x (Thor, and
Orin from 7.2; DeepStream 9.2's TensorRT 10.16).

Needs what the cross build needs, else each test skips and says which is missing:
- the aarch64 C++ cross compiler and qemu-user (as tests/test_parsers_aarch64.py);
- an x86-64 CUDA 12 or 13 with targets/aarch64-linux in TAOSTREAM_JETSON_CUDA (`scripts/jetson_cuda_cross.sh
  DIR [12|13]` assembles one from Debian's and PyPI's packages in about ten seconds, or NVIDIA's CUDA with
  cuda-cross-aarch64);
- TensorRT 10 headers in TAOSTREAM_JETSON_TENSORRT_ROOT (TensorRT 11 has no Jetson release), or
  TAOSTREAM_TENSORRT_ROOT when that holds 10.x headers.
No GPU is used: the harness drives every creator through the build-time calls; enqueue needs a Jetson.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from taostream.cli import main
from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle.jetson_library import JETPACK_RUNTIMES, read_library_facts, versions_beyond
from taostream.deepstream_configs.bundle.plugins_library import library_plugin_ops, library_tensorrt_major
from taostream.deepstream_configs.elf_symbols import exported_functions, open_elf
from taostream.parsers.build import AARCH64_SYSROOT, missing_aarch64_tools
from taostream.plugins.library import LIBRARY_NAME, LIBRARY_OPS

from test_plugin_library import EXPECTED_FIELDS, PLUGINS

REPO = Path(__file__).resolve().parent.parent
TOOLCHAIN = REPO / "plugins" / "cmake" / "aarch64-jetson.cmake"
KEY = "nvidia_tlt"
# What the library may need at run time on the Jetson besides the CUDA runtime (JetPack's libcudart.so,
# which DeepStream's nvinfer has already loaded): the C and C++ runtimes; never libnvinfer.
C_CPP_RUNTIMES = {"libstdc++.so.6", "libm.so.6", "libgcc_s.so.1", "libc.so.6"}


def _jetson_cuda() -> Path | None:
    root = os.environ.get("TAOSTREAM_JETSON_CUDA")
    if root and (Path(root) / "bin" / "nvcc").is_file() and (Path(root) / "targets" / "aarch64-linux").is_dir():
        return Path(root)
    return None


def _cuda_major() -> int:
    version = subprocess.run([str(_jetson_cuda() / "bin" / "nvcc"), "--version"], capture_output=True, text=True).stdout
    return int(re.search(r"release (\d+)\.", version).group(1))


def _jetson() -> dict:
    """What the toolkit's CUDA major builds for: the Orin / Thor architectures, the CUDA runtime, the
    oldest JetPack userland, and the DeepStream release (with its detection layout) it serves."""
    if _cuda_major() == 12:
        return {"architectures": {"sm_87"}, "cudart": "libcudart.so.12", "runtime": JETPACK_RUNTIMES[0],
                "deepstream": "7.1", "rotation_angle": "OFF"}
    return {"architectures": {"sm_87", "sm_110"}, "cudart": f"libcudart.so.{_cuda_major()}",
            "runtime": JETPACK_RUNTIMES[1], "deepstream": "9.2", "rotation_angle": "ON"}


def _header_major(include: Path) -> int:
    text = (include / "NvInferVersion.h").read_text()
    return int(re.search(r"#define (?:NV_TENSORRT|TRT)_MAJOR(?:_ENTERPRISE)? +(\d+)", text).group(1))


def _tensorrt10_include() -> Path | None:
    for variable in ("TAOSTREAM_JETSON_TENSORRT_ROOT", "TAOSTREAM_TENSORRT_ROOT"):
        root = os.environ.get(variable)
        for include in ([Path(root) / "include", Path(root)] if root else []):
            if (include / "NvInferVersion.h").is_file() and _header_major(include) == 10:
                return include
    return None


def _skip_reason() -> str | None:
    missing = missing_aarch64_tools()
    if missing:
        return f"no aarch64 cross toolchain / emulator: apt-get install {' '.join(missing)}"
    if shutil.which("cmake") is None:
        return "CMake builds the library"
    if _jetson_cuda() is None:
        return ("no x86-64 CUDA toolkit with an aarch64-linux target: `scripts/jetson_cuda_cross.sh DIR`, then "
                "TAOSTREAM_JETSON_CUDA=DIR")
    if _tensorrt10_include() is None:
        return ("no TensorRT 10 headers (JetPack 6 runs 10.3, JetPack 7.2 10.16): set TAOSTREAM_JETSON_TENSORRT_ROOT "
                "to a folder whose include/ holds them")
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("plugins-aarch64")
    configure = ["cmake", "-S", str(REPO), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}",
                 f"-DTAOSTREAM_JETSON_CUDA={_jetson_cuda()}", "-DTAOSTREAM_BUILD_PLUGINS=ON",
                 f"-DTENSORRT_ROOT={_tensorrt10_include()}", "-DTAOSTREAM_BUILD_PLUGIN_HOST=OFF",
                 "-DTAOSTREAM_PARSERS_FUZZ=OFF", "-DCMAKE_BUILD_TYPE=Release",
                 f"-DTAOSTREAM_DS_ROTATION_ANGLE={_jetson()['rotation_angle']}"]
    configured = subprocess.run(configure, capture_output=True, text=True, timeout=300)
    assert configured.returncode == 0, (configured.stdout + configured.stderr)[-4000:]
    # what the toolchain chose: the Jetsons' architectures, and the Jetson's own CUDA runtime
    architectures = ";".join(sorted((a.removeprefix("sm_") for a in _jetson()["architectures"]), key=int))
    assert f"architectures {architectures}\n" in configured.stdout, configured.stdout
    assert "aarch64, CUDA runtime CUDA::cudart\n" in configured.stdout
    result = subprocess.run(["cmake", "--build", str(build), "--target", "taostream_plugins",
                             "taostream_plugin_harness", "-j", "2"], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return build / "plugins"


def _readelf(*arguments: str) -> str:
    return subprocess.run(["readelf", "-W", *arguments], capture_output=True, text=True, check=True).stdout


def _harness(built: Path, *arguments: str, **env: str) -> dict:
    cudart = _jetson_cuda() / "targets" / "aarch64-linux" / "lib"
    variables = [part for name, value in {"LD_LIBRARY_PATH": str(cudart), **env}.items()
                 for part in ("-E", f"{name}={value}")]
    command = ["qemu-aarch64", "-L", str(AARCH64_SYSROOT), *variables, str(built / "taostream_plugin_harness"),
               str(built / LIBRARY_NAME), *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_library_is_an_aarch64_plugin_library_needing_only_the_c_cpp_and_cuda_runtimes(built):
    library = built / LIBRARY_NAME
    facts = read_library_facts(library)
    assert facts.machine == "aarch64" and read_library_facts(built / "taostream_plugin_harness").machine == "aarch64"
    exported = exported_functions(library)
    assert {"getCreators", "setLoggerFinder"} <= exported
    assert {"NvDsInferParseCustomBatchedNMSTLT", "NvDsInferParseCustomMrcnnTLTV2"} <= exported  # the parsers too
    assert all(name in ("getCreators", "setLoggerFinder") or name.startswith("NvDsInfer") for name in exported)
    dynamic = _readelf("-d", str(library))
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic))
    cudart = _jetson()["cudart"]
    assert cudart in needed and needed <= C_CPP_RUNTIMES | {cudart}, needed
    assert "RPATH" not in dynamic and "RUNPATH" not in dynamic  # nothing of this host goes to the Jetson
    # the JetPack's Ubuntu has every C/C++ runtime version it needs; the CUDA runtime's own version node
    # is the JetPack's libcudart's
    assert versions_beyond(facts.version_needs, _jetson()["runtime"]) == [f"{cudart}: {cudart}"]
    assert library_plugin_ops(library) == LIBRARY_OPS
    assert library_tensorrt_major(library) == 10
    with open_elf(library) as elf:
        assert elf.get_section_by_name(".nv_fatbin") is not None  # the kernels' device code


def test_the_device_code_is_for_the_jetson_s_gpus(built):
    cuobjdump = _jetson_cuda() / "bin" / "cuobjdump"
    if not cuobjdump.is_file():
        pytest.skip(f"{cuobjdump} not found (scripts/jetson_cuda_cross.sh copies it)")
    listing = subprocess.run([str(cuobjdump), "--list-elf", str(built / LIBRARY_NAME)], capture_output=True,
                             text=True, check=True).stdout
    architectures = set(re.findall(r"\.(sm_\d+)\.cubin", listing))
    assert architectures == _jetson()["architectures"], listing


def test_under_qemu_loading_registers_every_creator_with_tensorrt_s_fields(built):
    report = _harness(built)
    expected = sorted(f"{name} 1 " for name in PLUGINS)
    assert sorted(report["registered_at_load"]) == expected
    assert report["registered_after_getCreators"] == [] and sorted(report["getCreators"]) == expected
    assert report["field_names"] == EXPECTED_FIELDS
    assert report["headers"].split(".")[0] == "10"


def test_under_qemu_every_creator_builds_its_plugin_and_refuses_wrong_fields(built):
    report = _harness(built)
    cases = {}
    for case in report["cases"]:
        cases.setdefault(case["plugin"], []).append(case["result"])
    for plugin in PLUGINS:
        first = cases[plugin][0]
        assert first["created"] and first["configure"] == 0, plugin
        assert first["interfaces"] == ["PLUGIN_V3ONE_CORE", "PLUGIN_V3ONE_BUILD", "PLUGIN_V3ONE_RUNTIME"]
        assert first["round_trip"] and first["clone"], plugin
        assert first["serialized_fields"] == [field[0] for field in EXPECTED_FIELDS[plugin]]
    # the shapes tests/test_plugin_library.py expects of the x86-64 build, on aarch64
    assert cases["BatchedNMSDynamic_TRT"][0]["output_shapes"] == [[2, 1], [2, 5, 4], [2, 5], [2, 5]]
    assert cases["MultilevelCropAndResize_TRT"][0]["output_shapes"] == [[1, 1000, 256, 7, 7]]
    assert cases["ResizeNearest_TRT"][2]["output_shapes"] == [[2, 3, 7, 10]]  # int(float32(7) * 1.5) = 10
    assert not cases["NMS_TRT"][3]["created"] and cases["Proposal"][1]["configure"] == -1
    assert "keepTopK (9) must be <= topK (8)" in "\n".join(report["log"])


def test_under_qemu_tensorrt_s_own_creators_and_another_major_are_respected(built):
    report = _harness(built, "--builtin", "NMS_TRT", "--major", "10")
    assert "NMS_TRT 1 " not in report["getCreators"] and len(report["getCreators"]) == len(PLUGINS) - 1
    other = _harness(built, "--major", "11")
    assert other["registered_at_load"] == [] and other["getCreators"] == []
    assert any("built against TensorRT 10 headers but this process runs TensorRT 11" in line for line in other["log"])
    assert _harness(built, TAOSTREAM_PLUGIN_NAMESPACE="taostream")["registered_at_load"][0].endswith(" taostream")


def test_a_jetson_bundle_ships_the_aarch64_library_and_an_x86_bundle_refuses_it(built, tmp_path, capsys):
    sample = tmp_path / "yolo_v4"
    write_sample("yolo_v4", sample)
    library = built / LIBRARY_NAME
    command = ["bundle", str(sample / "model.etlt"), "--key", KEY, "--network", "yolo_v4", "--spec",
               str(sample / "spec.txt"), "--plugins", "taostream", "--plugins-library", str(library)]
    out = tmp_path / "jetson"
    assert main([*command, "-o", str(out), "--platform", "jetson", "--deepstream", _jetson()["deepstream"]]) == 0
    warned = capsys.readouterr().err
    assert "built against TensorRT" not in warned  # the JetPack runs TensorRT 10 (10.3, 10.16)
    assert (out / "lib" / LIBRARY_NAME).read_bytes() == library.read_bytes()
    plugins = json.loads((out / "manifest.json").read_text())["plugins"]
    assert (plugins["machine"], plugins["shipped"], plugins["tensorrt_major"]) == ("aarch64", True, 10)
    assert main(["check", str(out)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert main([*command, "-o", str(tmp_path / "x86"), "--platform", "x86"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "built for aarch64, but a x86 bundle needs x86_64" in error
    assert not (tmp_path / "x86").exists()


def test_a_jetson_bundle_refuses_a_library_needing_a_newer_glibc_than_the_jetpack_s(built, tmp_path, capsys):
    # what a newer host's cross toolchain links: the same library, its GLIBC_2.34 need made GLIBC_2.99
    # (both names in .dynstr, the same length)
    data = (built / LIBRARY_NAME).read_bytes()
    assert data.count(b"\0GLIBC_2.34\0") == 1
    newer = tmp_path / LIBRARY_NAME
    newer.write_bytes(data.replace(b"\0GLIBC_2.34\0", b"\0GLIBC_2.99\0"))
    sample = tmp_path / "yolo_v4"
    write_sample("yolo_v4", sample)
    out = tmp_path / "jetson"
    assert main(["bundle", str(sample / "model.etlt"), "--key", KEY, "--network", "yolo_v4", "--spec",
                 str(sample / "spec.txt"), "--plugins", "taostream", "--plugins-library", str(newer), "-o", str(out),
                 "--platform", "jetson", "--deepstream", _jetson()["deepstream"]]) == 2
    error = capsys.readouterr().err.strip()
    jetpack = _jetson()["runtime"].jetpack
    assert len(error.splitlines()) == 1 and f"needs symbol versions JetPack {jetpack}" in error
    assert "libc.so.6: GLIBC_2.99" in error and "libcudart" not in error
    assert not out.exists()
