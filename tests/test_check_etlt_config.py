"""`taostream check --deepstream 6.x` on NVIDIA's DeepStream 5 DetectNet_v2 config (tlt-encoded-model +
tlt-model-key, which DeepStream 6 still loads) in a tree with a real .etlt: the config's key decodes the
model as nvinfer would, and its classes and input size are checked against the model's."""

from __future__ import annotations

import pytest

from conftest import FIXTURES
from migrate_support import config_tree
from taostream.deepstream_configs.check.run import check_configs

CONFIG = "pgie_detectnet_v2_tlt_config.txt"  # 4 classes, uff-input-dims=3;544;960;0, tlt-model-key=nvidia_tlt
LPD_USA = FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt"  # key nvidia_tlt, 1 class, 3x480x640
FACEMASK = FIXTURES / "models" / "facemask_detectnet_v2_resnet18.etlt"  # key tlt_encode, 2 classes, 3x544x960


@pytest.fixture(autouse=True)
def _uff_translator():
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")


def _errors(config, deepstream="6.0"):
    report = check_configs([config], deepstream=deepstream)
    return {f.key: f for f in report.errors}


def test_labels_and_dims_of_another_model_are_errors(tmp_path):
    # NVIDIA's 4-class config and label file over the 1-class 480x640 LPDNet: nvinfer would read 4
    # coverage channels from a 1-channel output
    config = config_tree(tmp_path, CONFIG, LPD_USA, ["car", "bicycle", "person", "roadsign"])
    errors = _errors(config)
    assert set(errors) == {"labelfile-path", "num-detected-classes", "uff-input-dims"}, [str(e) for e in errors.values()]
    assert "outputs 1 class id(s)" in errors["num-detected-classes"].message
    assert "has 4 class(es) but detectnetv2_resnet18.etlt outputs 1" in errors["labelfile-path"].message
    assert errors["uff-input-dims"].message.startswith("3;544;960 but detectnetv2_resnet18.etlt's input is 3;480;640")
    assert "set uff-input-dims=3;480;640;0" in errors["uff-input-dims"].message
    assert str(errors["uff-input-dims"]).startswith(f"{config}:53: error: [property] uff-input-dims:")


def test_a_config_key_that_does_not_decode_the_model_is_an_error(tmp_path):
    config = config_tree(tmp_path, CONFIG, FACEMASK, ["mask", "no-mask"])  # the config says nvidia_tlt
    text = config.read_text().replace("num-detected-classes=4", "num-detected-classes=2")
    config.write_text(text)
    errors = _errors(config)
    assert set(errors) == {"tlt-model-key"}, [str(e) for e in errors.values()]
    message = errors["tlt-model-key"].message
    assert "does not decode ./models/detectnet_v2/detectnetv2_resnet18.etlt" in message and "wrong key" in message
    assert "nvidia_tlt" not in str(errors["tlt-model-key"])  # the key is never printed


def test_the_model_the_config_was_written_for_passes(tmp_path):
    config = config_tree(tmp_path, CONFIG, FACEMASK, ["mask", "no-mask"])
    config.write_text(config.read_text().replace("num-detected-classes=4", "num-detected-classes=2")
                      .replace("tlt-model-key=nvidia_tlt", "tlt-model-key=tlt_encode"))
    assert _errors(config) == {}
    # DeepStream 7+ loads no .etlt: the removed keys are the errors, not the model
    assert set(_errors(config, "9.2")) == {"tlt-encoded-model", "tlt-model-key", "uff-input-dims", "uff-input-blob-name"}


def test_a_parser_for_another_networks_outputs_is_an_error(tmp_path):
    # NVIDIA's SSD config (NvDsInferParseCustomSSDTLT reads one NMS output) over the real LPDNet DetectNet_v2
    # .etlt (same key, output_cov/output_bbox): the parser finds no NMS layer on any frame
    config = config_tree(tmp_path, "pgie_ssd_tlt_config.txt", LPD_USA, ["lpd"])
    config.write_text(config.read_text().replace("num-detected-classes=4", "num-detected-classes=1")
                      .replace("uff-input-dims=3;544;960;0", "uff-input-dims=3;480;640;0")
                      .replace("uff-input-blob-name=Input", "uff-input-blob-name=input_1")
                      .replace("output-blob-names=NMS", "output-blob-names=output_cov/Sigmoid;output_bbox/BiasAdd"))
    errors = _errors(config)
    # (custom-lib-path: NVIDIA's TLT parser library is not in the tree)
    assert set(errors) == {"custom-lib-path", "parse-bbox-func-name"}, [str(e) for e in errors.values()]
    message = errors["parse-bbox-func-name"].message
    assert message.startswith("NvDsInferParseCustomSSDTLT decodes ssd/dssd/retinanet outputs, but ssd_resnet18.etlt's "
                              "outputs (output_cov/Sigmoid;output_bbox/BiasAdd) are TAO's detectnet_v2 export")
    assert message.endswith("set parse-bbox-func-name=NvDsInferParseCustomDetectNetV2TAO")
    # the parser of its own network passes
    config.write_text(config.read_text().replace("NvDsInferParseCustomSSDTLT", "NvDsInferParseCustomDetectNetV2TAO"))
    assert "parse-bbox-func-name" not in _errors(config)
