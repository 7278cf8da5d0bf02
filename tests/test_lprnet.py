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
