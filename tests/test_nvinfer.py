"""nvinfer config writer: every network x every DeepStream version x platform passes `taostream check`,
and the values match NVIDIA's published settings (FACTS.md sections 2 and 5)."""

from __future__ import annotations

import shutil

import onnx
import pytest

from deepstream_fixtures import network_onnx, parser_stub_library, write_labels
from taostream.converter.errors import TaostreamError
from taostream.converter.registry import NETWORKS, get_network
from taostream.converter.tao_spec import load_spec, parse_spec
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.nvinfer import (
    DEEPSTREAM_VERSIONS, default_options, engine_file_name, format_nvinfer_config, write_nvinfer_config)
from taostream.deepstream_configs.specs.settings import cluster_settings_from_spec, preprocessing_from_spec
from taostream.deepstream_configs.versions import implicit_int8_route

NUM_CLASSES = 4


@pytest.fixture(scope="module")
def model_folders(tmp_path_factory):
    """One folder per network with model.onnx, labels.txt and the parser library."""
    library = parser_stub_library()
    folders = {}
    for net in NETWORKS:
        folder = tmp_path_factory.mktemp(net.name)
        model = network_onnx(net, NUM_CLASSES)
        onnx.save(model, folder / "model.onnx")
        onnx.save(network_onnx(net, NUM_CLASSES, quantized=True), folder / "model_qdq.onnx")
        write_labels(folder / "labels.txt", NUM_CLASSES, classifier=net.network_type == 1)
        if net.output_layout == "lprnet_ctc":  # NvDsInferParseCustomNVPlate's dictionary, beside the config
            (folder / "dict.txt").write_text("".join(f"{c}\n" for c in "ABCD"[:NUM_CLASSES]))
        shutil.copy(library, folder / library.name)
        # a cache with a scale for every tensor of this model, as `tao export --cal_cache_file` writes one
        # (check applies it to the model and refuses a cache that reaches none of its convolutions)
        tensors = dict.fromkeys([i.name for i in model.graph.input] + [o for n in model.graph.node for o in n.output])
        (folder / "cal.bin").write_text("TRT-8601-EntropyCalibration2\n" + "".join(f"{t}: 3c010a14\n" for t in tensors))
        folders[net.name] = (folder, tuple(o.name for o in model.graph.output))
    return folders


def _property(path):
    group = read_ini(path).group("property")
    return {e.key: e.value for e in group.entries}


@pytest.mark.parametrize("net", NETWORKS, ids=lambda n: n.name)
def test_every_version_and_platform_passes_check(net, model_folders):
    folder, outputs = model_folders[net.name]
    for version in DEEPSTREAM_VERSIONS:
        # INT8 on x86 as bundle routes it: Q/DQ from TensorRT 10, the cache before (TensorRT 8 builds no Q/DQ
        # graph from nvinfer's FP16 fallback: test_check's test_a_qdq_model_without_a_cache_is_refused_...)
        x86_int8 = "calibration" if implicit_int8_route(version, "x86") else "qdq"
        for platform, dla_core, precision, int8_source in (
            ("x86", None, "fp16", "calibration"), ("x86", None, "int8", x86_int8),
            ("jetson", 0, "int8", "calibration"), ("jetson", None, "fp32", "calibration"),
        ):
            options = default_options(
                net, num_classes=NUM_CLASSES, deepstream=version, platform=platform, dla_core=dla_core,
                precision=precision, int8_source=int8_source, output_names=outputs,
                model_file="model_qdq.onnx" if int8_source == "qdq" else "model.onnx",
                calibration_file="cal.bin" if precision == "int8" else None)  # Q/DQ too, as bundle writes it
            config = folder / f"config_{version}_{platform}_{precision}.txt"
            write_nvinfer_config(config, options)
            report = check_configs([config], deepstream=version)
            assert report.errors == [], [str(f) for f in report.errors]
            assert report.warnings == [], [str(f) for f in report.warnings]


