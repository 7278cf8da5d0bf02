"""What users bring, every combination through `bundle` and `verify`: model form x precision x platform,
on NVIDIA's real facemask DetectNet_v2 (real weights, NVIDIA's own TensorRT 7 calibration cache)
turned into each form once per module (tests/tao5_fixtures.py):

- model: the .etlt with its UFF payload; the bare UFF file; a TAO 5 export as tf2onnx writes it
  (``input_1:0``, opset 12, batch ``unk__134``); an .etlt holding that ONNX;
- precision: fp32, fp16, int8 from a calibration cache, int8 from images;
- platform: x86 (TensorRT 11: Q/DQ in model.onnx) and jetson (TensorRT 10: the plugin-route graph
  and calibration.bin for implicit INT8).

Calibration caches as found in the wild, one per (model, platform) cell of int8-from-a-cache: the
real TRT-7000 cache, the same with a blank line after every entry, and ``:0``-named copies under
TRT-8503, TRT-8601, TRT-100100 and TRT-100300 headers with ``+inf`` scales as QAT exports write them.
int8-from-images calibrates with minmax on four variants of a photo (entropy takes minutes on a CPU;
the method is the only difference, test_calibrate covers entropy).

Every cell: the bundle is judged by `verify` against its FP32 CPU reference on a real photo (the
astronaut's face is found by both), and the files a deployment reads are checked (names, precision,
per-channel INT8 weights, the Jetson cache).
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from tao5_fixtures import TF2ONNX_BATCH, derive_models, wild_cache
from taostream.converter.int8.calib_cache import header_for, read_calibration_cache
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.ini import read_ini
from taostream.inference.verify import VerifyRequest, run_verify

MODEL = "facemask_detectnet_v2_resnet18.etlt"
KEY = "tlt_encode"
SPEC = "specs/facemask_detectnet_v2_train_resnet18_kitti.txt"
CACHE = "calibration/facemask_detectnet_v2_cal.bin"
FORMATS = {"etlt(uff)": "etlt(uff)", "uff": "uff", "tao5.onnx": "onnx", "etlt(onnx)": "etlt(onnx)"}
PRECISIONS = ("fp32", "fp16", "int8-cache", "int8-images")
PLATFORMS = ("x86", "jetson")
# (model form, platform) -> the cache its int8-cache cell gets: header, ':0' names, blank lines, +inf entries
WILD_CACHES = {
    ("etlt(uff)", "x86"): None,  # NVIDIA's file as it is: TRT-7000, UFF names
    ("etlt(uff)", "jetson"): ("TRT-7000-EntropyCalibration2", False, True, 0),
    ("uff", "x86"): ("TRT-7000-EntropyCalibration2", False, True, 0),
    ("uff", "jetson"): None,
    ("tao5.onnx", "x86"): ("TRT-8503-EntropyCalibration2", True, True, 0),
    ("tao5.onnx", "jetson"): ("TRT-100300-EntropyCalibration2", True, False, 2),
    ("etlt(onnx)", "x86"): ("TRT-8601-EntropyCalibration2", True, True, 2),
    ("etlt(onnx)", "jetson"): ("TRT-100100-EntropyCalibration2", True, False, 0),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, fixtures_dir):
    import cv2
    import numpy as np

    from test_uff_to_onnx import astronaut_photo

    root = tmp_path_factory.mktemp("matrix")
    models = derive_models(fixtures_dir / "models" / MODEL, KEY, root)
    photo = cv2.cvtColor(astronaut_photo(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(root / "astronaut.png"), photo)
    images = root / "calibration_images"
    images.mkdir()
    for i in range(4):
        variant = np.roll(photo, 64 * i, axis=1)
        cv2.imwrite(str(images / f"frame_{i}.png"), cv2.flip(variant, 1) if i % 2 else variant)
    caches = {}
    for cell, form in WILD_CACHES.items():
        if form is None:
            caches[cell] = fixtures_dir / CACHE
        else:
            header, colon, blank, infs = form
            caches[cell] = wild_cache(fixtures_dir / CACHE, root / f"cache_{len(caches)}.txt", header,
                                      colon_names=colon, blank_lines=blank, inf_tensors=infs)
    return {"models": models, "photo": root / "astronaut.png", "images": images, "caches": caches}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("form", FORMATS)
def test_input_matrix_cell(inputs, fixtures_dir, tmp_path, form, precision, platform):
    bundle = tmp_path / "bundle"
    request = BundleRequest(model=inputs["models"][form], network="detectnet_v2", output=bundle,
                            spec=fixtures_dir / SPEC, key=KEY, platform=platform, precision=precision[:4])
    if precision == "int8-cache":
        request.calibration_cache = inputs["caches"][(form, platform)]
    elif precision == "int8-images":
        request.calibrate_images, request.calibration_method = inputs["images"], "minmax"
    create_bundle(request)

    manifest = json.loads((bundle / "manifest.json").read_text())
    tf2onnx = form in ("tao5.onnx", "etlt(onnx)")
    assert manifest["source_model"]["format"] == FORMATS[form]
    assert manifest["input"]["name"] == ("input_1:0" if tf2onnx else "input_1")
    assert list(manifest["outputs"]) == [f"output_cov/Sigmoid{':0' * tf2onnx}", f"output_bbox/BiasAdd{':0' * tf2onnx}"]
    assert manifest["precision"] == request.precision and manifest["platform"] == platform
    model = onnx.load(str(bundle / "model.onnx"))
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == (TF2ONNX_BATCH if tf2onnx else "N")
    config = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    assert config.get("network-mode") == {"fp32": "0", "int8": "1", "fp16": "2"}[request.precision]

    if request.precision == "int8":
        # Q/DQ with per-channel weights, whatever opset the export had (tf2onnx: 12, converted to 13).
        weight_dq = [n for n in model.graph.node if n.op_type == "DequantizeLinear" and "/weight" in n.name]
        assert len(weight_dq) == 23 and all(any(a.name == "axis" for a in n.attribute) for n in weight_dq)
        assert [o.version for o in model.opset_import if o.domain == ""][0] >= 13
        if platform == "jetson":
            assert config.get("onnx-file") == "../model_trt10.onnx"
            assert config.get("int8-calib-file") == "../calibration.bin"
            shipped = read_calibration_cache(bundle / "calibration.bin")
            graph = onnx.load(str(bundle / "model_trt10.onnx")).graph
            tensors = {graph.input[0].name} | {name for node in graph.node for name in node.output}
            # In the cache format of the TensorRT that route runs (the default DeepStream 9.2 on Jetson:
            # TensorRT 10.16.1.7).
            route = next(t for t in manifest["targets"] if t["platform"] == "jetson")
            assert route["calibration"] == "calibration.bin" and route["int8"] == "calibration"
            assert shipped.header == header_for(route["tensorrt"]) == "TRT-101601-EntropyCalibration2"
            assert len(shipped.scales) > 100 and set(shipped.scales) <= tensors  # the graph's own names
            assert all(0 < s < float("inf") for s in shipped.scales.values())
        else:
            # the cache only makes nvinfer set TensorRT's INT8 flag for the Q/DQ graph (nvinfer._qdq_calibrator_note)
            assert config.get("onnx-file") == "../model.onnx" and config.get("int8-calib-file") == "../calibration.bin"
    else:
        assert not any(n.op_type == "QuantizeLinear" for n in model.graph.node)

    report = run_verify(VerifyRequest(bundle=bundle, inputs=[str(inputs["photo"])], progress=False))
    totals = report.totals()
    assert report.passed, "\n".join(report.lines())
    assert totals["matched"] >= 1  # the astronaut's face, found by the reference and the candidate
    assert report.tolerance.name == ("int8" if request.precision == "int8" else "fp32")


@pytest.mark.parametrize("cell", sorted(k for k, v in WILD_CACHES.items() if v is not None))
def test_wild_caches_map_onto_the_graph_they_belong_to(inputs, cell):
    from taostream.converter.int8.qdq import insert_qdq_from_cache

    form, _ = cell
    header, _, blank, infs = WILD_CACHES[cell]
    cache = read_calibration_cache(inputs["caches"][cell])
    assert cache.header == header and (not blank or "\n\n" in inputs["caches"][cell].read_text())
    if form in ("tao5.onnx", "etlt(onnx)"):
        model = onnx.load(str(inputs["models"]["tao5.onnx"]))
    else:
        from taostream.converter.uff.to_onnx import uff_to_onnx

        model = uff_to_onnx(inputs["models"]["uff"].read_bytes(), input_name="input_1")
    _, report = insert_qdq_from_cache(model, cache, network="detectnet_v2")
    assert len(report.quantized_nodes) == 23 and not report.float_nodes
    assert report.unmapped == [] and len(report.unusable) == infs


def test_qdq_scales_are_the_caches_own_bits_and_the_graph_holds_on_a_real_photo(inputs, fixtures_dir):
    """The TAO 5 export (tensors 'x:0') with NVIDIA's TRT-7000 cache (names without ':0'): every activation
    QuantizeLinear's scale is, bit for bit, the float32 the cache's hex spells (decoded here with struct,
    not the product's reader), and on the astronaut photo (PNG, the model's own preprocessing) the Q/DQ
    graph in ONNX Runtime keeps the FP32 graph's face: measured 0.062 largest coverage change, every FP32
    cell >= 0.5 still >= 0.50, boxes 1.4% mean relative change."""
    import struct

    import cv2
    import numpy as np
    import onnxruntime as ort
    from onnx import numpy_helper
    from skimage import data

    from taostream.converter.int8.qdq import insert_qdq_from_cache
    from taostream.converter.model.preprocess import preprocess_image

    lines = (fixtures_dir / CACHE).read_text().splitlines()
    assert lines[0] == "TRT-7000-EntropyCalibration2"
    expected = {name: struct.unpack(">f", bytes.fromhex(bits.strip()))[0]
                for name, bits in (line.rsplit(":", 1) for line in lines[1:])}
    fp32 = onnx.load(str(inputs["models"]["tao5.onnx"]))
    quantized, _ = insert_qdq_from_cache(fp32, read_calibration_cache(fixtures_dir / CACHE), network="detectnet_v2")
    constants = {i.name: numpy_helper.to_array(i) for i in quantized.graph.initializer}
    constants.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t)
                      for n in quantized.graph.node if n.op_type == "Constant"})
    activations = [(n.input[0], constants[n.input[1]]) for n in quantized.graph.node
                   if n.op_type == "QuantizeLinear" and n.input[0] not in constants]
    assert len(activations) >= 22
    for tensor, scale in activations:
        assert tensor.endswith(":0") and scale.shape == () and scale.dtype == np.float32
        assert scale.tobytes() == np.float32(expected[tensor[:-2]]).tobytes(), tensor

    image = preprocess_image(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), "detectnet_v2", (3, 544, 960))[None]

    def run(model):
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(["output_cov/Sigmoid:0", "output_bbox/BiasAdd:0"], {"input_1:0": image})

    (cov, bbox), (cov8, bbox8) = run(fp32), run(quantized)
    assert np.abs(cov - cov8).max() <= 0.1
    face = cov[0, 1] >= 0.5  # class 1 (no-mask): the astronaut's face
    assert face.sum() >= 50 and cov[0, 0].max() < 0.5 and cov8[0, 1][face].min() >= 0.45
    boxes, boxes8 = bbox[0, 4:8][:, face], bbox8[0, 4:8][:, face]
    assert np.abs(boxes - boxes8).mean() <= 0.05 * np.abs(boxes).mean()


def test_the_implicit_route_replays_the_cache_under_the_models_tensor_names(inputs, fixtures_dir, tmp_path):
    """`convert --precision int8 --calibration-cache` on TensorRT 8.6/10 (tao-converter's route) handed
    NVIDIA's TRT-7000 cache ('input_1', 'conv1/convolution') as it is to TensorRT's calibrator for the TAO 5
    export ('input_1:0', ...): TensorRT matches cache entries by exact tensor name, so the engine got no
    INT8 scale. The calibrator now replays the cache restated as bundle's calibration.bin, and says so."""
    from cli_support import run_cli

    from types import SimpleNamespace

    from taostream.converter.cli.tao_converter import replay_settings
    from taostream.converter.engine.build import BuildSettings

    model = inputs["models"]["tao5.onnx"]
    result = run_cli("convert", model, "-o", tmp_path / "m.engine", "--precision", "int8", "--calibration-cache",
                     fixtures_dir / CACHE, "--trt-version", "10.3", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert (f"calibration cache {fixtures_dir / CACHE}: 115 entries renamed to the model's tensor names (e.g. "
            "'input_1' -> 'input_1:0'), which TensorRT matches exactly") in result.stdout, result.stdout

    graph = onnx.load(str(model))
    tensors = {i.name for i in graph.graph.input} | {o for n in graph.graph.node for o in n.output}
    original = dict(line.rsplit(": ", 1) for line in (fixtures_dir / CACHE).read_text().splitlines()[1:])
    settings = BuildSettings(model=str(model), engine=str(tmp_path / "m.engine"), precision="int8",
                             calibration_cache=str(fixtures_dir / CACHE))
    plan = SimpleNamespace(trt_version="10.3.0", int8_mode="calibration_cache")  # the plan fields it reads
    replayed = Path(replay_settings(graph, plan, settings, tmp_path).calibration_cache)
    header, *entries = replayed.read_text().splitlines()
    assert header == "TRT-100300-EntropyCalibration2"
    restated = dict(line.rsplit(": ", 1) for line in entries)
    assert set(restated) <= tensors and len(restated) == len(original) == 115
    assert restated == {f"{name}:0": bits for name, bits in original.items()}


def test_int8_sources_are_one_or_the_other(inputs, fixtures_dir, tmp_path):
    from cli_support import assert_clean_error, run_cli

    common = ("bundle", inputs["models"]["tao5.onnx"], "--network", "detectnet_v2", "--spec", fixtures_dir / SPEC,
              "--precision", "int8", "-o", tmp_path / "b")
    assert_clean_error(run_cli(*common, "--calibration-cache", fixtures_dir / CACHE, "--calibrate-images",
                               inputs["images"]), "give --calibration-cache or --calibrate-images, not both")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(run_cli(*common, "--calibrate-images", empty), "no JPEG/PNG/BMP images for --calibrate-images")
    assert_clean_error(run_cli(*common), "--precision int8 needs --calibration-cache CAL", "or --calibrate-images DIR")
    assert not (tmp_path / "b").exists()


def test_the_issue_command_on_a_tao5_export_with_a_trt7_cache(inputs, fixtures_dir, tmp_path):
    """`bundle model.onnx --network detectnet_v2 --spec S --precision int8 --calibration-cache cal.bin`
    on a tf2onnx export (input_1:0, opset 12) with NVIDIA's TRT-7000 cache (UFF names, no :0)."""
    from cli_support import run_cli

    bundle = tmp_path / "bundle"
    result = run_cli("bundle", inputs["models"]["tao5.onnx"], "--network", "detectnet_v2", "--spec", fixtures_dir / SPEC,
                     "--precision", "int8", "--calibration-cache", fixtures_dir / CACHE, "-o", bundle)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "warning" not in result.stderr
    verify = run_cli("verify", bundle, inputs["photo"], "--no-progress")
    assert verify.returncode == 0 and verify.stdout.splitlines()[-1].startswith("PASS"), verify.stdout


def test_one_renamed_cache_entry_is_counted_in_the_singular():
    from taostream.converter.engine.prep import describe_renamed

    assert describe_renamed([("input_1", "input_1:0")], "cal.bin") == (
        "calibration cache cal.bin: 1 entry renamed to the model's tensor names (e.g. 'input_1' -> 'input_1:0'), "
        "which TensorRT matches exactly")
