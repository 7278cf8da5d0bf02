"""`taostream check` on hand-written configs: a clean pair passes, and each planted mistake is found
with a message naming the key and the fix."""

from __future__ import annotations

import shutil

import onnx
import pytest

from conftest import FIXTURES
from deepstream_fixtures import make_onnx, network_onnx, parser_stub_library, write_labels
from taostream.cli import main
from taostream.converter.registry import get_network
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.elf_symbols import ElfError, exported_functions

NVINFER = """\
# hand-written, NVIDIA style
[property]
gpu-id=0
net-scale-factor=1.0
offsets=103.939;116.779;123.68
model-color-format=1
onnx-file=model.onnx
model-engine-file=model.onnx_b1_gpu0_fp16.engine
labelfile-path=labels.txt
infer-dims=3;300;300
batch-size=1
network-mode=2
num-detected-classes=4
interval=0
gie-unique-id=1
network-type=0
cluster-mode=2
output-blob-names=NMS;NMS_1
parse-bbox-func-name=NvDsInferParseCustomNMSTLT
custom-lib-path=libnvds_infercustomparser_taostream.so

[class-attrs-all]
pre-cluster-threshold=0.3
nms-iou-threshold=0.6
topk=200
"""

APP = """\
[application]
enable-perf-measurement=1

[source0]
enable=1
type=3
uri=file://video.mp4
num-sources=1

[sink0]
enable=1
type=1
sync=0

[streammux]
batch-size=1
width=300
height=300

[primary-gie]
enable=1
batch-size=1
gie-unique-id=1
config-file=pgie.txt

[secondary-gie0]
enable=1
gie-unique-id=2
operate-on-gie-id=1
config-file=sgie.txt
"""

SGIE = NVINFER.replace("gie-unique-id=1", "gie-unique-id=2\nprocess-mode=2\noperate-on-gie-id=1")


@pytest.fixture()
def folder(tmp_path):
    onnx.save(network_onnx(get_network("ssd"), 4), tmp_path / "model.onnx")
    write_labels(tmp_path / "labels.txt", 4)
    library = parser_stub_library()
    shutil.copy(library, tmp_path / library.name)
    (tmp_path / "video.mp4").write_bytes(b"\0")
    (tmp_path / "pgie.txt").write_text(NVINFER)
    (tmp_path / "sgie.txt").write_text(SGIE)
    (tmp_path / "app.txt").write_text(APP)
    return tmp_path


def _findings(folder, name, text, deepstream="9.0", replace=None):
    (folder / name).write_text(text)
    return check_configs([folder / name], deepstream=deepstream)


def test_clean_configs_pass(folder):
    report = check_configs([folder / "app.txt", folder / "pgie.txt"], deepstream="9.0")
    assert report.errors == [] and report.warnings == [], [str(f) for f in report.findings]