def test_published_settings_per_network(tmp_path):
    def written(name, **kw):
        path = tmp_path / f"{name}.txt"
        write_nvinfer_config(path, default_options(name, num_classes=3, **kw))
        return _property(path)

    yolo = written("yolov4")
    assert (yolo["maintain-aspect-ratio"], yolo["cluster-mode"], yolo["model-color-format"]) == ("1", "3", "1")
    assert yolo["parse-bbox-func-name"] == "NvDsInferParseCustomBatchedNMSTLT"
    assert yolo["offsets"] == "103.939;116.779;123.68"
    assert yolo["output-blob-names"] == "BatchedNMS;BatchedNMS_1;BatchedNMS_2;BatchedNMS_3"
    ssd = written("ssd")
    assert (ssd["maintain-aspect-ratio"], ssd["parse-bbox-func-name"]) == ("0", "NvDsInferParseCustomNMSTLT")
    mask = written("peoplesegnet")
    assert (mask["network-type"], mask["cluster-mode"], mask["output-instance-mask"]) == ("3", "4", "1")
    assert mask["parse-bbox-instance-mask-func-name"] == "NvDsInferParseCustomMrcnnTLTV2"
    assert (mask["net-scale-factor"], mask["offsets"], mask["model-color-format"]) == ("0.017507", "123.675;116.28;103.53", "0")
    detectnet = written("detectnet_v2")
    assert float(detectnet["net-scale-factor"]) == 0.0039215697906911373
    assert detectnet["model-color-format"] == "0" and "offsets" not in detectnet
    effdet = written("efficientdet")
    assert (effdet["network-input-order"], effdet["offsets"], effdet["cluster-mode"]) == ("1", "0;0;0", "4")
    assert effdet["infer-dims"] == "3;512;512"
    frcnn = written("frcnn")
    assert frcnn["infer-dims"] == "3;384;1248" and frcnn["output-blob-names"] == "nms_out;nms_out_1"


def test_engine_name_follows_deepstream():
    assert engine_file_name("model.onnx", 4, "dla1", "int8") == "model.onnx_b4_dla1_int8.engine"
    assert engine_file_name("../x/resnet18.etlt", 1, "gpu0", "fp16") == "resnet18.etlt_b1_gpu0_fp16.engine"
    prop = read_ini_text(format_nvinfer_config(default_options(
        "ssd", model_file="../model.onnx", batch_size=2, platform="jetson", dla_core=1, precision="fp16")))
    assert prop["model-engine-file"] == "../model.onnx_b2_dla1_fp16.engine"
    assert (prop["enable-dla"], prop["use-dla-core"]) == ("1", "1")


def read_ini_text(text):
    from taostream.deepstream_configs.ini import parse_ini_text

    return {e.key: e.value for e in parse_ini_text(text).group("property").entries}


def test_deepstream6_etlt_needs_explicit_key_opt_in():
    base = dict(deepstream="6.3", model_format="etlt", model_file="m.etlt", etlt_key="secret-key",
                etlt_input_name="input_1")
    with pytest.raises(TaostreamError, match="embed_key"):
        format_nvinfer_config(default_options("detectnet_v2", **base))
    prop = read_ini_text(format_nvinfer_config(default_options("detectnet_v2", embed_key=True, **base)))
    assert prop["tlt-encoded-model"] == "m.etlt" and prop["tlt-model-key"] == "secret-key"
    assert prop["uff-input-blob-name"] == "input_1"
    assert prop["output-blob-names"] == "output_cov/Sigmoid;output_bbox/BiasAdd"  # UFF payload names
    with pytest.raises(TaostreamError, match="cannot read .etlt"):
        format_nvinfer_config(default_options("detectnet_v2", embed_key=True, **{**base, "deepstream": "7.1"}))


def test_default_config_has_no_key_and_uses_onnx():
    prop = read_ini_text(format_nvinfer_config(default_options("ssd", etlt_key="secret-key")))
    assert prop["onnx-file"] == "model.onnx"
    assert not any(k.startswith(("tlt-", "uff-")) for k in prop)
    assert "secret-key" not in format_nvinfer_config(default_options("ssd", etlt_key="secret-key"))


