"""`taostream check` on a detector config (network-type=0, unset, or DeepStream 5's is-classifier=0)
whose model is a classifier (its only output is one score per class, like a TAO classification
export): the error says it is a classifier and how to configure one, not that a bbox parser is missing."""

from __future__ import annotations

import onnx
import pytest

from deepstream_fixtures import network_onnx
from taostream.converter.registry import get_network
from taostream.converter.samples.write import make_sample_model
from taostream.deepstream_configs.check.run import check_configs

# The nvinfer config `taostream bundle --network classification` writes for `taostream sample`'s model.
CLASSIFIER = """[property]
gpu-id=0
net-scale-factor=1
offsets=103.939;116.779;123.68
model-color-format=1
onnx-file=model.onnx
labelfile-path=labels.txt
infer-dims=3;224;224
batch-size=1
network-mode=2
network-type=1
process-mode=1
gie-unique-id=1
output-blob-names=predictions/Softmax
classifier-threshold=0.2
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("classifier")
    onnx.save(make_sample_model("classification"), path / "model.onnx")  # output predictions/Softmax [N, 4, 1, 1]
    (path / "labels.txt").write_text("cat;dog;car;person\n")
    return path


def _check(folder, text, deepstream="9.0"):
    (folder / "pgie.txt").write_text(text)
    return check_configs([folder / "pgie.txt"], deepstream=deepstream)


def test_the_classifier_config_passes(folder):
    assert _check(folder, CLASSIFIER).errors == []


@pytest.mark.parametrize("edit, key, deepstream", [
    (("network-type=1", "network-type=0"), "network-type", "9.0"),
    (("network-type=1\n", ""), "network-type", "9.0"),  # unset: nvinfer's default is a detector
    (("network-type=1", "is-classifier=0"), "is-classifier", "6.0"),  # NVIDIA's DeepStream 5 configs' spelling
])
def test_a_classifier_model_in_a_detector_config_is_named_a_classifier(folder, edit, key, deepstream):
    text = CLASSIFIER.replace(*edit).replace("classifier-threshold=0.2\n", "")
    (finding,) = _check(folder, text, deepstream).errors
    assert finding.key == key
    assert "predictions/Softmax [N, 4, 1, 1]" in finding.message and "classifier" in finding.message
    assert f"set {key}=1" in finding.message and "classifier-threshold" in finding.message
    assert "parse-bbox" not in finding.message and "num-detected-classes" not in finding.message


def test_a_detector_parser_on_a_classifier_says_to_delete_it(folder):
    # the registry's classification parser is a classifier parser (and one check tells to delete):
    # 'set parse-bbox-func-name=NvDsInferClassifierParseCustomTAO' sent the user to a wrong key
    text = CLASSIFIER + "parse-bbox-func-name=NvDsInferParseCustomBatchedNMSTLT\ncustom-lib-path=lib.so\n"
    (finding,) = [f for f in _check(folder, text).errors if f.key == "parse-bbox-func-name"]
    assert finding.message.endswith("TAO's classification export: delete parse-bbox-func-name and set network-type=1: "
                                    "nvinfer's own softmax parser names the classes from labelfile-path")


def test_a_detector_parser_on_a_mask_rcnn_names_the_mask_parsers_key(tmp_path):
    onnx.save(network_onnx(get_network("mask_rcnn"), 4), tmp_path / "model.onnx")
    text = ("[property]\nonnx-file=model.onnx\nnetwork-type=0\ngie-unique-id=1\ninfer-dims=3;832;1344\n"
            "parse-bbox-func-name=NvDsInferParseCustomNMSTLT\ncustom-lib-path=lib.so\n")
    (finding,) = [f for f in _check(tmp_path, text).errors if f.key == "parse-bbox-func-name"]
    assert finding.message.endswith("TAO's mask_rcnn export: delete parse-bbox-func-name, set network-type=3 and "
                                    "parse-bbox-instance-mask-func-name=NvDsInferParseCustomMrcnnTLTV2")
