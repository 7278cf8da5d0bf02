"""The training commands through the real `taostream` entry point: spec get/set, tao (dry run),
tao-mounts and azureml."""

from __future__ import annotations

import json
import shutil

import pytest

from taostream.cli import main
from taostream.converter.tao_spec import Enum, load_spec
from taostream.training.cli import coerce_value
from taostream.training.commands import KEY_MASK
from taostream.training.mounts import build_mounts

FACEMASK = "facemask_detectnet_v2_train_resnet18_kitti.txt"


@pytest.fixture()
def spec_copy(fixtures_dir, tmp_path):
    path = tmp_path / FACEMASK
    shutil.copyfile(fixtures_dir / "specs" / FACEMASK, path)
    return path


def test_spec_get_prints_values(spec_copy, capsys):
    assert main(["spec", "get", str(spec_copy), "training_config.num_epochs"]) == 0
    assert capsys.readouterr().out == "120\n"
    assert main(["spec", "get", str(spec_copy), "cost_function_config.target_classes.name"]) == 0
    assert capsys.readouterr().out == "mask\nno-mask\n"
    assert main(["spec", "get", str(spec_copy), "model_config.use_batch_norm"]) == 0
    assert capsys.readouterr().out == "true\n"
    assert main(["spec", "get", str(spec_copy), "evaluation_config.evaluation_box_config[key=mask]", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"key": ["mask"], "value": [
        {"minimum_height": [20], "maximum_height": [9999], "minimum_width": [10], "maximum_width": [9999]}]}]
    assert main(["spec", "get", str(spec_copy), "no.such.field"]) == 2
    assert "no field at 'no.such.field'" in capsys.readouterr().err


def test_spec_set_keeps_types_and_comments(spec_copy, tmp_path):
    original = spec_copy.read_text()
    assert main(["spec", "set", str(spec_copy), "training_config.num_epochs", "3"]) == 0
    assert main(["spec", "set", str(spec_copy), "model_config.training_precision.backend_floatx", "FLOAT16"]) == 0
    assert main(["spec", "set", str(spec_copy), "dataset_config.image_extension", "png"]) == 0
    edited = spec_copy.read_text()
    assert edited == (original.replace("num_epochs: 120", "num_epochs: 3")
                      .replace("backend_floatx: FLOAT32", "backend_floatx: FLOAT16")
                      .replace('image_extension: "jpg"', 'image_extension: "png"'))
    out = tmp_path / "other.txt"
    assert main(["spec", "set", str(spec_copy), "training_config.new_flag", "true", "-o", str(out),
                 "--allow-new-field"]) == 0
    assert load_spec(out).get("training_config.new_flag") is True
    assert spec_copy.read_text() == edited  # -o leaves the input alone
    assert main(["spec", "set", str(spec_copy), "training_config.num_epochs", "many"]) == 2


def test_coerce_value_follows_the_existing_type():
    assert coerce_value("5", None, 120) == 5
    assert coerce_value("5", None, 0.5) == 5.0 and isinstance(coerce_value("5", None, 0.5), float)
    assert coerce_value("5", None, "jpg") == "5"
    assert coerce_value("L2", None, Enum("L1")) == Enum("L2")
    assert coerce_value("false", None, True) is False
    assert coerce_value("1e-5", None, None) == 1e-5
    assert coerce_value("x", "enum", None) == Enum("x")


