"""LPRNet: TAO's CTC greedy decode (numpy reference) and NVIDIA's NvDsInferParseCustomNVPlate in the
C++ library, called through the exported symbol, on the same tensors."""

from __future__ import annotations

import numpy as np
import pytest

from parsers_support import native_parsers  # noqa: F401  (session fixture)
from taostream.parsers import reference as ref
from taostream.parsers.native import OutputLayer

US_CHARACTERS = tuple("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ")  # 35; id 35 is the blank
BLANK = len(US_CHARACTERS)
STEPS = 24  # 96 / 4
PLATE = "NVPLATE"


def _dict_file(tmp_path, characters=US_CHARACTERS, text=None):
    path = tmp_path / "dict.txt"
    path.write_text(text if text is not None else "".join(f"{c}\n" for c in characters))
    return path


def _layers(ids, conf):
    return [OutputLayer("tf_op_layer_ArgMax", np.asarray(ids, np.int32)),
            OutputLayer("tf_op_layer_Max", np.asarray(conf, np.float32))]


def _encode(plate: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """CTC-style steps for ``plate``: each character held 1-3 steps, blanks between and around,
    a blank always between two equal characters."""
    ids = [BLANK] * int(rng.integers(0, 3))
    for k, ch in enumerate(plate):
        if k and plate[k - 1] == ch or rng.random() < 0.5:
            ids.append(BLANK)
        ids += [US_CHARACTERS.index(ch)] * int(rng.integers(1, 3))
    ids += [BLANK] * (STEPS - len(ids))
    assert len(ids) == STEPS
    return np.asarray(ids, np.int32), rng.uniform(0.3, 1.0, STEPS).astype(np.float32)


@pytest.fixture
def dictionary(tmp_path, monkeypatch):
    path = _dict_file(tmp_path)
    monkeypatch.setenv("TAOSTREAM_LPR_DICT", str(path))
    return path


def test_hand_written_sequence_decodes_like_tao():
    # runs collapse to their first step, blanks separate repeats: "3 3 _ 3 A A _ _ Z" -> "33AZ"
    ids = [3, 3, BLANK, 3, 10, 10, BLANK, BLANK, 34]
    conf = [0.9, 0.1, 0.5, 0.8, 0.7, 0.2, 0.6, 0.6, 0.5]
    reading = ref.decode_lprnet(np.array(ids), np.array(conf, np.float32), US_CHARACTERS)
    assert reading.text == "33AZ"
    assert reading.character_ids == (3, 3, 10, 34)
    np.testing.assert_allclose(reading.confidences, [0.9, 0.8, 0.7, 0.5], rtol=1e-6)
    assert reading.confidence == pytest.approx(0.9 * 0.8 * 0.7 * 0.5, rel=1e-6)
    assert ref.lprnet_attribute(reading) == ref.Attribute(0, 1, pytest.approx(0.252, rel=1e-6), "33AZ")


def test_short_readings_give_no_attribute():
    reading = ref.decode_lprnet(np.array([BLANK, 7, 7, BLANK, 1]), np.ones(5, np.float32), US_CHARACTERS)
    assert reading.text == "71" and ref.lprnet_attribute(reading) is None


@pytest.mark.parametrize("seed", range(6))
def test_cpp_parser_equals_reference(native_parsers, dictionary, seed):
    rng = np.random.default_rng(seed)
    plate = "".join(rng.choice(US_CHARACTERS, int(rng.integers(3, 9))))
    ids, conf = _encode(plate, rng)
    reading = ref.decode_lprnet(ids, conf, US_CHARACTERS)
    assert reading.text == plate
    attributes, description = native_parsers.classify_text("NvDsInferParseCustomNVPlate", _layers(ids, conf),
                                                           net=(96, 48, 3))
    assert description == plate
    [attribute] = attributes
    expected = ref.lprnet_attribute(reading)
    assert (attribute.index, attribute.value, attribute.label) == (0, 1, plate) == (expected.index, expected.value,
                                                                                    expected.label)
    assert attribute.confidence == pytest.approx(expected.confidence, rel=1e-6)


def test_cpp_parser_short_plate_has_description_but_no_attribute(native_parsers, dictionary):
    ids = np.full(STEPS, BLANK, np.int32)
    ids[4:6] = US_CHARACTERS.index("Q")
    attributes, description = native_parsers.classify_text("NvDsInferParseCustomNVPlate",
                                                           _layers(ids, np.ones(STEPS)), net=(96, 48, 3))
    assert (attributes, description) == ([], "Q")


def test_cpp_parser_finds_outputs_by_type_when_names_differ(native_parsers, dictionary):
    ids, conf = _encode(PLATE, np.random.default_rng(9))
    layers = [OutputLayer("conf_out", conf), OutputLayer("ids_out", ids)]
    attributes, description = native_parsers.classify_text("NvDsInferParseCustomNVPlate", layers, net=(96, 48, 3))
    assert description == PLATE and attributes[0].label == PLATE


def test_cpp_parser_reads_a_semicolon_dictionary(native_parsers, tmp_path, monkeypatch):
    path = _dict_file(tmp_path, text=";".join(US_CHARACTERS) + "\n")
    monkeypatch.setenv("TAOSTREAM_LPR_DICT", str(path))
    ids, conf = _encode(PLATE, np.random.default_rng(3))
    _, description = native_parsers.classify_text("NvDsInferParseCustomNVPlate", _layers(ids, conf))
    assert description == PLATE


def test_cpp_parser_refuses_ids_past_the_dictionary(native_parsers, dictionary, capfd):
    ids = np.full(STEPS, BLANK, np.int32)
    ids[3] = BLANK + 4  # the model was trained with more characters than this dictionary holds
    assert native_parsers.classify_text("NvDsInferParseCustomNVPlate", _layers(ids, np.ones(STEPS))) is None
    assert "outside 0..35" in capfd.readouterr().err
    with pytest.raises(ref.MalformedOutputError, match="outside 0..35"):
        ref.decode_lprnet(ids, np.ones(STEPS), US_CHARACTERS)


def test_cpp_parser_without_dictionary_fails_with_the_fix(native_parsers, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("TAOSTREAM_LPR_DICT", str(tmp_path / "missing_dict.txt"))
    ids, conf = _encode(PLATE, np.random.default_rng(1))
    assert native_parsers.classify_text("NvDsInferParseCustomNVPlate", _layers(ids, conf)) is None
    assert "TAOSTREAM_LPR_DICT" in capfd.readouterr().err


def test_cpp_parser_refuses_mismatched_lengths(native_parsers, dictionary):
    ids, conf = _encode(PLATE, np.random.default_rng(2))
    assert native_parsers.classify_text("NvDsInferParseCustomNVPlate", _layers(ids, conf[:-1])) is None


# --- sample -> bundle -> check -> infer ------------------------------------------------------------

PLANTED_PLATE = "NV3388TX"  # the per-step bias the sample's head carries (samples_specs.LPR_PLATE)


@pytest.fixture(scope="module")
def lpr_bundle(tmp_path_factory):
    from taostream.cli import main

    root = tmp_path_factory.mktemp("lpr")
    assert main(["sample", "--network", "lprnet", "-o", str(root / "sample")]) == 0
    assert main(["bundle", str(root / "sample" / "model.etlt"), "--network", "lprnet", "--spec",
                 str(root / "sample" / "spec.txt"), "--key", "nvidia_tlt", "-o", str(root / "bundle")]) == 0
    return root


def test_sample_labels_come_from_the_spec_character_list(lpr_bundle, fixtures_dir):
    from taostream.converter.tao_spec import load_spec
    from taostream.deepstream_configs.labels import labels_for_network, read_labels_file
    from taostream.deepstream_configs.specs.access import spec_value

    sample = lpr_bundle / "sample"
    spec = (sample / "spec.txt").read_text()
    # the structure of TAO's default LPRNet spec, with the character list beside the sample
    real = load_spec(fixtures_dir / "specs" / "tao_lprnet_default_spec.txt").to_dict()
    ours = load_spec(sample / "spec.txt").to_dict()
    for field in ("lpr_config.hidden_units", "lpr_config.max_label_length", "lpr_config.arch", "lpr_config.nlayers",
                  "augmentation_config.output_width", "augmentation_config.output_height"):
        assert spec_value(ours, field) == spec_value(real, field), field
    assert (spec_value(ours, "augmentation_config.output_width"), spec_value(ours, "augmentation_config.output_height")) == (96, 48)
    assert f'characters_list_file: "{sample / "us_lp_characters.txt"}"' in spec
    assert read_labels_file(sample / "labels.txt") == list(US_CHARACTERS)
    assert labels_for_network("lprnet", load_spec(sample / "spec.txt")).names == list(US_CHARACTERS)
    # the default spec's own list (/workspace/...) is not on this machine: one line naming the field
    with pytest.raises(Exception, match="characters_list_file .*/workspace/lpr_default_dataset/us_lp_characters"):
        labels_for_network("lprnet", load_spec(fixtures_dir / "specs" / "tao_lprnet_default_spec.txt"))


def test_bundle_passes_check_and_names_nvidias_parser(lpr_bundle):
    from taostream.deepstream_configs.check.run import check_configs
    from taostream.deepstream_configs.ini import read_ini

    bundle = lpr_bundle / "bundle"
    configs = sorted((bundle / "deepstream").glob("*.txt"))
    report = check_configs(configs, deepstream="9.0")
    assert report.errors == [] and report.warnings == [], [str(f) for f in report.findings]
    prop = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    values = {e.key: e.value for e in prop.entries}
    assert values["parse-classifier-func-name"] == "NvDsInferParseCustomNVPlate"
    assert (values["network-type"], values["model-color-format"], values["infer-dims"]) == ("1", "0", "3;48;96")
    assert float(values["net-scale-factor"]) == pytest.approx(1 / 255)
    assert values["output-blob-names"] == "tf_op_layer_ArgMax;tf_op_layer_Max"
    assert (bundle / "dict.txt").read_text().split() == list(US_CHARACTERS)
    assert 'TAOSTREAM_LPR_DICT="../dict.txt"' in (bundle / "deepstream" / "taostream_parser.env").read_text()
    server = (bundle / "deepstream" / "config_infer_primary_nvinferserver.txt").read_text()
    assert 'custom_parse_classifier_func: "NvDsInferParseCustomNVPlate"' in server


def _plate_image(path):
    import cv2

    image = np.full((64, 220, 3), 235, np.uint8)
    cv2.putText(image, PLANTED_PLATE, (8, 44), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (20, 20, 20), 2)
    assert cv2.imwrite(str(path), image)
    return path


def test_infer_on_the_bundle_gives_the_plate(lpr_bundle):
    import json

    from taostream.cli import main

    image = _plate_image(lpr_bundle / "plate.png")
    out = lpr_bundle / "out_ort"
    assert main(["infer", str(lpr_bundle / "bundle"), str(image), "-o", str(out), "--no-progress"]) == 0
    [record] = json.loads((out / "results.json").read_text())["images"]
    assert record["classification"]["label"] == PLANTED_PLATE
    assert 0.5 < record["classification"]["confidence"] <= 1.0


def test_bundle_parser_equals_reference_on_the_models_outputs(lpr_bundle, native_parsers, monkeypatch):
    """The bundle's model on a preprocessed plate image; its raw outputs through the C++ parser the
    bundle ships (dictionary = the bundle's dict.txt) and through the numpy reference."""
    import onnxruntime

    from taostream.converter.model.preprocess import load_bgr, preprocess_image
    from taostream.converter.registry import get_network
    from taostream.parsers import build
    from taostream.parsers.native import NativeParsers

    bundle = lpr_bundle / "bundle"
    monkeypatch.setenv("TAOSTREAM_LPR_DICT", str(bundle / "dict.txt"))
    session = onnxruntime.InferenceSession(str(bundle / "model.onnx"), providers=["CPUExecutionProvider"])
    tensor = preprocess_image(load_bgr(_plate_image(lpr_bundle / "plate2.png")), get_network("lprnet"), (3, 48, 96))
    ids, conf = session.run(["tf_op_layer_ArgMax", "tf_op_layer_Max"], {"image_input": tensor[None]})
    reading = ref.decode_lprnet(ids[0], conf[0], US_CHARACTERS)
    assert reading.text == PLANTED_PLATE
    shipped = NativeParsers(bundle / "lib" / "libnvds_infercustomparser_taostream.so",
                            build.harness_library(build.DEFAULT_BUILD_DIR))
    attributes, description = shipped.classify_text("NvDsInferParseCustomNVPlate", _layers(ids[0], conf[0]),
                                                    net=(96, 48, 3))
    expected = ref.lprnet_attribute(reading)
    assert description == PLANTED_PLATE and attributes == [ref.Attribute(0, 1, pytest.approx(expected.confidence,
                                                                                              rel=1e-6), PLANTED_PLATE)]


def test_cpu_triton_model_returns_the_plate(lpr_bundle):
    """A real Triton server on the bundle's repository: the python-backend model returns the plate."""
    import json

    pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
    from taostream.cli import main

    image = _plate_image(lpr_bundle / "plate3.png")
    out = lpr_bundle / "out_triton"
    assert main(["infer", str(lpr_bundle / "bundle"), str(image), "-o", str(out), "--backend", "triton",
                 "--no-progress", "--no-annotate"]) == 0
    [record] = json.loads((out / "results.json").read_text())["images"]
    assert record["classification"]["label"] == PLANTED_PLATE
    # the same plate and confidence as `infer --backend ort` on the same image (one decode, two places)
    assert main(["infer", str(lpr_bundle / "bundle"), str(image), "-o", str(lpr_bundle / "out_ort3"), "--no-progress",
                 "--no-annotate"]) == 0
    [local] = json.loads((lpr_bundle / "out_ort3" / "results.json").read_text())["images"]
    assert local["classification"]["label"] == record["classification"]["label"]
    assert local["classification"]["confidence"] == pytest.approx(record["classification"]["confidence"], rel=1e-6)


def test_bundle_refuses_a_character_list_of_another_length(lpr_bundle, tmp_path, capsys):
    """A character list from another model (here one character more) would shift every character:
    the graph's ArgMax reduces 36 classes = 35 characters + the blank."""
    from taostream.cli import main

    sample = lpr_bundle / "sample"
    characters = tmp_path / "eu_characters.txt"
    characters.write_text("".join(f"{c}\n" for c in (*US_CHARACTERS, "O")))
    spec = tmp_path / "spec.txt"
    spec.write_text((sample / "spec.txt").read_text().replace(str(sample / "us_lp_characters.txt"), str(characters)))
    out = tmp_path / "bundle"
    assert main(["bundle", str(sample / "model.etlt"), "--network", "lprnet", "--spec", str(spec), "--key",
                 "nvidia_tlt", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "36 label(s)" in err and "35 class id(s)" in err and "36 classes (35 characters + the CTC blank)" in err
    assert not out.exists()


def test_check_finds_a_missing_or_wrong_lpr_dictionary(lpr_bundle, tmp_path):
    """The parser fails every frame without its dictionary and misspells every plate with another one."""
    import shutil

    from taostream.deepstream_configs.check.run import check_configs

    bundle = tmp_path / "bundle"
    shutil.copytree(lpr_bundle / "bundle", bundle)
    config = bundle / "deepstream" / "config_infer_primary.txt"
    (bundle / "dict.txt").write_text("".join(f"{c}\n" for c in (*US_CHARACTERS, "O")))
    [error] = check_configs([config], deepstream="9.0").errors
    assert error.key == "parse-classifier-func-name"
    assert "lists 36 character(s)" in error.message and "reads 35" in error.message
    (bundle / "dict.txt").unlink()
    report = check_configs([config], deepstream="9.0")
    assert report.errors == []
    [warning] = report.warnings
    assert "dict.txt" in warning.message and "TAOSTREAM_LPR_DICT" in warning.message and "does not exist" in warning.message


# NVIDIA's deepstream_lpr_app lpr_config_sgie_us.txt, as shipped (its output-blob-names are a
# copy-paste from the LPD config; labels_us.txt is an empty file: the characters are dict.txt in the
# app's working directory, the config's folder).
NVIDIA_LPR_CONFIG = """\
[property]
gpu-id=0
labelfile-path=../models/LP/LPR/labels_us.txt
tlt-encoded-model=../models/LP/LPR/us_lprnet_baseline18_deployable.etlt
tlt-model-key=nvidia_tlt
batch-size=16
network-mode=2
num-detected-classes=3
gie-unique-id=3
output-blob-names=output_bbox/BiasAdd;output_cov/Sigmoid
network-type=1
parse-classifier-func-name=NvDsInferParseCustomNVPlate
custom-lib-path=../nvinfer_custom_lpr_parser/libnvdsinfer_custom_impl_lpr.so
process-mode=2
operate-on-gie-id=2
net-scale-factor=0.00392156862745098
model-color-format=0

[class-attrs-all]
threshold=0.5
"""


def test_nvidias_lpr_config_migrates_with_its_dict(lpr_bundle, tmp_path, capsys):
    import json
    import shutil

    from taostream.cli import main
    from taostream.deepstream_configs.check.run import check_configs
    from taostream.deepstream_configs.labels import read_labels_file

    models = tmp_path / "models" / "LP" / "LPR"
    models.mkdir(parents=True)
    shutil.copy(lpr_bundle / "sample" / "model.etlt", models / "us_lprnet_baseline18_deployable.etlt")
    (models / "labels_us.txt").write_text("")
    app = tmp_path / "deepstream-lpr-app"
    app.mkdir()
    (app / "lpr_config_sgie_us.txt").write_text(NVIDIA_LPR_CONFIG)
    out = tmp_path / "migrated"
    assert main(["migrate", str(app / "lpr_config_sgie_us.txt"), "-o", str(out)]) == 2  # no dict.txt yet
    err = capsys.readouterr().err
    assert "labelfile-path" in err and "dict.txt" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    (app / "dict.txt").write_text("".join(f"{c}\n" for c in US_CHARACTERS))
    assert main(["migrate", str(app / "lpr_config_sgie_us.txt"), "-o", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["network"] == "lprnet"
    assert read_labels_file(out / "labels.txt") == list(US_CHARACTERS)
    config = out / "deepstream" / "config_infer_primary.txt"
    text = config.read_text()
    assert "parse-classifier-func-name=NvDsInferParseCustomNVPlate" in text
    assert "output-blob-names=tf_op_layer_ArgMax;tf_op_layer_Max" in text
    report = check_configs([config], deepstream="9.0")
    assert report.errors == [] and report.warnings == [], [str(f) for f in report.findings]


def test_migrate_takes_the_characters_from_dict_txt_the_parser_reads(lpr_bundle, tmp_path):
    """NvDsInferParseCustomNVPlate decodes with dict.txt in the app's working directory, never labelfile-path:
    a config whose labelfile-path holds another character order (an old copy) was migrated with that one, so
    every plate came out in other characters than the DeepStream 5 deployment read."""
    import shutil

    from taostream.cli import main
    from taostream.deepstream_configs.labels import read_labels_file

    models = tmp_path / "models" / "LP" / "LPR"
    models.mkdir(parents=True)
    shutil.copy(lpr_bundle / "sample" / "model.etlt", models / "us_lprnet_baseline18_deployable.etlt")
    (models / "labels_us.txt").write_text("".join(f"{c}\n" for c in reversed(US_CHARACTERS)))
    app = tmp_path / "deepstream-lpr-app"
    app.mkdir()
    (app / "lpr_config_sgie_us.txt").write_text(NVIDIA_LPR_CONFIG)
    (app / "dict.txt").write_text("".join(f"{c}\n" for c in US_CHARACTERS))
    out = tmp_path / "migrated"
    assert main(["migrate", str(app / "lpr_config_sgie_us.txt"), "-o", str(out)]) == 0
    assert read_labels_file(out / "dict.txt") == list(US_CHARACTERS)
    assert read_labels_file(out / "labels.txt") == list(US_CHARACTERS)
