"""The AzureML components against the user's component pages (shared/seeds/azureml_*.md): the
inputs and outputs lists and the mapping tables are read from the pages themselves and checked
field by field against the component YAML and the entry points' plans."""

from __future__ import annotations

import json
import re
import shlex
from importlib import resources
from pathlib import Path

import pytest
import yaml

from taostream.converter.tao_spec import load_spec
from taostream.training import azureml_export, azureml_train
from taostream.training.commands import KEY_MASK

TRAIN_PAGE = "azureml_detectnet_v2_train_specsubst_component.md"
EXPORT_PAGE = "azureml_detectnet_v2_export_component.md"
FACEMASK_TRAIN = "facemask_detectnet_v2_train_resnet18_kitti.txt"


@pytest.fixture(scope="module")
def seeds_dir(fixtures_dir) -> Path:
    return fixtures_dir.parent / "seeds"


def page_io(page: str) -> tuple[list[str], list[str]]:
    """The page's "Components Inputs and Outputs" bullet lists."""
    section = page.split("### Components Inputs and Outputs\n", 1)[1].split("###", 1)[0]
    inputs_text, outputs_text = re.split(r"^\* outputs:?\s*$", section, maxsplit=1, flags=re.M)
    names = lambda text: re.findall(r"^ {4}\* (\w+)\s*$", text, flags=re.M)  # noqa: E731
    return names(inputs_text), names(outputs_text)


def page_mapping(page: str) -> list[tuple[str, str]]:
    """(parameter label, ${...} template) rows of the mapping table."""
    section = page.split("Mapping to TAO Command Parameters", 1)[1]
    rows = re.findall(r"^\* <span[^>]*>([^<]+?):?</span>:?\s*(.+?)\s*$", section, flags=re.M)
    return [(label.strip(), template.strip()) for label, template in rows]


def fill(template: str, values: dict) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


