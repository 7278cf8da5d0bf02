"""`--plugins taostream`: modernize keeps the plugins libtaostream_plugins.so provides (for TensorRT 11,
which removed NMS and BatchedNMS), bundle ships the library and points nvinfer, Triton and the manifest
at it, and check knows whether it is there and fits.

The samples (`taostream sample`) are the real inputs: SSD (BatchTilePlugin_TRT + NMSDynamic_TRT), YOLOv4
(BatchedNMSDynamic_TRT), MaskRCNN (its three plugins) and FasterRCNN (ProposalDynamic, CropAndResizeDynamic,
NMSDynamic_TRT) and EfficientDet (EfficientNMS_TRT). The library itself is built only where the
TensorRT headers and nvcc are (TAOSTREAM_TENSORRT_ROOT, as tests/test_plugin_library.py); without them
(CI) those tests skip and say why, and the bundle is written without it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest

import modernize_graphs as mg
from taostream.cli import main
from taostream.converter.engine.onnx_ops import unparsable_ops
from taostream.converter.errors import UnsupportedOpError
from taostream.converter.modernize.apply import modernize
from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle.plugins_library import library_plugin_ops, tensorrt_mismatch
from taostream.plugins.library import LIBRARY_OPS
from taostream.plugins.reference import run_with_plugin_references

REPO = Path(__file__).resolve().parent.parent
KEY = "nvidia_tlt"
LIBRARY = "libtaostream_plugins.so"
NVCC = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if os.access("/usr/local/cuda/bin/nvcc", os.X_OK) else None)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    return {net: (write_sample(net, root / net), root / net)[1] for net in ("ssd", "yolo_v4", "mask_rcnn", "faster_rcnn", "efficientdet")}


def _decoded(folder: Path) -> onnx.ModelProto:
    from taostream.converter.model.loader import load_onnx_model, open_model

    return load_onnx_model(open_model(folder / "model.etlt", KEY))


def _plugin_ops(model: onnx.ModelProto) -> list[str]:
    from taostream.converter.trt_support import plugin_op

    return sorted(n.op_type for n in model.graph.node if plugin_op(n.op_type))


def _feeds(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    initializers = {i.name for i in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in value.type.tensor_type.shape.dim]
        feeds[value.name] = rng.uniform(0, 1, size=shape).astype(np.float32)
    return feeds


@pytest.mark.parametrize("network, kept, replaced", [
    ("ssd", ["BatchTilePlugin_TRT", "NMSDynamic_TRT"], []),  # both priors BatchTiles kept too
    ("yolo_v4", ["BatchedNMSDynamic_TRT"], []),
    ("mask_rcnn", ["GenerateDetection_TRT", "MultilevelCropAndResize_TRT", "MultilevelProposeROI_TRT",
                   "ResizeNearest_TRT"], None),
    ("faster_rcnn", ["CropAndResizeDynamic", "NMSDynamic_TRT", "ProposalDynamic"], None),
    ("efficientdet", ["EfficientNMS_TRT"], []),
])
def test_modernize_keeps_exactly_the_library_ops_and_the_graph_computes_the_same(
        samples, tmp_path, capsys, network, kept, replaced):
    out = tmp_path / "model_trt11.onnx"
    assert main(["modernize", str(samples[network] / "model.etlt"), "--key", KEY, "-o", str(out),
                 "--target-trt", "11", "--plugins", "taostream", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    original, modern = _decoded(samples[network]), onnx.load(out)
    assert report["plugins"] == "taostream"
    for_library = [s["op"] for s in report["kept"] if f"kept for {LIBRARY} (--plugins taostream)" in s["reason"]]
    # exactly the library's ops are kept for it, every node of them; other plugins follow today's policy
    assert sorted(set(for_library)) == kept == sorted(set(_plugin_ops(original)) & LIBRARY_OPS)
    assert sorted(for_library) == [op for op in _plugin_ops(original) if op in LIBRARY_OPS]
    assert [op for op in _plugin_ops(modern) if op in LIBRARY_OPS] == sorted(for_library)
    if replaced is not None:
        assert sorted(s["op"] for s in report["replaced"]) == replaced
    # the kept nodes are the original nodes: same op, inputs, outputs and attributes (the creator's fields)
    originals = {n.name: n for n in original.graph.node if n.op_type in LIBRARY_OPS}
    for node in (n for n in modern.graph.node if n.op_type in LIBRARY_OPS):
        source = originals[node.name]
        assert (list(node.input), list(node.output), list(node.attribute)) == \
            (list(source.input), list(source.output), list(source.attribute))
    # the graph still runs on the CPU through the plugins' references, with the original's outputs
    feeds = _feeds(original)
    expected, got = run_with_plugin_references(original, feeds), run_with_plugin_references(modern, feeds)
    for output in (o.name for o in original.graph.output):
        np.testing.assert_allclose(got[output], expected[output], rtol=0, atol=1e-6, err_msg=output)


def test_the_default_still_rewrites_what_tensorrt_11_removed(samples, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["modernize", str(samples["yolo_v4"] / "model.etlt"), "--key", KEY, "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["plugins"] == "tensorrt" and [s["op"] for s in report["replaced"]] == ["BatchedNMSDynamic_TRT"]
    assert _plugin_ops(onnx.load(out)) == []


def test_the_refused_batched_nms_rewrite_keeps_the_plugin_for_the_library():
    # isNormalized=0 with caffeSemantics=0: no NonMaxSuppression reproduces it (test_modernize_batched_nms.py)
    model = mg.batched_nms_model(10, 2, 5, isNormalized=0, caffeSemantics=0)
    with pytest.raises(UnsupportedOpError, match=r"caffeSemantics.*--plugins taostream"):
        modernize(model, "11")
    modern, report = modernize(model, "11", plugins="taostream")
    assert [(s.op, s.action) for s in report.steps] == [(model.graph.node[-1].op_type, "keep")]
    assert "kept for libtaostream_plugins.so" in report.steps[0].reason
    feeds = mg.batched_nms_feeds(2, 10, 2, np.random.default_rng(1), scale=60.0)  # pixel boxes
    expected, got = run_with_plugin_references(model, feeds), run_with_plugin_references(modern, feeds)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])


def test_the_refusal_on_the_command_line_names_the_route(tmp_path, capsys):
    source = tmp_path / "caffe0.onnx"
    onnx.save(mg.batched_nms_model(10, 2, 5, isNormalized=0, caffeSemantics=0), source)
    assert main(["modernize", str(source), "-o", str(tmp_path / "m.onnx")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "--plugins taostream" in error and not (tmp_path / "m.onnx").exists()
    assert main(["modernize", str(source), "-o", str(tmp_path / "m.onnx"), "--plugins", "taostream"]) == 0
    assert "kept for libtaostream_plugins.so" in capsys.readouterr().out


# ----------------------------------------------------------------------------- bundle and check

def _bundle(samples, out: Path, *extra: str) -> int:
    folder = samples["yolo_v4"]
    return main(["bundle", str(folder / "model.etlt"), "--key", KEY, "--network", "yolo_v4", "--spec",
                 str(folder / "spec.txt"), "-o", str(out), "--plugins", "taostream", *extra])


def _property(config: Path, key: str) -> str:
    return next(line.split("=", 1)[1] for line in config.read_text().splitlines() if line.startswith(f"{key}="))


def test_bundle_without_the_library_says_how_to_build_it_and_check_fails(samples, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TAOSTREAM_PLUGINS_LIBRARY", str(tmp_path / "not built" / LIBRARY))  # no build to find
    out = tmp_path / "bundle"
    assert _bundle(samples, out) == 0
    captured = capsys.readouterr()
    assert f"lib/{LIBRARY} is not in the bundle" in captured.err and "-DTAOSTREAM_BUILD_PLUGINS=ON" in captured.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["plugins"]["library"] == "taostream" and manifest["plugins"]["ops"] == ["BatchedNMSDynamic_TRT"]
    assert manifest["plugins"]["shipped"] is False and not (out / "lib" / LIBRARY).exists()
    # model.onnx keeps the plugin; nvinfer loads the library (which has the parsers in it)
    assert _plugin_ops(onnx.load(out / "model.onnx")) == ["BatchedNMSDynamic_TRT"]
    assert _property(out / "deepstream" / "config_infer_primary.txt", "custom-lib-path") == f"../lib/{LIBRARY}"
    build = "cmake -S taostream -B build -DTAOSTREAM_BUILD_PLUGINS=ON -DTENSORRT_ROOT=/usr"
    assert build in (out / "lib" / "README_plugins.txt").read_text() and build in (out / "README.md").read_text()
    assert "--backend-config=tensorrt,plugins=/plugins/" + LIBRARY in (out / "compose.yaml").read_text()
    assert main(["check", str(out)]) == 1
    report = capsys.readouterr().out
    missing = next(line for line in report.splitlines() if line.startswith(f"{out}/lib/{LIBRARY}: error: missing"))
    assert "BatchedNMSDynamic_TRT" in missing and build in missing


def test_bundle_with_a_library_that_is_no_plugin_library_is_refused(samples, tmp_path, capsys):
    from taostream.parsers.build import find_parser_library

    parser = find_parser_library() or find_parser_library(REPO / "build-ds9")
    if parser is None:
        pytest.skip("no parser library built here (cmake -S . -B build && cmake --build build)")
    assert _bundle(samples, tmp_path / "b", "--plugins-library", str(parser)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "exports no getCreators" in error and str(parser) in error
    assert not (tmp_path / "b").exists()


def test_bundle_with_a_library_of_the_wrong_machine_is_refused(samples, tmp_path, capsys):
    from taostream.deepstream_configs.bundle.jetson_library import jetson_parser_library

    warnings: list[str] = []
    aarch64 = jetson_parser_library(9, warnings)
    if aarch64 is None:
        pytest.skip(f"no aarch64 library can be cross-built here: {warnings}")
    capsys.readouterr()  # the cross build's progress line
    assert _bundle(samples, tmp_path / "b", "--plugins-library", str(aarch64)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "built for aarch64, but a x86 bundle needs x86_64" in error


def _tensorrt_include() -> Path | None:
    root = os.environ.get("TAOSTREAM_TENSORRT_ROOT")
    for include in ([Path(root) / "include", Path(root)] if root else []):
        if (include / "NvInferRuntime.h").is_file():
            return include
    return None


def _header_major(include: Path) -> int:
    text = (include / "NvInferVersion.h").read_text()
    return int(re.search(r"#define (?:NV_TENSORRT|TRT)_MAJOR(?:_ENTERPRISE)? +(\d+)", text).group(1))


@pytest.fixture(scope="module")
def plugins_library(tmp_path_factory):
    include = _tensorrt_include()
    if include is None or NVCC is None or shutil.which("cmake") is None:
        pytest.skip("building libtaostream_plugins.so needs the TensorRT headers (TAOSTREAM_TENSORRT_ROOT; no pip "
                    "package ships them), nvcc and cmake")
    build = tmp_path_factory.mktemp("plugins build")
    configure = ["cmake", "-S", str(REPO), "-B", str(build), "-DTAOSTREAM_BUILD_PLUGINS=ON", f"-DTENSORRT_ROOT={include}",
                 "-DTAOSTREAM_BUILD_PLUGIN_HOST=OFF", f"-DCMAKE_CUDA_COMPILER={NVCC}", "-DCMAKE_CUDA_ARCHITECTURES=75",
                 "-DTAOSTREAM_DS_ROTATION_ANGLE=ON"]  # the bundle's DeepStream 9 detection layout
    for command in (configure, ["cmake", "--build", str(build), "--target", "taostream_plugins", "-j", "2"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return build / "plugins" / LIBRARY


def test_bundle_ships_the_library_and_check_passes(samples, plugins_library, tmp_path, capsys):
    out = tmp_path / "bundle"
    assert _bundle(samples, out, "--plugins-library", str(plugins_library)) == 0
    warned = capsys.readouterr().err
    # the library says which TensorRT headers built it; DeepStream 9.2 runs TensorRT 10.16 on x86, which
    # ships the kept plugin itself: a library of another major is shipped with a warning (only its parsers serve)
    major = _header_major(_tensorrt_include())
    mismatch = f"was built against TensorRT {major} headers, but DeepStream 9.2 on x86 runs TensorRT 10.16"
    assert (mismatch in warned) == (major != 10)
    shipped = out / "lib" / LIBRARY
    assert shipped.read_bytes() == plugins_library.read_bytes()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["plugins"] == {**manifest["plugins"], "path": f"lib/{LIBRARY}", "shipped": True,
                                   "machine": "x86_64", "ops": ["BatchedNMSDynamic_TRT"], "tensorrt_major": major}
    assert any(entry["path"] == f"lib/{LIBRARY}" for entry in manifest["files"])
    assert _property(out / "deepstream" / "config_infer_primary.txt", "custom-lib-path") == f"../lib/{LIBRARY}"
    assert main(["check", str(out)]) == 0
    checked = capsys.readouterr().out
    assert (f"lib/{LIBRARY}: warning: " in checked and mismatch in checked) == (major != 10), checked
    # what check's nvinfer rule reads: the library registers every op it provides, so a TensorRT 11 parser
    # with it loaded takes model.onnx; without it (or with the parser library) the kept plugin is unparsable
    assert library_plugin_ops(shipped) == LIBRARY_OPS
    modern = onnx.load(out / "model.onnx")
    assert [p.op for p in unparsable_ops(modern, "11.1")] == ["BatchedNMSDynamic_TRT"]
    assert unparsable_ops(modern, "11.1", provided=library_plugin_ops(shipped)) == []
    assert library_plugin_ops(out / "lib" / "libnvds_infercustomparser_taostream.so") == set()
    # on a TensorRT that removed the plugins (11 on), a library of another major would leave them unregistered
    assert tensorrt_mismatch(shipped, f"{major}.0", "here") is None
    fatal, why = tensorrt_mismatch(shipped, f"{major + 1}.0", "a newer DeepStream")
    assert fatal and f"rebuild it against TensorRT {major + 1}" in why
    # the same bundle pointed back at the parser library is an error: nothing registers the kept plugin
    config = out / "deepstream" / "config_infer_primary.txt"
    config.write_text(config.read_text().replace(f"../lib/{LIBRARY}", "../lib/libnvds_infercustomparser_taostream.so"))
    assert main(["check", str(out)]) == 1
    assert f"set custom-lib-path=../lib/{LIBRARY}" in capsys.readouterr().out


def test_a_library_for_the_other_machine_is_refused(samples, plugins_library, tmp_path, capsys):
    # the x86 build for a Jetson bundle (no aarch64 CUDA toolkit cross-builds the plugins here)
    assert _bundle(samples, tmp_path / "b", "--platform", "jetson", "--plugins-library", str(plugins_library)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "built for x86_64, but a jetson bundle needs aarch64" in error


def _with_pixel_batched_nms(folder: Path, out: Path) -> Path:
    """The YOLOv4 sample with its BatchedNMS set to isNormalized=0, caffeSemantics=0 (pixel boxes, exact
    intersection with +1 areas): the case no standard-op rewrite reproduces."""
    model = _decoded(folder)
    node = next(n for n in model.graph.node if n.op_type in LIBRARY_OPS)
    others = [a for a in node.attribute if a.name not in ("isNormalized", "caffeSemantics")]
    del node.attribute[:]
    node.attribute.extend([*others, onnx.helper.make_attribute("isNormalized", 0),
                           onnx.helper.make_attribute("caffeSemantics", 0)])  # caffeSemantics defaults to 1
    onnx.save(model, out)
    return out


def test_bundle_routes_the_refused_rewrite_to_the_library(samples, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TAOSTREAM_PLUGINS_LIBRARY", str(tmp_path / "not built" / LIBRARY))
    model = _with_pixel_batched_nms(samples["yolo_v4"], tmp_path / "yolo_pixels.onnx")
    spec = samples["yolo_v4"] / "spec.txt"
    command = ["bundle", str(model), "--network", "yolo_v4", "--spec", str(spec)]
    assert main([*command, "-o", str(tmp_path / "refused")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "caffeSemantics" in error and "--plugins taostream" in error
    assert not (tmp_path / "refused").exists()
    out = tmp_path / "kept"
    assert main([*command, "-o", str(out), "--plugins", "taostream"]) == 0
    capsys.readouterr()
    kept = [n for n in onnx.load(out / "model.onnx").graph.node if n.op_type in LIBRARY_OPS]
    assert len(kept) == 1 and {a.name: a.i for a in kept[0].attribute if a.name in ("isNormalized", "caffeSemantics")} \
        == {"isNormalized": 0, "caffeSemantics": 0}
    assert json.loads((out / "manifest.json").read_text())["plugins"]["ops"] == [kept[0].op_type]
