"""`taostream bundle` on the samples of every network and on NVIDIA's real face-mask .etlt:
the configs pass `taostream check`, the manifest matches the files, the key appears nowhere, and a
failure leaves no folder behind."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from deepstream_fixtures import parser_stub_library
from taostream.cli import main
from taostream.converter.errors import TaostreamError
from taostream.converter.registry import NETWORKS
from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle import make as bundle_module
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.elf_symbols import object_info_bytes_for, parser_object_info_bytes
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.nvinfer import PARSER_LIBRARY_NAME

KEY = "bundle-test-k3y-9f2c"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    return {net.name: write_sample(net.name, root / net.name, key=KEY) for net in NETWORKS}


def _request(info, output: Path, **overrides) -> BundleRequest:
    values = dict(model=info.model, network=info.network, output=output, spec=info.spec, key=KEY,
                  classmap=info.extra.get("classmap.json"), annotations=info.extra.get("instances_val.json"))
    values.update(overrides)
    return BundleRequest(**values)


def _with_parser_library(bundle: Path) -> None:
    """When the real parser library is not built here, put a library exporting the same names where
    the configs expect it, so `check` can verify the rest (the parse-function check reads its ELF).
    In a Jetson bundle the stub is relabelled aarch64 (ELF e_machine 183): `check` compares that field
    with the bundle's platform and reads nothing else that differs between the two machines."""
    target = bundle / "lib" / PARSER_LIBRARY_NAME
    if target.exists():
        return
    stub = bytearray(parser_stub_library().read_bytes())
    if json.loads((bundle / "manifest.json").read_text())["platform"] == "jetson":
        stub[18:20] = (183).to_bytes(2, "little")
    target.write_bytes(bytes(stub))


def _assert_manifest_matches(bundle: Path) -> dict:
    manifest = json.loads((bundle / "manifest.json").read_text())
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(listed) == on_disk
    for path, entry in listed.items():
        data = (bundle / path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"], path
    return manifest


def _assert_no_key(bundle: Path, key: str) -> None:
    for path in bundle.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), f"the key leaked into {path}"


@pytest.mark.parametrize("net", NETWORKS, ids=lambda n: n.name)
def test_sample_bundle_passes_check_for_every_deepstream_version(net, samples, tmp_path):
    info = samples[net.name]
    bundle = tmp_path / "bundle"
    result = create_bundle(_request(info, bundle))
    manifest = _assert_manifest_matches(bundle)
    _assert_no_key(bundle, KEY)
    assert manifest["network"] == net.name and manifest["precision"] == "fp16"
    # labels.txt follows the same rule the sample's author applied independently
    assert (bundle / "labels.txt").read_text() == info.labels.read_text()
    assert manifest["labels"] == len(info.labels_list)
    _with_parser_library(bundle)
    configs = sorted((bundle / "deepstream").glob("*.txt"))
    built = parser_object_info_bytes(bundle / "lib" / PARSER_LIBRARY_NAME)
    # classifiers use nvinfer's own softmax parser: their configs load no library whose layout could clash
    loads_library = any("custom-lib-path" in c.read_text() or "custom_lib" in c.read_text() for c in configs)
    for version in ("6.4", "7.1", "8.0", "9.0"):
        report = check_configs(configs, deepstream=version)
        if built in (None, object_info_bytes_for(int(version.split(".")[0]))) or not loads_library:
            assert report.errors == [], [str(f) for f in report.errors]
        else:  # the library has DeepStream 9's layout: older DeepStreams get exactly the ABI error
            assert report.errors and all(f.key in ("custom-lib-path", "infer_config.custom_lib.path")
                                         and "TAOSTREAM_DS_ROTATION_ANGLE=OFF" in f.message
                                         for f in report.errors), [str(f) for f in report.errors]
    prop = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    assert prop.get("onnx-file") == "../model.onnx"
    assert prop.get("output-blob-names") == ";".join(info.output_names)
    assert result.warnings == manifest["warnings"]
    _assert_triton_configs_parse(bundle, manifest)


def _assert_triton_configs_parse(bundle: Path, manifest: dict) -> None:
    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="the `triton` extra is not installed")
    from google.protobuf import text_format

    configs = sorted((bundle / "triton").glob("*/config.pbtxt"))
    assert configs, "no Triton model written"
    for path in configs:
        config = text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
        assert config.name == path.parent.name
        assert config.input[0].name == manifest["input"]["name"]
        if config.platform == "tensorrt_plan":
            assert {o.name: list(o.dims) for o in config.output} == manifest["outputs"]


