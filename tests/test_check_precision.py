"""`taostream check` precision: label files counted as nvinfer counts them, the nvtracker keys of the
DeepStream versions that had them, thresholds and scale factors outside their range, and a bundle's
two DeepStream paths (nvinfer, nvinferserver) preprocessing alike."""

from __future__ import annotations

import shutil

import pytest

from cli_support import run_cli
from conftest import FIXTURES
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.labels import read_labels_file
from taostream.converter.tao_spec import parse_spec

CONFIG = """[property]
gie-unique-id=1
net-scale-factor={scale}
onnx-file=/opt/nvidia/deepstream/deepstream/samples/models/model.onnx
labelfile-path=labels.txt
num-detected-classes=2
network-type=0
cluster-mode=2
parse-bbox-func-name=NvDsInferParseCustomNMSTLT
custom-lib-path=/opt/nvidia/deepstream/deepstream/lib/libnvds_infercustomparser.so

[class-attrs-all]
pre-cluster-threshold={threshold}
nms-iou-threshold=0.5
"""


def _config(folder, labels: bytes, scale="0.0039215697906911373", threshold="0.4"):
    (folder / "labels.txt").write_bytes(labels)
    path = folder / "config_infer_primary.txt"
    path.write_text(CONFIG.format(scale=scale, threshold=threshold))
    return path


# nvinfer's InferPostprocessor::parseLabelsFile (DeepStream's open nvdsinfer source): getline() on
# '\n', an EMPTY line is skipped, any other line (spaces, a lone '\r') is one class.
@pytest.mark.parametrize("text,classes", [
    (b"mask\nno-mask\n", 2),
    (b"mask\nno-mask", 2),             # no final newline
    (b"mask\nno-mask\n\n", 2),         # trailing blank line: skipped
    (b"mask\n\nno-mask\n", 2),         # empty line inside: skipped too
    (b"mask\nno-mask\n \n", 3),        # a line of spaces is a class
    (b"mask\r\nno-mask\r\n", 2),       # Windows line ends
    (b"mask\r\nno-mask\r\n\r\n", 3),   # ... whose blank line is '\r', a class
])
def test_label_file_counted_as_nvinfer_counts(tmp_path, text, classes):
    path = tmp_path / "labels.txt"
    path.write_bytes(text)
    assert len(read_labels_file(path)) == classes


def test_trailing_empty_line_is_fine_but_a_blank_one_is_a_class(tmp_path):
    assert check_configs([_config(tmp_path, b"mask\nno-mask\n\n")]).findings == []
    report = check_configs([_config(tmp_path, b"mask\nno-mask\n  \n")])
    assert [f.key for f in report.errors] == ["num-detected-classes"]
    assert "has 3 lines" in report.errors[0].message
    assert [f.message for f in report.warnings] == [
        f"{tmp_path / 'labels.txt'} line 3 holds only spaces: DeepStream counts it as a class (it skips only empty "
        "lines); delete the line"]
    report = check_configs([_config(tmp_path, b"mask\r\nno-mask\r\n\r\n")])
    assert [f.key for f in report.errors] == ["num-detected-classes"]
    assert any("line 3 holds a lone '\\r'" in f.message for f in report.warnings)
    assert any("Windows line ends" in f.message for f in report.warnings)


@pytest.mark.parametrize("key,value,problem", [
    ("threshold", "1.5", "pre-cluster-threshold: must be at most 1 (got '1.5')"),
    ("threshold", "-0.1", "pre-cluster-threshold: must be at least 0 (got '-0.1')"),
    ("scale", "-1", "net-scale-factor: must be greater than 0 (got '-1')"),
    ("scale", "0", "net-scale-factor: must be greater than 0 (got '0')"),
])
def test_out_of_range_values_are_errors(tmp_path, key, value, problem):
    path = _config(tmp_path, b"mask\nno-mask\n", **{key: value})
    errors = [str(f) for f in check_configs([path]).errors]
    assert len(errors) == 1 and problem in errors[0], errors


APP = """[application]
enable-perf-measurement=1

[source0]
enable=1
type=4
uri=rtsp://camera.local/stream

[streammux]
batch-size=1
width=1280
height=720

[primary-gie]
enable=1
batch-size=1
config-file=config_infer_primary.txt

[tracker]
enable=1
tracker-width=640
tracker-height=384
ll-lib-file=/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so
enable-batch-process=1
enable-past-frame=1

[sink0]
enable=1
type=1
"""


@pytest.mark.parametrize("version,errors", [("6.0", 0), ("6.2", 0), ("6.3", 2), ("7.1", 2), ("9.0", 2)])
def test_tracker_batch_and_past_frame_keys_until_deepstream_6_2(tmp_path, version, errors):
    """nvtracker had both properties from DeepStream 5.0 (5.0.1 and 6.0 manuals); 6.3 removed them."""
    _config(tmp_path, b"mask\nno-mask\n")
    app = tmp_path / "deepstream_app.txt"
    app.write_text(APP)
    report = check_configs([app], deepstream=version)
    assert len(report.errors) == errors, [str(f) for f in report.errors]
    if errors:
        assert {f.key for f in report.errors} == {"enable-batch-process", "enable-past-frame"}
        assert all("removed in 6.3" in f.message and "delete it" in f.message for f in report.errors)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("lpd")
    spec = root / "spec.txt"
    spec.write_text('cost_function_config {\n  target_classes {\n    name: "lpd"\n  }\n}\n')
    result = run_cli("bundle", FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt", "--network", "detectnet_v2",
                     "--key", "nvidia_tlt", "--spec", spec, "-o", root / "bundle")
    assert result.returncode == 0, result.stderr
    return root / "bundle"


def test_bundle_paths_scale_alike(bundle):
    prop = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    server = parse_spec((bundle / "deepstream" / "config_infer_primary_nvinferserver.txt").read_text())
    # nvinfer's scaling-filter defaults to 0 (nearest) when the key is absent.
    assert int(prop.get("scaling-filter") or 0) == int(server.get("infer_config.preprocess.frame_scaling_filter"))
    assert run_cli("check", bundle).returncode == 0


def test_check_bundle_flags_paths_that_preprocess_differently(bundle, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    server = copy / "deepstream" / "config_infer_primary_nvinferserver.txt"
    text = server.read_text()
    assert "frame_scaling_filter: 0\n" in text and "num_detected_classes: 1\n" in text
    server.write_text(text.replace("frame_scaling_filter: 0\n", "frame_scaling_filter: 1\n")
                      .replace("num_detected_classes: 1\n", "num_detected_classes: 2\n"))
    result = run_cli("check", copy)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 2, result.stdout
    assert any("frame_scaling_filter: 1 but config_infer_primary.txt has scaling-filter=0" in e for e in errors)
    assert any("num_detected_classes: is 2 but model.onnx outputs 1 class id(s)" in e for e in errors)