# (name, config file, old text, new text, DeepStream version, expected key, words the message must hold)
PLANTED = [
    ("typo key", "pgie.txt", "network-mode=2", "netwrok-mode=2", "9.0", "netwrok-mode", ["did you mean 'network-mode'"]),
    ("typo class-attrs key", "pgie.txt", "nms-iou-threshold=0.6", "nms-iou-treshold=0.6", "9.0", "nms-iou-treshold",
     ["did you mean 'nms-iou-threshold'"]),
    ("wrong type", "pgie.txt", "batch-size=1", "batch-size=one", "9.0", "batch-size", ["expected a non-negative integer"]),
    ("bad value", "pgie.txt", "network-mode=2", "network-mode=5", "9.0", "network-mode", ["must be one of 0, 1, 2, 3"]),
    ("BEST mode before DS 8", "pgie.txt", "network-mode=2", "network-mode=3", "7.1", "network-mode", ["needs DeepStream 8"]),
    ("UFF key on DS 8", "pgie.txt", "onnx-file=model.onnx", "onnx-file=model.onnx\nuff-input-blob-name=Input", "8.0",
     "uff-input-blob-name", ["not supported by DeepStream 8", "onnx-file"]),
    ("etlt on DS 7", "pgie.txt", "onnx-file=model.onnx", "tlt-encoded-model=model.onnx\ntlt-model-key=k", "7.0",
     "tlt-encoded-model", ["not supported by DeepStream 7", "taostream decode"]),
    ("class count", "pgie.txt", "num-detected-classes=4", "num-detected-classes=3", "9.0", "num-detected-classes",
     ["labels.txt has 4 lines", "num-detected-classes=4"]),
    ("output name", "pgie.txt", "output-blob-names=NMS;NMS_1", "output-blob-names=NMS;NMS_2", "9.0", "output-blob-names",
     ["'NMS_2' is not an output", "did you mean 'NMS_1'"]),
    ("parser not exported", "pgie.txt", "parse-bbox-func-name=NvDsInferParseCustomNMSTLT",
     "parse-bbox-func-name=NvDsInferParseCustomNMSTLTv2", "9.0", "parse-bbox-func-name",
     ["not exported by", "did you mean 'NvDsInferParseCustomNMSTLT'"]),
    ("missing label file", "pgie.txt", "labelfile-path=labels.txt", "labelfile-path=labels_missing.txt", "9.0",
     "labelfile-path", ["file not found", "labels_missing.txt", "fix the path"]),
    ("instance seg cluster mode", "pgie.txt", "network-type=0",
     "network-type=3\noutput-instance-mask=1\nparse-bbox-instance-mask-func-name=NvDsInferParseCustomNMSTLT", "9.0",
     "cluster-mode", ["needs cluster-mode=4"]),
    ("INT8 without calibration", "pgie.txt", "network-mode=2", "network-mode=1", "9.0", "int8-calib-file",
     ["without a calibration file", "int8-calib-file=cal.bin"]),
    ("mux vs GIE batch", "app.txt", "[streammux]\nbatch-size=1", "[streammux]\nbatch-size=2", "9.0", "batch-size",
     ["[streammux] batch-size is 2", "set both to 2"]),
    ("offsets count", "pgie.txt", "offsets=103.939;116.779;123.68", "offsets=103.939;116.779", "9.0", "offsets",
     ["give 3 values"]),
    ("infer-dims vs model", "pgie.txt", "infer-dims=3;300;300", "infer-dims=3;320;320", "9.0", "infer-dims",
     ["set infer-dims=3;300;300"]),
    ("gie id zero", "pgie.txt", "gie-unique-id=1", "gie-unique-id=0", "9.0", "gie-unique-id", ["at least 1"]),
    ("unknown app group", "app.txt", "[sink0]", "[snk0]", "9.0", None, ["unknown deepstream-app group [snk0]", "[sink0]"]),
    ("secondary on missing GIE", "app.txt", "operate-on-gie-id=1", "operate-on-gie-id=7", "9.0", "operate-on-gie-id",
     ["7 is not the gie-unique-id"]),
    ("class id out of range", "pgie.txt", "[class-attrs-all]", "[class-attrs-7]\ntopk=10\n\n[class-attrs-all]", "9.0",
     None, ["class id 7 does not exist"]),
    ("inline comment", "pgie.txt", "cluster-mode=2", "cluster-mode=2 ## NMS", "9.0", "cluster-mode", ["inline comment"]),
    ("missing video", "app.txt", "uri=file://video.mp4", "uri=file://other.mp4", "9.0", "uri", ["file not found"]),
    ("engine only and missing", "pgie.txt", "onnx-file=model.onnx\n", "", "9.0", "model-engine-file",
     ["file not found", "no model to build it from"]),
    ("rtsp sink without port", "app.txt", "type=1\nsync=0", "type=4\nsync=0", "9.0", "rtsp-port", ["needs rtsp-port"]),
]


@pytest.mark.parametrize("case", PLANTED, ids=[c[0] for c in PLANTED])
def test_planted_mistake_is_found(folder, case):
    _, name, old, new, version, key, words = case
    text = (folder / name).read_text()
    assert old in text
    (folder / name).write_text(text.replace(old, new, 1))
    report = check_configs([folder / name], deepstream=version)
    matching = [f for f in report.errors if (key is None or f.key == key) and all(w in f.message for w in words)]
    assert matching, [str(f) for f in report.findings]
    assert str(matching[0]).startswith(str(folder / name)) or name == "app.txt"


def test_planted_mistakes_cover_at_least_12_kinds():
    assert len({case[0] for case in PLANTED}) >= 12