def _load_cpu_model(folder: Path):
    sys.modules.pop("taostream_reference", None)
    spec = importlib.util.spec_from_file_location(f"cpu_model_{folder.parent.name}", folder / "1" / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from google.protobuf import text_format
    from google.protobuf.json_format import MessageToDict
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse((folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    model = module.TritonPythonModel()
    model.initialize({"model_config": json.dumps(MessageToDict(config, preserving_proto_field_name=True)),
                      "model_repository": str(folder), "model_version": "1"})
    return model, config


@pytest.mark.parametrize("network", ["ssd", "yolo_v3", "detectnet_v2", "classification"])
def test_cpu_triton_model_of_a_bundle_runs(network, samples, tmp_path):
    pytest.importorskip("tritonclient.grpc", reason="the `triton` extra is not installed")
    bundle = tmp_path / "bundle"
    create_bundle(_request(samples[network], bundle))
    folder = next((bundle / "triton").glob("*_cpu"))
    model, config = _load_cpu_model(folder)
    shape = [2, *config.input[0].dims]
    raw = dict(zip(model.output_names, model.session.run(None, {model.input_name: np.zeros(shape, np.float32)})))
    result = model.postprocess(raw)
    names = {o.name: list(o.dims) for o in config.output}
    for name, array in result.items():
        assert list(array.shape) == [2, *names[name]]


def test_int8_jetson_bundle_carries_both_routes(samples, tmp_path):
    info = samples["ssd"]
    bundle = tmp_path / "bundle"
    create_bundle(_request(info, bundle, precision="int8", platform="jetson", calibration_cache=info.calibration),
                  dla_core=0)
    manifest = _assert_manifest_matches(bundle)
    assert {t["model"] for t in manifest["targets"]} == {"model.onnx", "model_trt10.onnx"}
    # The Jetson route's cache: the sample's scales, restated for that route's TensorRT.
    from taostream.converter.int8.calib_cache import read_calibration_cache

    shipped, given = read_calibration_cache(bundle / "calibration.bin"), read_calibration_cache(info.calibration)
    assert shipped.scales == given.scales and shipped.header != given.header
    prop = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    assert (prop.get("onnx-file"), prop.get("int8-calib-file")) == ("../model_trt10.onnx", "../calibration.bin")
    assert prop.get("model-engine-file") == "../model_trt10.onnx_b1_dla0_int8.engine"
    import onnx

    modern = onnx.load(str(bundle / "model.onnx"))
    assert any(n.op_type == "QuantizeLinear" for n in modern.graph.node), "x86/TensorRT 11 route is Q/DQ"
    _with_parser_library(bundle)
    assert check_configs([bundle / "deepstream" / "deepstream_app.txt"], deepstream="9.0").errors == []


def test_yolo_int8_on_jetson_keeps_the_decode_in_fp32(samples, tmp_path):
    # NVIDIA's YOLO configs keep the box/class decode before BatchedNMS in FP32 under implicit INT8.
    info = samples["yolo_v4"]
    create_bundle(_request(info, tmp_path / "jetson", precision="int8", platform="jetson", calibration_cache=info.calibration))
    prop = read_ini(tmp_path / "jetson" / "deepstream" / "config_infer_primary.txt").group("property")
    layers = [item.rsplit(":", 2) for item in prop.get("layer-device-precision").split(";")]
    assert {precision for _, precision, _ in layers} == {"fp32"} and {device for *_, device in layers} == {"gpu"}
    assert {"cls/mul", "box/Exp", "encoded_detections/concat"} <= {name for name, _, _ in layers}
    _with_parser_library(tmp_path / "jetson")
    report = check_configs([tmp_path / "jetson" / "deepstream" / "config_infer_primary.txt"], deepstream="9.0")
    assert report.errors == [], [str(f) for f in report.errors]  # every name is a layer of model_trt10.onnx
    # x86 INT8 is explicit (Q/DQ in model.onnx): nothing to pin
    create_bundle(_request(info, tmp_path / "x86", precision="int8", calibration_cache=info.calibration))
    x86 = read_ini(tmp_path / "x86" / "deepstream" / "config_infer_primary.txt").group("property")
    assert x86.get("layer-device-precision") is None


def test_tlt2_labels_refused_when_the_model_outputs_background(samples, tmp_path):
    """TAO 3+ RetinaNet keeps id 0 for background (NMS backgroundLabelId=0): labels without the
    background line would shift every name by one and lose the last class."""
    info = samples["retinanet"]
    with pytest.raises(TaostreamError, match="drop --tlt2-labels"):
        create_bundle(_request(info, tmp_path / "b", tlt2_labels=True))
    assert not (tmp_path / "b").exists()


def test_int8_without_calibration_is_refused_before_writing(samples, tmp_path):
    with pytest.raises(TaostreamError, match="--calibration-cache"):
        create_bundle(_request(samples["ssd"], tmp_path / "b", precision="int8"))
    assert not (tmp_path / "b").exists()


def test_error_mid_way_leaves_no_partial_folder(samples, tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle_module, "write_triton_repository", disk_full)  # fails after models and configs
    with pytest.raises(OSError):
        create_bundle(_request(samples["ssd"], tmp_path / "b"))
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_kept_without_force(samples, tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(TaostreamError, match="--force"):
        create_bundle(_request(samples["detectnet_v2"], out))
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    create_bundle(_request(samples["detectnet_v2"], out, force=True))
    assert not (out / "mine.txt").exists() and (out / "manifest.json").exists()


def test_real_facemask_etlt_bundle(models_dir, fixtures_dir, tmp_path):
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    bundle = tmp_path / "facemask"
    model = models_dir / "facemask_detectnet_v2_resnet18.etlt"
    code = main(["bundle", str(model), "--network", "detectnet_v2", "--key", "tlt_encode",
                 "--spec", str(fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt"),
                 "--precision", "int8", "--calibration-cache", str(fixtures_dir / "calibration/facemask_detectnet_v2_cal.bin"),
                 "--platform", "jetson", "-o", str(bundle)])
    assert code == 0
    manifest = _assert_manifest_matches(bundle)
    _assert_no_key(bundle, "tlt_encode")
    assert manifest["source_model"]["format"] == "etlt(uff)"
    assert manifest["input"] == {"name": "input_1", "dims_chw": [3, 544, 960], "order": "NCHW"}
    assert (bundle / "labels.txt").read_text() == "mask\nno-mask\n"
    prop = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    assert prop.get("output-blob-names") == "output_cov/Sigmoid;output_bbox/BiasAdd"
    assert prop.get("cluster-mode") == "4" and prop.get("num-detected-classes") == "2"
    # DeepStream's parser (via the env file) and the CPU paths (Triton model, `infer`) cluster alike.
    from taostream.inference.bundle_info import load_bundle
    from taostream.parsers.reference import DecodeParams, DetectNetV2Clustering

    env = (bundle / "deepstream" / "taostream_parser.env").read_text().strip()
    assert env.startswith('TAOSTREAM_DETECTNET_V2="') and env.endswith('"')
    settings = DetectNetV2Clustering.from_env(env.split("=", 1)[1].strip('"'))
    assert settings.eps == pytest.approx((0.20000000298, 0.15000000596)) and settings.min_height == 20.0
    parameters = load_bundle(bundle).postprocess_parameters
    cpu = DecodeParams.from_model_parameters(parameters, 2)
    assert cpu.detectnet_v2 == settings
    assert cpu.pre_cluster_threshold == pytest.approx((0.00499999988824, 0.00499999988824))
    _with_parser_library(bundle)
    report = check_configs(sorted((bundle / "deepstream").glob("*.txt")), deepstream="9.0")
    assert report.errors == [], [str(f) for f in report.errors]


def test_wrong_key_fails_cleanly(models_dir, tmp_path, capsys):
    code = main(["bundle", str(models_dir / "lpd_usa_detectnet_v2_pruned.etlt"), "--network", "lpdnet",
                 "--key", "not-the-key", "--spec", "/nonexistent/spec.txt", "-o", str(tmp_path / "b")])
    assert code == 2
    assert "taostream: error:" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_bundle_warns_about_another_models_calibration_cache(models_dir, fixtures_dir, tmp_path, capsys):
    """The SSD cache on the facemask model: the bundle is written (part of the graph maps), but the user is
    told the input has no scale and most entries match nothing; it used to pass in silence."""
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    cache = fixtures_dir / "calibration/ssd_tlt_cal.bin"
    code = main(["bundle", str(models_dir / "facemask_detectnet_v2_resnet18.etlt"), "--network", "detectnet_v2",
                 "--key", "tlt_encode", "--spec", str(fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt"),
                 "--precision", "int8", "--calibration-cache", str(cache), "-o", str(tmp_path / "b")])
    assert code == 0
    err = capsys.readouterr().err
    assert f"taostream: warning: {cache}: the calibration cache has no scale for the input tensor 'input_1'" in err, err
    assert "calibration cache entries match no tensor of this graph" in err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert sum("calibration cache" in w for w in manifest["warnings"]) == 2