def test_int8_modes():
    with pytest.raises(TaostreamError, match="calibration cache"):
        format_nvinfer_config(default_options("ssd", precision="int8"))
    calibrated = read_ini_text(format_nvinfer_config(default_options("ssd", precision="int8", calibration_file="cal.bin")))
    assert (calibrated["network-mode"], calibrated["int8-calib-file"]) == ("1", "cal.bin")
    qdq = read_ini_text(format_nvinfer_config(default_options("ssd", precision="int8", int8_source="qdq")))
    assert qdq["network-mode"] == "1" and "int8-calib-file" not in qdq
    with pytest.raises(TaostreamError, match="DLA"):
        format_nvinfer_config(default_options("ssd", dla_core=0))


def test_detectnet_thresholds_from_real_spec(fixtures_dir, tmp_path):
    # The face-mask spec clusters each class with its own DBSCAN settings (eps 0.2 / 0.15); the
    # taostream parser does TAO's clustering itself, so nvinfer must not cluster again (mode 4).
    from taostream.parsers.reference import DetectNetV2Clustering

    net = get_network("detectnet_v2")
    spec = load_spec(fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt")
    path = tmp_path / "c.txt"
    write_nvinfer_config(path, default_options(net, num_classes=2, cluster=cluster_settings_from_spec(net, spec, ["mask", "no-mask"])))
    ini = read_ini(path)
    assert ini.group("property").get("cluster-mode") == "4"
    mask, no_mask = ini.group("class-attrs-0"), ini.group("class-attrs-1")
    assert float(mask.get("pre-cluster-threshold")) == pytest.approx(0.00499999988824)
    assert float(no_mask.get("pre-cluster-threshold")) == pytest.approx(0.00499999988824)
    assert mask.get("eps") is None  # nvinfer's own DBSCAN settings would be dead keys at mode 4
    (line,) = [l for l in path.read_text().splitlines() if "TAOSTREAM_DETECTNET_V2=" in l]
    settings = DetectNetV2Clustering.from_env(line.split("TAOSTREAM_DETECTNET_V2=", 1)[1].strip('"'))
    assert settings.mode == "dbscan"
    assert settings.eps == pytest.approx((0.20000000298, 0.15000000596))
    assert settings.min_samples == pytest.approx(0.0500000007451)
    assert settings.min_height == pytest.approx(20.0)


def test_nms_networks_take_iou_and_topk_from_spec(fixtures_dir):
    net = get_network("ssd")
    spec = load_spec(fixtures_dir / "specs/tao_ssd_default_spec.txt")
    attrs = cluster_settings_from_spec(net, spec, []).class_attrs["all"]
    assert attrs == {"pre-cluster-threshold": 0.3, "nms-iou-threshold": 0.8, "topk": 200}


def test_faster_rcnn_offsets_and_threshold_from_spec():
    net = get_network("faster_rcnn")
    spec = parse_spec("""
model_config { input_image_config {
  image_type: RGB image_channel_order: 'bgr'
  size_height_width { height: 384 width: 1248 }
  image_channel_mean { key: 'b' value: 103.5 } image_channel_mean { key: 'g' value: 116.5 }
  image_channel_mean { key: 'r' value: 123.5 } image_scaling_factor: 1.0 } }
inference_config { bbox_visualize_threshold: 0.7 classifier_nms_overlap_threshold: 0.4 }
""")
    pre = preprocessing_from_spec(net, spec)
    assert (pre.color, pre.offsets) == ("BGR", (103.5, 116.5, 123.5))
    assert cluster_settings_from_spec(net, spec, []).class_attrs["all"]["pre-cluster-threshold"] == 0.7
    text = format_nvinfer_config(default_options(net, preprocessing=pre))
    assert "offsets=103.5;116.5;123.5" in text


def test_faster_rcnn_scaling_factor_divides_gray_takes_l_and_nothing_is_letterboxed():
    """TAO FasterRCNN's preprocess_images: resize_all to H x W (no aspect ratio kept), subtract the means,
    then DIVIDE by image_scaling_factor; a GRAY model subtracts image_channel_mean['l']."""
    net = get_network("faster_rcnn")
    size = "size_height_width { height: 384 width: 1248 }"
    spec = parse_spec(f"""model_config {{ input_image_config {{ image_type: RGB image_channel_order: 'rgb' {size}
  image_channel_mean {{ key: 'r' value: 123.5 }} image_channel_mean {{ key: 'g' value: 116.5 }}
  image_channel_mean {{ key: 'b' value: 103.5 }} image_scaling_factor: 255.0 }} }}""", "frcnn_spec.txt")
    pre = preprocessing_from_spec(net, spec)
    assert (pre.color, pre.offsets, pre.net_scale_factor) == ("RGB", (123.5, 116.5, 103.5), 1 / 255.0)
    assert "maintain-aspect-ratio=0" in format_nvinfer_config(default_options(net, preprocessing=pre))
    gray = parse_spec(f"""model_config {{ input_image_config {{ image_type: GRAY {size}
  image_channel_mean {{ key: 'l' value: 117.0 }} image_scaling_factor: 1.0 }} }}""", "frcnn_spec.txt")
    pre = preprocessing_from_spec(net, gray)
    assert (pre.color, pre.offsets, pre.net_scale_factor) == ("GRAY", (117.0,), 1.0)
    text = format_nvinfer_config(default_options(net, preprocessing=pre, dims=(1, 384, 1248)))
    assert "offsets=117\nmodel-color-format=2" in text
    zero = parse_spec(f"model_config {{ input_image_config {{ {size} image_scaling_factor: 0 }} }}", "frcnn_spec.txt")
    with pytest.raises(TaostreamError, match=r"frcnn_spec.txt: .*image_scaling_factor: 0 is not above 0"):
        preprocessing_from_spec(net, zero)


def _makenet_spec(fixtures_dir, train_fields: str = "", size: str = "3,224,224"):
    """TAO's own classification default spec with the train_config fields a user adds."""
    text = (fixtures_dir / "specs/tao_makenet_default_spec.txt").read_text()
    text = text.replace('input_image_size: "3,224,224"', f'input_image_size: "{size}"')
    return parse_spec(text.replace("train_config {", "train_config {\n" + train_fields, 1), "makenet_spec.txt")


def test_classification_caffe_mode_subtracts_the_specs_image_mean(fixtures_dir):
    """TAO classification's caffe mode subtracts train_config.image_mean (b, g, r) where the spec sets it
    (makenet train.py); the config kept ImageNet's means, so every crop was off by the difference."""
    net = get_network("classification")
    means = "image_mean { key: 'r' value: 120.5 } image_mean { key: 'g' value: 110.0 } image_mean { key: 'b' value: 100.25 }"
    pre = preprocessing_from_spec(net, _makenet_spec(fixtures_dir, "preprocess_mode: 'caffe' " + means))
    assert (pre.color, pre.net_scale_factor, pre.offsets) == ("BGR", 1.0, (100.25, 110.0, 120.5))
    assert "offsets=100.25;110;120.5\nmodel-color-format=1" in format_nvinfer_config(default_options(net, preprocessing=pre))
    # no image_mean: ImageNet's BGR means, as NVIDIA's classifier configs have them
    pre = preprocessing_from_spec(net, _makenet_spec(fixtures_dir))
    assert (pre.color, pre.net_scale_factor, pre.offsets) == ("BGR", 1.0, (103.939, 116.779, 123.68))
    # torch and tf ignore image_mean, as TAO does
    pre = preprocessing_from_spec(net, _makenet_spec(fixtures_dir, "preprocess_mode: 'torch' " + means))
    assert (pre.color, pre.net_scale_factor, pre.offsets) == ("RGB", 0.017507, (123.675, 116.28, 103.53))
    pre = preprocessing_from_spec(net, _makenet_spec(fixtures_dir, "preprocess_mode: 'tf' " + means))
    assert (pre.color, pre.offsets) == ("RGB", (127.5, 127.5, 127.5)) and abs(pre.net_scale_factor - 1 / 127.5) < 1e-12
    with pytest.raises(TaostreamError, match=r"makenet_spec.txt: train_config.image_mean: .* needs b, g, r"):
        preprocessing_from_spec(net, _makenet_spec(fixtures_dir, "image_mean { key: 'l' value: 117.0 }"))


def test_a_one_channel_classifier_is_gray_with_one_offset(fixtures_dir):
    """TAO's default_spec_grayscale (input_image_size "1,224,224"): caffe subtracts 117.3786 or image_mean['l'],
    torch 0.449*255; nvinfer needs model-color-format=2 for a 1-channel input."""
    net = get_network("classification")
    pre = preprocessing_from_spec(net, _makenet_spec(fixtures_dir, size="1,224,224"))
    assert (pre.color, pre.net_scale_factor, pre.offsets) == ("GRAY", 1.0, (117.3786,))
    pre = preprocessing_from_spec(net, _makenet_spec(fixtures_dir, "image_mean { key: 'l' value: 101.0 }", "1,224,224"))
    assert (pre.color, pre.offsets) == ("GRAY", (101.0,))
    text = format_nvinfer_config(default_options(net, preprocessing=pre, dims=(1, 224, 224)))
    assert "offsets=101\nmodel-color-format=2" in text and "infer-dims=1;224;224" in text
    pre = preprocessing_from_spec(net, _makenet_spec(fixtures_dir, "preprocess_mode: 'torch'", "1,224,224"))
    assert (pre.color, pre.net_scale_factor) == ("GRAY", 0.017507) and pre.offsets == pytest.approx((114.495,))


# TAO 5's classification_tf2 experiment spec (YAML; the fields of its DataConfig / ModelConfig dataclasses)
_TF2_CLASSIFICATION_SPEC = """\
results_dir: '/workspace/results'
encryption_key: 'nvidia_tlt'
dataset:
  train_dataset_path: "/workspace/tao-experiments/data/split/train"
  val_dataset_path: "/workspace/tao-experiments/data/split/val"
  preprocess_mode: '{mode}'
  image_mean: [100.25, 110.0, 120.5]
  num_classes: 4
  augmentation:
    enable_center_crop: True
model:
  backbone: 'efficientnet-b0'
  input_width: 256
  input_height: 192
  input_channels: 3
train:
  qat: False
  num_epochs: 80
"""


@pytest.mark.parametrize("mode", ["torch", "caffe"])
def test_a_classification_tf2_yaml_spec_gives_its_preprocessing_and_size(tmp_path, mode):
    """TAO's TF2 networks write YAML specs; bundle's --spec failed on one with a protobuf parse error at line 5
    ("expected a field name"), so a torch-mode TF2 classifier could only be bundled without its spec: with
    caffe's BGR means."""
    from taostream.deepstream_configs.specs.access import load_spec_file
    from taostream.deepstream_configs.specs.settings import input_dims_from_spec

    path = tmp_path / "spec.yaml"
    path.write_text(_TF2_CLASSIFICATION_SPEC.format(mode=mode))
    net = get_network("classification")
    spec = load_spec_file(path)
    assert input_dims_from_spec(net, spec) == (3, 192, 256)
    pre = preprocessing_from_spec(net, spec)
    if mode == "torch":  # image_mean is ignored, as TAO does
        assert (pre.color, pre.net_scale_factor, pre.offsets) == ("RGB", 0.017507, (123.675, 116.28, 103.53))
    else:  # TF2's image_mean list is in the model's BGR order
        assert (pre.color, pre.net_scale_factor, pre.offsets) == ("BGR", 1.0, (100.25, 110.0, 120.5))
    path.write_text(_TF2_CLASSIFICATION_SPEC.format(mode=mode) + "  broken: [1, 2\n")
    with pytest.raises(TaostreamError, match="spec.yaml"):
        load_spec_file(path)


# A TF2 YAML spec with one YAML mistake -> the YAML problem's line:column (counted by hand in the spec above)
YAML_MISTAKES = [
    ("unclosed list", "image_mean: [100.25, 110.0, 120.5]", "image_mean: [100.25, 110.0, 120.5", "spec.yaml:8:14:",
     "expected ',' or ']', but got ':' (while parsing a flow sequence that starts at line 7, column 15)"),
    ("tab indent", "  input_height: 192", "\tinput_height: 192", "spec.yaml:14:1:", "indent with spaces, not tabs"),
    ("top key indented", "model:", " model:", "spec.yaml:11:2:", "while parsing a block mapping"),
]


@pytest.mark.parametrize("case, good, bad, where, what", YAML_MISTAKES, ids=[m[0] for m in YAML_MISTAKES])
def test_a_yaml_spec_with_a_yaml_mistake_is_reported_as_yaml(tmp_path, capsys, case, good, bad, where, what):
    """Before, the protobuf text parser's complaint came back ("spec.yaml:4:21: expected a field name"),
    pointing at a valid line of a valid-looking YAML file."""
    from taostream.cli import main

    path = tmp_path / "spec.yaml"
    text = _TF2_CLASSIFICATION_SPEC.format(mode="torch")
    assert good in text
    path.write_text(text.replace(good, bad, 1))
    assert main(["labels", str(path), "--network", "classification"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{where} this YAML spec (TAO's TF2 format) does not parse" in err and what in err
    assert "expected a field name" not in err


def test_a_protobuf_spec_with_a_mistake_keeps_the_protobuf_parsers_message(fixtures_dir, tmp_path):
    """NVIDIA's LPRNet spec (protobuf text) with a missing colon: reported by the protobuf text parser, not as YAML."""
    from taostream.deepstream_configs.specs.access import load_spec_file

    text = (fixtures_dir / "specs" / "tao_lprnet_default_spec.txt").read_text()
    assert "  max_label_length: 8\n" in text  # line 4
    path = tmp_path / "lprnet_spec.txt"
    path.write_text(text.replace("  max_label_length: 8\n", "  max_label_length 8\n", 1))
    with pytest.raises(TaostreamError) as caught:
        load_spec_file(path)
    assert str(caught.value).startswith(f"{path}:4:") and "YAML" not in str(caught.value)


def test_unsupported_version_is_rejected():
    with pytest.raises(TaostreamError, match="unsupported DeepStream"):
        format_nvinfer_config(default_options("ssd", deepstream="5.1"))


def test_classifier_uses_nvinfers_softmax_parser(model_folders):
    """A custom classifier parser must fill attributeLabel itself or nvinfer attaches no classifier meta
    (gstnvinfer_meta_utils.cpp attach_metadata_classifier returns on an empty label); nvinfer's built-in
    softmax parser names the attributes from labelfile-path. So the config names no custom parser."""
    folder, outputs = model_folders["classification"]
    config = folder / "builtin_softmax.txt"
    write_nvinfer_config(config, default_options("classification", num_classes=NUM_CLASSES, output_names=outputs))
    prop = _property(config)
    assert "parse-classifier-func-name" not in prop and "custom-lib-path" not in prop
    assert (prop["network-type"], prop["classifier-threshold"], prop["labelfile-path"]) == ("1", "0.2", "labels.txt")
    report = check_configs([config], deepstream="9.0")
    assert report.errors == [] and report.warnings == [], [str(f) for f in report.findings]


def test_check_warns_about_the_unlabelled_classifier_parser(model_folders):
    folder, outputs = model_folders["classification"]
    config = folder / "old_taostream_classifier.txt"
    text = format_nvinfer_config(default_options("classification", num_classes=NUM_CLASSES, output_names=outputs))
    config.write_text(text.replace("[property]\n", "[property]\nparse-classifier-func-name=NvDsInferClassifierParseCustomTAO\n"
                                   f"custom-lib-path={parser_stub_library().name}\n"))
    report = check_configs([config], deepstream="9.0")
    assert report.errors == []
    [warning] = report.warnings
    assert warning.key == "parse-classifier-func-name" and "no classifier meta" in warning.message
    assert "delete parse-classifier-func-name" in warning.message