def test_deprecated_keys_are_warnings(folder):
    text = NVINFER.replace("pre-cluster-threshold=0.3", "threshold=0.3").replace("network-type=0", "network-type=0\nis-classifier=0")
    report = _findings(folder, "old.txt", text)
    assert report.errors == []
    assert {f.key for f in report.warnings} == {"threshold", "is-classifier"}
    assert any("use pre-cluster-threshold" in f.message for f in report.warnings)


def test_qdq_model_needs_no_calibration_file(folder):
    model = network_onnx(get_network("ssd"), 4, quantized=True)
    onnx.save(model, folder / "model.onnx")
    report = _findings(folder, "int8.txt", NVINFER.replace("network-mode=2", "network-mode=1"))
    assert report.errors == []


@pytest.mark.parametrize("deepstream, severity", [("6.0", "error"), ("6.2", "error"), ("7.0", "error"),
                                                    ("7.1", "warning"), ("9.2", "warning")])
def test_a_qdq_model_without_a_calibration_file_is_found(folder, deepstream, severity):
    """nvinfer sets TensorRT's INT8 flag only with a calibrator (DeepStream's nvdsinfer_model_builder.cpp:
    "INT8 calibration file not specified. Trying FP16 mode."), so network-mode=1 without int8-calib-file
    builds a Q/DQ model in FP16: TensorRT 8 (DeepStream 6.0-7.0) runs no Q/DQ graph so, an error; on
    TensorRT 10 a warning (reported to fail too, not verified here). A hand-edited 6.x config naming the
    Q/DQ model.onnx, and the x86 bundles' own configs before, passed; with a cache nothing is said."""
    onnx.save(network_onnx(get_network("ssd"), 4, quantized=True), folder / "model.onnx")
    int8 = NVINFER.replace("network-mode=2", "network-mode=1")
    report = _findings(folder, "int8.txt", int8, deepstream=deepstream)
    found = [f for f in report.findings if "Q/DQ nodes" in f.message]
    assert [f.severity for f in found] == [severity], [str(f) for f in report.findings]
    assert f"DeepStream {deepstream}'s nvinfer" in found[0].message and "int8-calib-file" in found[0].message
    (folder / "cal.bin").write_text("TRT-8501-EntropyCalibration2\nInput: 3c010a14\n")
    with_cache = _findings(folder, "int8.txt", int8.replace("network-mode=1", "network-mode=1\nint8-calib-file=cal.bin"),
                           deepstream=deepstream)
    assert not [f for f in with_cache.findings if "Q/DQ nodes" in f.message], [str(f) for f in with_cache.findings]