def option(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def gpu_index_option(argv: list[str]) -> str | None:
    """The TAO entrypoint takes one index per word (`--gpu_index 0 1`); the page writes "0,1"."""
    if "--gpu_index" not in argv:
        return None
    values = []
    for word in argv[argv.index("--gpu_index") + 1:]:
        if word.startswith("-"):
            break
        values.append(word)
    return ",".join(values)


def component(name: str) -> dict:
    text = resources.files("taostream.training").joinpath("components", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def render_command(command: str, inputs: dict, outputs: dict) -> list[str]:
    """What AzureML runs: ${{inputs.x}} replaced, $[[...]] kept only when its inputs are given."""
    def optional(match: re.Match) -> str:
        names = re.findall(r"\$\{\{inputs\.(\w+)\}\}", match.group(1))
        return match.group(1) if all(inputs.get(n) not in (None, "") for n in names) else ""
    text = re.sub(r"\$\[\[(.*?)\]\]", optional, command)
    text = re.sub(r"\$\{\{inputs\.(\w+)\}\}", lambda m: shlex.quote(str(inputs[m.group(1)])), text)
    text = re.sub(r"\$\{\{outputs\.(\w+)\}\}", lambda m: shlex.quote(str(outputs[m.group(1)])), text)
    return shlex.split(text)


# ---- train ----------------------------------------------------------------------------------------
def train_values(specs_dir: Path, out_dir: Path) -> dict:
    return {
        "model_app_name": "facemask", "num_epochs": "5",
        "training_data_dir": "/mnt/azureml/cr/data_train", "training_data_subdir": "kitti/train",
        "specfile_reference_training_data_dir": "/home/data/train",
        "validation_data_dir": "", "validation_data_subdir": "", "specfile_reference_validation_data_dir": "",
        "training_tf_records_dir": "/mnt/azureml/cr/tfrecords", "training_tf_records_subdir": "trainval",
        "specfile_reference_training_tf_records_dir": "/home/data/tfrecords",
        "validation_tf_records_dir": "", "validation_tf_records_subdir": "",
        "specfile_reference_validation_tf_records_dir": "",
        "base_model_dir": "/mnt/azureml/cr/models", "base_model_subdir": "pretrained_resnet18",
        "specfile_reference_model_dir": "/home/detectnet_v2/pretrained_resnet18",
        "original_specs": str(specs_dir), "specs_file": FACEMASK_TRAIN, "num_gpus": "2",
        "key": "tlt_encode", "name_string_for_the_model": "resnet18_detector", "model_subfolder": "run_01",
        "gpu_index": "0,1", "use_amp": "true", "log_file": "/mnt/azureml/logs/train.log",
        "trained_model_dir": str(out_dir),
    }


def train_accessors(plan: azureml_train.TrainPlan) -> dict:
    argv = plan.command.argv
    by_label = {s.label: s for s in plan.substitutions}
    return {
        "-r, --results_dir": option(argv, "-r"),
        "-k, –key": option(argv, "-k"),
        "-e, --experiment_spec_file": plan.original_spec,
        "base model full path": by_label["base model folder"].runtime_path,
        "base model reference": by_label["base model folder"].reference,
        "training data folder path": by_label["training data folder"].runtime_path,
        "training data folder reference": by_label["training data folder"].reference,
        "tf records training data folder path": by_label["TF records training data folder"].runtime_path,
        "tf records training data folder reference": by_label["TF records training data folder"].reference,
        "num epochs": str(plan.num_epochs),
        "validation data folder path": by_label["validation data folder"].runtime_path,
        "validation data folder reference": by_label["validation data folder"].reference,
        "tf records validation data folder path": by_label["TF records validation data folder"].runtime_path,
        "tf records validation data folder reference": by_label["TF records validation data folder"].reference,
        "-n, --model_name": option(argv, "-n"),
        "--gpus": option(argv, "--gpus"),
        "--gpu_index": gpu_index_option(argv),
        "--use_amp": "true" if "--use_amp" in argv else "false",
        "--log_file": option(argv, "--log_file"),
    }


def test_train_component_inputs_and_outputs_are_the_pages(seeds_dir):
    inputs, outputs = page_io((seeds_dir / TRAIN_PAGE).read_text(encoding="utf-8"))
    assert len(inputs) == 26 and outputs == ["trained_model_dir"]
    definition = component("tao_detectnet_v2_train.yaml")
    assert list(definition["inputs"]) == inputs
    assert list(definition["outputs"]) == outputs
    assert azureml_train.TRAIN_INPUTS == tuple(inputs)
    for name in inputs:
        assert f"${{{{inputs.{name}}}}}" in definition["command"], name
        if definition["inputs"][name].get("optional"):
            assert re.search(rf"\$\[\[[^\]]*\$\{{\{{inputs\.{name}\}}\}}[^\]]*\]\]", definition["command"]), name


def test_train_mapping_table_field_by_field(seeds_dir, fixtures_dir, tmp_path):
    page = (seeds_dir / TRAIN_PAGE).read_text(encoding="utf-8")
    values = train_values(fixtures_dir / "specs", tmp_path / "out")
    # validation substitutions are optional: give them so their rows can be checked too
    values.update({"validation_data_dir": "/mnt/azureml/cr/data_val", "validation_data_subdir": "kitti/val",
                   "specfile_reference_validation_data_dir": "/home/data/train",
                   "validation_tf_records_dir": "/mnt/azureml/cr/tfr_val", "validation_tf_records_subdir": "val",
                   "specfile_reference_validation_tf_records_dir": "/home/data/tfrecords/kitti_trainval"})
    plan = azureml_train.plan_train(values, key=values["key"])
    actual = train_accessors(plan)
    rows = page_mapping(page)
    assert [label for label, _ in rows] == list(actual)  # every row of the page, in its order
    for label, template in rows:
        assert actual[label] == fill(template, values), label


def test_train_component_runs_end_to_end_from_its_yaml(seeds_dir, fixtures_dir, tmp_path, capsys):
    values = train_values(fixtures_dir / "specs", tmp_path / "out")
    definition = component("tao_detectnet_v2_train.yaml")
    argv = render_command(definition["command"], values, {"trained_model_dir": values["trained_model_dir"]})
    assert argv[:3] == ["python", "-m", "taostream.training.azureml_train"]
    args = azureml_train.build_parser().parse_args(argv[3:] + ["--dry-run"])
    assert azureml_train.run(args) == 0
    printed = capsys.readouterr().out
    assert "tlt_encode" not in printed and KEY_MASK in printed
    results = tmp_path / "out" / "facemask" / "run_01"
    upgraded = load_spec(results / FACEMASK_TRAIN)
    assert upgraded.get("training_config.num_epochs") == 5
    assert upgraded.get("dataset_config.data_sources.image_directory_path") == "/mnt/azureml/cr/data_train/kitti/train"
    assert upgraded.get("dataset_config.data_sources.tfrecords_path") == (
        "/mnt/azureml/cr/tfrecords/trainval/kitti_trainval/*")
    assert upgraded.get("model_config.pretrained_model_file") == (
        "/mnt/azureml/cr/models/facemask/pretrained_resnet18/tlt_pretrained_detectnet_v2_vresnet18/resnet18.hdf5")
    command_line = printed.strip().splitlines()[-1]
    assert command_line == (
        f"detectnet_v2 train --gpu_index 0 1 -e {results / FACEMASK_TRAIN} -r {results} -k '{KEY_MASK}' "
        "-n resnet18_detector --gpus 2 --use_amp --log_file /mnt/azureml/logs/train.log")


def test_train_entry_point_errors_are_clear(fixtures_dir, tmp_path, capsys):
    values = train_values(fixtures_dir / "specs", tmp_path / "out")
    values["specfile_reference_training_data_dir"] = "/home/data/trai"  # a string prefix, not a folder
    argv = []
    for name, value in values.items():
        if value != "" and name != "key":
            argv += [f"--{name}", value]
    code = azureml_train.main(argv + ["--key", "tlt_encode", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2
    assert FACEMASK_TRAIN in err and "'/home/data/trai' not found" in err
    values["model_subfolder"] = "../../escape"
    with pytest.raises(Exception, match="leaves its root folder"):
        azureml_train.plan_train(values, key="k")


# ---- export ---------------------------------------------------------------------------------------
def export_values(specs_dir: Path, out_dir: Path, **overrides) -> dict:
    values = {
        "model_app_name": "facemask", "source_model_dir": "/mnt/azureml/cr/trained", "source_subfolder": "run_01/weights",
        "source_model_name": "resnet18_detector.tlt", "exported_subfolder": "final",
        "exported_model_name": "resnet18_detector.etlt", "key": "tlt_encode", "engine_filename": "resnet18.engine",
        "cal_data_dir": "/mnt/azureml/cr/calib", "cal_data_filename": "calibration.tensor", "use_image_cal": "true",
        "cal_image_dir": "/mnt/azureml/cr/calib_images", "cal_cache_filename": "calibration.bin",
        "experiment_specs_dir": str(specs_dir), "experiment_specs_filename": FACEMASK_TRAIN, "data_type": "int8",
        "strict_type_constraints": "true", "gen_ds_config": "true", "use_validation_set": "false", "batches": "10",
        "batch_size": "4", "max_batch_size": "16", "max_workspace_size": "1073741824", "verbose": "false",
        "exported_model_dir": str(out_dir),
    }
    values.update(overrides)
    return values


def export_accessors(plan: azureml_export.ExportPlan) -> dict:
    argv = plan.command.argv
    flag = lambda name: "true" if name in argv else "false"  # noqa: E731
    return {
        "-m, --model": option(argv, "-m"), "-k, --key": option(argv, "-k"),
        "-e, --experiment_spec": option(argv, "-e"), "-o, --output_file": option(argv, "-o"),
        "--data_type": option(argv, "--data_type"), "-s, --strict_type_constraints": flag("-s"),
        "--gen_ds_config": flag("--gen_ds_config"), "--cal_data_file": option(argv, "--cal_data_file"),
        "--cal_image_dir": option(argv, "--cal_image_dir"), "--cal_cache_file": option(argv, "--cal_cache_file"),
        "--batches": option(argv, "--batches"), "--batch_size": option(argv, "--batch_size"),
        "--max_batch_size": option(argv, "--max_batch_size"),
        "--max_workspace_size": option(argv, "--max_workspace_size"),
        "--experiment_spec": option(argv, "-e"), "--engine_file": option(argv, "--engine_file"),
    }


def test_export_component_inputs_and_outputs_are_the_pages(seeds_dir):
    inputs, outputs = page_io((seeds_dir / EXPORT_PAGE).read_text(encoding="utf-8"))
    assert len(inputs) == 24 and outputs == ["exported_model_dir"]
    definition = component("tao_detectnet_v2_export.yaml")
    assert list(definition["inputs"]) == inputs
    assert list(definition["outputs"]) == outputs
    assert azureml_export.EXPORT_INPUTS == tuple(inputs)
    for name in inputs:
        assert f"${{{{inputs.{name}}}}}" in definition["command"], name


def test_export_mapping_table_field_by_field(seeds_dir, fixtures_dir, tmp_path):
    page = (seeds_dir / EXPORT_PAGE).read_text(encoding="utf-8")
    values = export_values(fixtures_dir / "specs", tmp_path / "exported")
    plan = azureml_export.plan_export(values, key=values["key"])
    actual = export_accessors(plan)
    rows = page_mapping(page)
    assert [label for label, _ in rows] == list(actual)
    for label, template in rows:
        assert actual[label] == fill(template, values), label
    assert plan.command.argv.count("-e") == 1  # -e and --experiment_spec are one option
    assert plan.export_dir == f"{tmp_path}/exported/facemask/final"


def test_export_int8_without_image_calibration_generates_the_tensorfile_first(fixtures_dir, tmp_path):
    values = export_values(fixtures_dir / "specs", tmp_path / "exported", use_image_cal="false",
                           use_validation_set="true")
    plan = azureml_export.plan_export(values, key="k", exists=lambda path: False)
    assert "--cal_image_dir" not in plan.command.argv
    [pre] = plan.pre_commands
    assert pre.argv == ["detectnet_v2", "calibration_tensorfile", "-e", f"{fixtures_dir}/specs/{FACEMASK_TRAIN}",
                        "-m", "10", "-o", "/mnt/azureml/cr/calib/facemask/calibration.tensor", "--use_validation_set"]
    ready = azureml_export.plan_export(values, key="k", exists=lambda path: True)
    assert ready.pre_commands == []


def test_export_runs_and_hands_off_to_bundle(fixtures_dir, tmp_path, monkeypatch, capsys):
    """A stand-in `detectnet_v2` (a real executable) writes what TAO writes, in the working folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "detectnet_v2"
    tool.write_text('#!/bin/sh\nwhile [ $# -gt 0 ]; do case "$1" in -o) out=$2;; --cal_cache_file) cal=$2;; esac; '
                    'shift; done\necho etlt > "$out"\necho "TRT-7000-EntropyCalibration2" > "$cal"\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    values = export_values(fixtures_dir / "specs", tmp_path / "exported")
    argv = []
    for name, value in values.items():
        if name != "key":
            argv += [f"--{name}", value]
    assert azureml_export.main(argv + ["--key", "tlt_encode"]) == 0
    printed = capsys.readouterr().out
    assert "tlt_encode" not in printed
    folder = tmp_path / "exported" / "facemask" / "final"
    handoff = json.loads((folder / azureml_export.HANDOFF_FILE).read_text())
    assert handoff == {
        "network": "detectnet_v2", "model": f"{folder}/resnet18_detector.etlt", "spec": f"{folder}/{FACEMASK_TRAIN}",
        "calibration_cache": f"{folder}/calibration.bin", "precision": "int8",
        "engine_file": f"{folder}/resnet18.engine",
    }
    assert (folder / FACEMASK_TRAIN).read_bytes() == (fixtures_dir / "specs" / FACEMASK_TRAIN).read_bytes()
    assert printed.strip().splitlines()[-1] == (
        f"taostream bundle {folder}/resnet18_detector.etlt --network detectnet_v2 --spec {folder}/{FACEMASK_TRAIN} "
        f"--precision int8 --calibration-cache {folder}/calibration.bin --key-file KEY_FILE -o bundle")


def test_export_requires_its_inputs(fixtures_dir, tmp_path):
    values = export_values(fixtures_dir / "specs", tmp_path / "exported", use_image_cal="true", cal_image_dir="")
    with pytest.raises(Exception, match="cal_image_dir is empty"):
        azureml_export.plan_export(values, key="k")
    values = export_values(fixtures_dir / "specs", tmp_path / "exported", source_subfolder="/abs")
    with pytest.raises(Exception, match="is absolute"):
        azureml_export.plan_export(values, key="k")
    values = export_values(fixtures_dir / "specs", tmp_path / "exported", verbose="maybe")
    with pytest.raises(Exception, match="'maybe' is not a boolean"):
        azureml_export.plan_export(values, key="k")


# ---- train without substitution (the first component page) ---------------------------------------
PLAIN_PAGE = "azureml_detectnet_v2_train_component.md"


def test_plain_train_component_passes_the_pages_arguments(seeds_dir, tmp_path, capsys):
    from taostream.training import azureml_train_plain

    page = (seeds_dir / PLAIN_PAGE).read_text(encoding="utf-8")
    flags = set()
    for label in re.findall(r"^\* <span[^>]*>([^<]+?):?</span>", page, flags=re.M):
        flags.update(f.strip() for f in label.replace("â€“", "--").split(","))
    assert {"-r", "-e", "-n", "--gpus", "--gpu_index", "--use_amp", "--log_file"} <= flags
    definition = component("tao_detectnet_v2_train_plain.yaml")
    values = {"original_specs": "/specs", "specs_file": "train.txt", "key": "KEY",
              "name_string_for_the_model": "resnet18", "num_gpus": "2", "gpu_index": "", "use_amp": "false",
              "log_file": ""}
    argv = render_command(definition["command"], values, {"results_dir": "/out"})
    args = argparse_for(azureml_train_plain, argv[3:] + ["--style", "tao", "--dry-run"])
    assert azureml_train_plain.run(args) == 0
    # the page's sample usage, its placeholders filled with the same inputs
    sample = re.search(r"### Sample Usage.*?<font[^>]*>(.*?)</pre>", page, flags=re.S).group(1)
    for placeholder, value in (("< path_to_spec_file>", "/specs/train.txt"), ("< path_to_experiment_output>", "/out"),
                               ("< key_to_load_the_model>", "KEY"), ("< name_string_for_the_model>", "resnet18")):
        sample = sample.replace(placeholder, value)
    command = azureml_train_plain.plan_plain_train({**values, "results_dir": "/out"}, key="KEY", style="tao")
    assert command.argv == sample.split()
    assert capsys.readouterr().out == f"tao detectnet_v2 train -e /specs/train.txt -r /out -k '{KEY_MASK}' -n resnet18 --gpus 2\n"
    values.update(gpu_index="1,2", use_amp="true", log_file="/out/log.txt")
    amp = azureml_train_plain.plan_plain_train({**values, "results_dir": "/out"}, key="KEY")
    assert amp.argv[-5:] == ["--gpus", "2", "--use_amp", "--log_file", "/out/log.txt"]
    assert amp.argv[2:5] == ["--gpu_index", "1", "2"]


def argparse_for(module, argv):
    import argparse

    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)