def test_tao_dry_run_prints_the_masked_command(capsys):
    code = main(["tao", "export", "--network", "frcnn", "--style", "tlt3", "--gpu_index", "0", "-m", "m.tlt",
                 "-o", "m.etlt", "-e", "spec.txt", "-k", "sekrit-key", "--data_type", "int8", "--batch_size", "8",
                 "--batches", "10", "--cal_cache_file", "cal.bin", "--dry-run"])
    assert code == 0
    out = capsys.readouterr().out
    assert out == (f"tlt faster_rcnn export --gpu_index 0 -m m.tlt -o m.etlt -e spec.txt -k '{KEY_MASK}' "
                   "--data_type int8 --batch_size 8 --batches 10 --cal_cache_file cal.bin\n")
    assert main(["tao", "prune", "--network", "yolo_v4", "--style", "tao5", "-m", "a.tlt", "-o", "b.tlt",
                 "-eq", "union", "-pth", "0.1", "-k", "kk", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("tao model yolo_v4 prune -m a.tlt -o b.tlt -eq union -pth 0.1 -k")


def test_tao_key_from_environment_and_missing_launcher(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TAOSTREAM_KEY", "env-key-123")
    monkeypatch.setenv("PATH", str(tmp_path))
    code = main(["tao", "train", "--network", "detectnet_v2", "-e", "s.txt", "-r", "out"])
    captured = capsys.readouterr()
    assert code == 2
    assert "'tao' was not found on PATH" in captured.err
    assert "env-key-123" not in captured.out + captured.err


def test_tao_mounts_with_a_secret_env_is_readable_by_its_owner_only(tmp_path, capsys):
    """--env values may be keys (NGC_API_KEY, a model key): the file was 0644, readable by everyone on
    the host; it is 0600 whatever the umask, also when it replaces an existing 0644 file."""
    import os
    import stat

    data = tmp_path / "project"
    data.mkdir()
    target = tmp_path / "mounts.json"
    target.write_text("{}")
    target.chmod(0o644)
    previous = os.umask(0o022)
    try:
        assert main(["tao-mounts", "--mount", f"{data}:/workspace", "--env", "NGC_API_KEY=nvapi-secret-123",
                     "-o", str(target), "--force"]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["Envs"] == [{"variable": "NGC_API_KEY", "value": "nvapi-secret-123"}]
    assert capsys.readouterr().out == f"wrote {target}\n"


def test_tao_mounts_writes_the_readme_shape(tmp_path, capsys):
    data = tmp_path / "project"
    data.mkdir()
    target = tmp_path / "mounts.json"
    assert main(["tao-mounts", "--mount", f"{data}:/workspace/tlt-experiments", "--gpu-index", "0",
                 "--user", "1000:1000", "-o", str(target)]) == 0
    assert json.loads(target.read_text()) == {
        "Mounts": [{"source": str(data), "destination": "/workspace/tlt-experiments"}],
        "Envs": [{"variable": "CUDA_VISIBLE_DEVICES", "value": "0"}],
        "DockerOptions": {"user": "1000:1000"},
    }
    assert target.read_text().startswith('{\n    "Mounts": [\n        {')  # json.dump(..., indent=4)
    assert main(["tao-mounts", "--mount", f"{data}:/elsewhere", "-o", str(target)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(["tao-mounts", "--mount", f"{tmp_path}/missing:/x", "-o", str(target), "--force"]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(Exception, match="mounted twice"):
        build_mounts([f"{data}:/a", f"{tmp_path}:/a"])
    with pytest.raises(Exception, match="must be absolute"):
        build_mounts([f"{data}:relative"])


def test_azureml_train_through_the_cli(fixtures_dir, tmp_path, capsys):
    args = ["azureml", "train", "--model_app_name", "facemask", "--num_epochs", "2",
            "--training_data_dir", "/mnt/d", "--specfile_reference_training_data_dir", "/home/data/train",
            "--training_tf_records_dir", "/mnt/t", "--specfile_reference_training_tf_records_dir",
            "/home/data/tfrecords", "--base_model_dir", "/mnt/m", "--specfile_reference_model_dir",
            "/home/detectnet_v2/pretrained_resnet18", "--original_specs", str(fixtures_dir / "specs"),
            "--specs_file", FACEMASK, "--key", "tlt_encode", "--trained_model_dir", str(tmp_path / "out"),
            "--style", "tao", "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "tlt_encode" not in out
    assert out.strip().splitlines()[-1] == (
        f"tao detectnet_v2 train -e {tmp_path}/out/facemask/{FACEMASK} -r {tmp_path}/out/facemask -k '{KEY_MASK}'")
    assert load_spec(tmp_path / "out" / "facemask" / FACEMASK).get("training_config.num_epochs") == 2


def test_spec_set_keeps_a_private_spec_private(fixtures_dir, tmp_path):
    # A FasterRCNN spec holds the model key (enc_key); the user keeps it 0600. Editing it in place, or
    # writing the edit elsewhere with -o, must not make it readable by every user.
    spec = tmp_path / "frcnn_spec.txt"
    spec.write_text("enc_key: 'my-private-key'\n" + (fixtures_dir / "specs" / FACEMASK).read_text())
    spec.chmod(0o600)
    assert main(["spec", "set", str(spec), "training_config.num_epochs", "3"]) == 0
    assert load_spec(spec).get("training_config.num_epochs") == 3
    assert spec.stat().st_mode & 0o777 == 0o600
    copy = tmp_path / "edited.txt"
    assert main(["spec", "set", str(spec), "training_config.num_epochs", "4", "-o", str(copy)]) == 0
    assert copy.stat().st_mode & 0o777 == 0o600
    spec.chmod(0o640)  # a group-shared spec stays as shared as it was
    assert main(["spec", "set", str(spec), "training_config.num_epochs", "5"]) == 0
    assert spec.stat().st_mode & 0o777 == 0o640


def test_spec_set_a_value_of_the_wrong_type_names_the_file_and_field(spec_copy, capsys):
    assert main(["spec", "set", str(spec_copy), "training_config.num_epochs", "eighty"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"taostream: error: {spec_copy}: training_config.num_epochs: value 'eighty' is not a valid int "
                   "(the field holds 120); give a whole number, or --type str to store text")
    assert main(["spec", "set", str(spec_copy), "model_config.use_batch_norm", "yes"]) == 2
    assert "model_config.use_batch_norm: value 'yes' is not a valid bool (the field holds true); give true or false" \
        in capsys.readouterr().err