def test_model_option_reaches_a_model_elsewhere(folder, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere") / "m.onnx"
    onnx.save(make_onnx("Input", (1, 3, 300, 300), {"detections": (1, 5)}), other)
    report = check_configs([folder / "pgie.txt"], deepstream="9.0", model=other)
    assert any(f.key == "output-blob-names" and "'NMS' is not an output of m.onnx" in f.message for f in report.errors)


def test_line_numbers_point_at_the_key(folder):
    report = _findings(folder, "typo.txt", NVINFER.replace("topk=200", "top-k=200"))
    (finding,) = report.errors
    assert finding.line == NVINFER.splitlines().index("topk=200") + 1
    assert str(finding).startswith(f"{folder / 'typo.txt'}:{finding.line}: error: [class-attrs-all] top-k:")


def test_elf_reader_matches_a_real_library(tmp_path):
    names = exported_functions(parser_stub_library())
    assert "NvDsInferParseCustomNMSTLT" in names and "NvDsInferParseCustomMrcnnTLTV2" in names
    not_elf = tmp_path / "lib.so"
    not_elf.write_text("not a library")
    with pytest.raises(ElfError, match="not an ELF shared library"):
        exported_functions(not_elf)


def test_cli_exit_codes(folder, capsys):
    assert main(["check", str(folder / "app.txt"), str(folder / "pgie.txt")]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    (folder / "pgie.txt").write_text(NVINFER.replace("batch-size=1", "batch-size=-1"))
    assert main(["check", str(folder / "pgie.txt"), "--deepstream", "8.0"]) == 1
    out = capsys.readouterr().out
    assert "batch-size: must not be negative" in out and "1 error(s)" in out
    assert main(["check", str(folder / "pgie.txt"), "--deepstream", "4.0"]) == 2


def test_detectnet_parser_with_nvinfer_clustering_warns(folder):
    text = (folder / "pgie.txt").read_text().replace(
        "parse-bbox-func-name=NvDsInferParseCustomNMSTLT", "parse-bbox-func-name=NvDsInferParseCustomDetectNetV2TAO")
    (folder / "pgie.txt").write_text(text)
    report = check_configs([folder / "pgie.txt"], deepstream="9.0")
    (warning,) = [f for f in report.warnings if f.key == "cluster-mode"]
    assert "clusters twice" in warning.message and "cluster-mode=4" in warning.message
    (folder / "pgie.txt").write_text(text.replace("cluster-mode=2", "cluster-mode=4"))
    assert not [f for f in check_configs([folder / "pgie.txt"], deepstream="9.0").warnings if f.key == "cluster-mode"]


@pytest.mark.parametrize("value, words", [
    ("conv1", ["not layer:precision:device", "conv1:fp32:gpu"]),
    ("conv1:fp64:gpu", ["not layer:precision:device"]),
    ("not_a_layer:fp32:gpu", ["'not_a_layer' is not a layer of model.onnx"]),
])
def test_layer_device_precision_is_checked(folder, value, words):
    text = (folder / "pgie.txt").read_text().replace("[property]\n", f"[property]\nlayer-device-precision={value}\n", 1)
    (folder / "pgie.txt").write_text(text)
    report = check_configs([folder / "pgie.txt"], deepstream="9.0")
    found = [f for f in report.errors if f.key == "layer-device-precision"]
    assert found and all(w in found[0].message for w in words), [str(f) for f in report.findings]


@pytest.mark.parametrize("deepstream", ["6.0", "9.2"])
def test_deprecated_key_advice_keeps_the_configs_value(fixtures_dir, deepstream):
    # NVIDIA's DeepStream 5 configs say is-classifier=0 (a detector): the advice must be network-type=0,
    # not network-type=1, which would turn the detector into a classifier.
    config = fixtures_dir / "configs" / "pgie_detectnet_v2_tlt_config.txt"
    assert "is-classifier=0" in config.read_text()
    report = check_configs([config], deepstream=deepstream)
    (finding,) = [f for f in report.warnings if f.key == "is-classifier"]
    assert "use network-type=0" in finding.message and "network-type=1" not in finding.message


@pytest.mark.parametrize("old, new", [("enable-dbscan=1", "cluster-mode=1"), ("enable-dbscan=0", "cluster-mode=0"),
                                      ("is-classifier=1", "network-type=1")])
def test_deprecated_boolean_keys_map_their_value(folder, old, new):
    text = NVINFER.replace("cluster-mode=2\n", "").replace("network-type=0\n", "")
    text = text.replace("gie-unique-id=1", f"gie-unique-id=1\n{old}")
    report = _findings(folder, "old.txt", text)
    key = old.split("=")[0]
    (finding,) = [f for f in report.warnings if f.key == key]
    assert f"use {new}" in finding.message, finding.message


def test_an_unusable_model_option_is_refused_not_passed_over(folder, capsys):
    # --model used to be ignored unless it was an existing .onnx, and check then judged the config
    # without a model (an INT8 config "has no Q/DQ nodes")
    config = folder / "int8.txt"
    config.write_text(NVINFER.replace("network-mode=2", "network-mode=1"))
    image = folder / "photo.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0 not really")
    cases = [(folder, "is a folder; --model takes the ONNX model"),
             (folder / "nope.onnx", "no such file; check the path given to --model"),
             (FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt", "--model takes the ONNX model (.onnx)"),
             (image, "--model takes the ONNX model (.onnx)")]
    for model, words in cases:
        assert main(["check", str(config), "--model", str(model)]) == 2
        out = capsys.readouterr()
        assert out.out == "" and len(out.err.strip().splitlines()) == 1, out
        assert out.err.startswith(f"taostream: error: {model}: {words}"), out.err
    # an .onnx that does not parse: that one error, no guess about its Q/DQ nodes
    broken = folder / "broken.onnx"
    broken.write_bytes(b"not a protobuf")
    report = check_configs([config], deepstream="9.0", model=broken)
    assert len(report.errors) == 1 and "broken.onnx: not a readable ONNX model" in report.errors[0].message, \
        [str(f) for f in report.findings]
