"""The .etlt codec against real NVIDIA files and generated models."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from taostream.converter.model import etlt
from taostream.converter.errors import EtltError
from taostream.converter.uff.reader import load_uff

from cli_support import assert_clean_error, run_cli
from conftest import REAL_ETLT


def tiny_onnx() -> bytes:
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", 3, 4, 4])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, 4, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["input_1"], ["out"])], "g", [x], [y])
    model = helper.make_model(graph, producer_name="taostream-test", opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_key_derivation_matches_the_published_value():
    # FACTS.md section 1 gives PBKDF2 of `nvidia_tlt` with the container's parameters.
    assert etlt.derive_key("nvidia_tlt").hex() == "ea82d654e0bf5d97af42c4dcd6bff6cc69143a97e343b6ae8d12c6bb18be5410"


@pytest.mark.parametrize("name", sorted(REAL_ETLT))
def test_real_nvidia_models_decode_to_complete_uff(models_dir, name):
    key, input_name, chw = REAL_ETLT[name]
    payload = etlt.read_etlt(models_dir / name, key)
    assert payload.format == "uff"
    assert payload.input_name == input_name
    uff = load_uff(payload.data)
    (inp,) = uff.inputs()
    assert inp.id == input_name
    assert uff.input_shape(inp)[-3:] == list(chw)
    assert uff.outputs() == ["output_cov/Sigmoid", "output_bbox/BiasAdd"]
    # Every Const refers to data the MetaGraph really holds, with the declared size.
    for node in uff.nodes:
        if node.operation == "Const":
            arr = uff.const_array(node)
            assert arr.size == int(np.prod(node.fields["shape"]))


def test_ppo_uff_reads(models_dir):
    uff = load_uff((models_dir / "ppo_hil_fc.uff").read_bytes())
    (inp,) = uff.inputs()
    assert uff.input_shape(inp) == [-1, 67]
    assert [n.operation for n in uff.nodes].count("FullyConnected") == 3


@pytest.mark.parametrize("name", sorted(REAL_ETLT))
def test_wrong_key_is_detected(models_dir, name):
    with pytest.raises(EtltError, match="wrong key"):
        etlt.read_etlt(models_dir / name, "not-the-key")


def test_onnx_round_trip_uses_empty_header():
    data = tiny_onnx()
    blob = etlt.encode_etlt_bytes(data, "s3cret")
    assert blob[:4] == b"\0\0\0\0"
    payload = etlt.decode_etlt_bytes(blob, "s3cret")
    assert payload == etlt.EtltPayload("onnx", data, None)
    with pytest.raises(EtltError, match="wrong key"):
        etlt.decode_etlt_bytes(blob, "other")


def test_uff_round_trip_keeps_input_name(models_dir):
    data = (models_dir / "ppo_hil_fc.uff").read_bytes()
    blob = etlt.encode_etlt_bytes(data, "k", input_name="input_state_placeholder")
    payload = etlt.decode_etlt_bytes(blob, "k")
    assert (payload.format, payload.input_name, payload.data) == ("uff", "input_state_placeholder", data)


def test_reencoding_a_real_model_reproduces_it(models_dir):
    original = (models_dir / "lpd_usa_detectnet_v2_pruned.etlt").read_bytes()
    payload = etlt.decode_etlt_bytes(original, "nvidia_tlt")
    nonce = original[4 + 7 : 4 + 7 + 16]
    assert etlt.encode_etlt_bytes(payload.data, "nvidia_tlt", "input_1", nonce=nonce) == original


@pytest.mark.parametrize(
    "blob, fragment",
    [
        (b"", "empty or truncated"),
        (b"0123456789", "empty or truncated"),
        (b"\xff\xff\xff\x7f" + b"x" * 64, "input-name length"),
        (b"\x05\x00\x00\x00" + b"a\x01b\x02c" + b"n" * 16 + b"payload", "not text"),
    ],
)
def test_malformed_containers_are_rejected(blob, fragment):
    with pytest.raises(EtltError, match=fragment):
        etlt.decode_etlt_bytes(blob, "k")


def test_encode_refuses_non_models():
    with pytest.raises(EtltError, match="neither"):
        etlt.encode_etlt_bytes(os.urandom(100), "k")


# --- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "empty or truncated"),
        (b"0123456789", "empty or truncated"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not an .etlt model"),
    ],
)
def test_cli_decode_bad_files_fail_cleanly(tmp_path, content, fragment):
    bad = tmp_path / "bad.etlt"
    bad.write_bytes(content)
    result = run_cli("decode", bad, "--key", "nvidia_tlt", "-o", tmp_path / "out.onnx")
    assert_clean_error(result, str(bad), fragment)
    assert not (tmp_path / "out.onnx").exists()


def test_cli_decode_wrong_key_fails_cleanly_and_never_echoes_the_key(models_dir, tmp_path):
    secret = "wr0ng-s3cret-key"
    result = run_cli("decode", models_dir / "facemask_detectnet_v2_resnet18.etlt", "--key", secret, "-o", tmp_path / "m.uff")
    err = assert_clean_error(result, "wrong key")
    assert secret not in err + result.stdout
    assert list(tmp_path.iterdir()) == []


def test_cli_decode_writes_payload_with_its_suffix(models_dir, tmp_path):
    result = run_cli("decode", models_dir / "lpd_ccpd_detectnet_v2_pruned.etlt", "--key", "nvidia_tlt", "-o", tmp_path / "lpd")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "lpd.uff"
    assert load_uff(out.read_bytes()).outputs() == ["output_cov/Sigmoid", "output_bbox/BiasAdd"]
    assert "nvidia_tlt" not in result.stdout + result.stderr


def test_cli_decode_refuses_a_suffix_that_contradicts_the_payload(models_dir, tmp_path):
    result = run_cli("decode", models_dir / "lpd_ccpd_detectnet_v2_pruned.etlt", "--key", "nvidia_tlt", "-o", tmp_path / "x.onnx")
    assert_clean_error(result, "payload is UFF", "--to-onnx")


def test_cli_key_from_file_and_environment(models_dir, tmp_path):
    key_file = tmp_path / "key.txt"
    key_file.write_text("tlt_encode\n")
    model = models_dir / "facemask_detectnet_v2_resnet18.etlt"
    from_file = run_cli("decode", model, "--key-file", key_file, "-o", tmp_path / "a.uff")
    from_env = run_cli("decode", model, "-o", tmp_path / "b.uff", env_extra={"TAOSTREAM_KEY": "tlt_encode"})
    assert from_file.returncode == 0 and from_env.returncode == 0, (from_file.stderr, from_env.stderr)
    assert (tmp_path / "a.uff").read_bytes() == (tmp_path / "b.uff").read_bytes()
    missing = run_cli("decode", model, "-o", tmp_path / "c.uff")
    assert_clean_error(missing, "--key", "TAOSTREAM_KEY")


def test_cli_encode_then_decode_onnx(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(tiny_onnx())
    enc = run_cli("encode", src, "--key", "abc", "-o", tmp_path / "m.etlt")
    assert enc.returncode == 0, enc.stderr
    blob = (tmp_path / "m.etlt").read_bytes()
    assert blob[:4] == b"\0\0\0\0" and b"abc" not in blob
    dec = run_cli("decode", tmp_path / "m.etlt", "--key", "abc", "-o", tmp_path / "back.onnx")
    assert dec.returncode == 0, dec.stderr
    assert (tmp_path / "back.onnx").read_bytes() == src.read_bytes()


def test_cli_encode_uff_takes_input_name_from_graph(models_dir, tmp_path):
    enc = run_cli("encode", models_dir / "ppo_hil_fc.uff", "--key", "abc", "-o", tmp_path / "p.etlt")
    assert enc.returncode == 0, enc.stderr
    payload = etlt.read_etlt(tmp_path / "p.etlt", "abc")
    assert payload.input_name == "input_state_placeholder"


def test_cli_decode_to_onnx_translates_uff_and_runs(models_dir, tmp_path):
    import onnxruntime as ort

    out = tmp_path / "lpd.onnx"
    result = run_cli("decode", models_dir / "lpd_usa_detectnet_v2_pruned.etlt", "--key", "nvidia_tlt", "--to-onnx", "-o", out)
    assert result.returncode == 0, result.stderr
    model = onnx.load(out)
    onnx.checker.check_model(model)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).random((1, 3, 480, 640), dtype=np.float32)
    cov, bbox = session.run(["output_cov/Sigmoid", "output_bbox/BiasAdd"], {"input_1": image})
    assert cov.shape == (1, 1, 30, 40) and bbox.shape == (1, 4, 30, 40)
    assert 0.0 <= cov.min() and cov.max() <= 1.0


@pytest.mark.parametrize("typed", ["tlt_encode", "ZGVtb19rZXk6c2VjcmV0/Zm9vYmFy+YmF6cXV4"])  # a TLT key, an NGC-style key
def test_the_key_typed_after_key_file_is_not_echoed(models_dir, tmp_path, typed):
    """`--key-file KEY` (the key where its file belongs, as in `tao-converter -k $KEY`): no such
    file, and the message must not repeat the value, which is the secret; a real path is still named."""
    model = models_dir / "facemask_detectnet_v2_resnet18.etlt"
    result = run_cli("decode", model, "--key-file", typed, "-o", tmp_path / "a.uff", cwd=tmp_path)
    assert result.returncode == 2
    assert typed not in result.stdout + result.stderr
    assert_clean_error(result, "--key-file", "--key")
    assert not (tmp_path / "a.uff").exists()
    missing = tmp_path / "keys" / "model.key"
    missing.parent.mkdir()
    assert_clean_error(run_cli("decode", model, "--key-file", missing, "-o", tmp_path / "a.uff"), str(missing))
