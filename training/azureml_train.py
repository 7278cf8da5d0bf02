"""Entry point of the AzureML "TAO DetectNet_v2 train" component (training/components/
tao_detectnet_v2_train.yaml): compose the runtime paths, substitute them into a copy of the spec,
set num_epochs, then run ``detectnet_v2 train``.

Path composition follows the component's mapping table exactly:

=============================================== ====================================================
TAO parameter                                   value
=============================================== ====================================================
-r, --results_dir                               ${trained_model_dir}/${model_app_name}/${model_subfolder}
-k, --key                                       ${key}
-e, --experiment_spec_file                      ${original_specs}/${specs_file} (substituted copy)
base model full path / reference                ${base_model_dir}/${model_app_name}/${base_model_subdir}
                                                / ${specfile_reference_model_dir}
training data folder path / reference           ${training_data_dir}/${training_data_subdir}
                                                / ${specfile_reference_training_data_dir}
tf records training data folder path / ref.     ${training_tf_records_dir}/${training_tf_records_subdir}
                                                / ${specfile_reference_training_tf_records_dir}
num epochs                                      ${num_epochs}
validation data folder path / ref. (optional)   ${validation_data_dir}/${validation_data_subdir}
                                                / ${specfile_reference_validation_data_dir}
tf records validation folder path / ref. (opt.) ${validation_tf_records_dir}/${validation_tf_records_subdir}
                                                / ${specfile_reference_validation_tf_records_dir}
-n, --model_name                                ${name_string_for_the_model}
--gpus / --gpu_index / --use_amp / --log_file   ${num_gpus} / ${gpu_index} / ${use_amp} / ${log_file}
=============================================== ====================================================

The substituted spec is written to ``<results_dir>/<specs_file name>`` (the original input folder
is read-only in AzureML) and that copy is what ``-e`` receives, so the job's output records the
exact spec it trained with.
"""

from __future__ import annotations

import argparse
import logging
import posixpath
import sys
from dataclasses import dataclass, field

from taostream.converter.errors import TaostreamError, exit_code_of
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.training.azureml_args import add_common_arguments, optional_int, parse_bool, string_inputs
from taostream.training.commands import LaunchOptions, TaoCommand, train_command
from taostream.training.runner import run_command
from taostream.training.spec_substitution import PathSubstitution, compose_path, substitute_spec_file

log = logging.getLogger(__name__)

# Every input of the component, in the seed's order ("Components Inputs and Outputs").
TRAIN_INPUTS = (
    "model_app_name", "num_epochs",
    "training_data_dir", "training_data_subdir", "specfile_reference_training_data_dir",
    "validation_data_dir", "validation_data_subdir", "specfile_reference_validation_data_dir",
    "training_tf_records_dir", "training_tf_records_subdir", "specfile_reference_training_tf_records_dir",
    "validation_tf_records_dir", "validation_tf_records_subdir", "specfile_reference_validation_tf_records_dir",
    "base_model_dir", "base_model_subdir", "specfile_reference_model_dir",
    "original_specs", "specs_file", "num_gpus", "key", "name_string_for_the_model", "model_subfolder",
    "gpu_index", "use_amp", "log_file",
)
TRAIN_OUTPUTS = ("trained_model_dir",)
TRAIN_REQUIRED = {
    "model_app_name", "num_epochs", "training_data_dir", "specfile_reference_training_data_dir",
    "training_tf_records_dir", "specfile_reference_training_tf_records_dir", "base_model_dir",
    "specfile_reference_model_dir", "original_specs", "specs_file", "key", "trained_model_dir",
}


@dataclass
class TrainPlan:
    results_dir: str
    original_spec: str
    upgraded_spec: str
    substitutions: list[PathSubstitution]
    num_epochs: int
    command: TaoCommand
    records: list = field(default_factory=list)


def _optional_substitution(values: dict, label: str, dir_name: str, subdir_name: str,
                           reference_name: str) -> PathSubstitution | None:
    given = [values.get(n) for n in (dir_name, reference_name)]
    if not any(given):
        return None
    if not all(given):
        missing = dir_name if not values.get(dir_name) else reference_name
        raise TaostreamError(f"the {label} substitution needs both {dir_name} and {reference_name}; "
                             f"{missing} is missing")
    path = compose_path(values[dir_name], values.get(subdir_name) or "", label=f"{label} path")
    return PathSubstitution(label, values[reference_name], path)


def plan_train(values: dict, key: str, style: str = "container") -> TrainPlan:
    """Compose every path from the component inputs (a dict input name -> string)."""
    for name in sorted(TRAIN_REQUIRED - {"key"}):
        if not values.get(name):
            raise TaostreamError(f"the train component needs the input '{name}'")
    app = values["model_app_name"]
    results_dir = compose_path(values["trained_model_dir"], app, values.get("model_subfolder") or "",
                               label="results folder")
    original_spec = compose_path(values["original_specs"], values["specs_file"], label="spec file")
    substitutions = [
        PathSubstitution("base model folder", values["specfile_reference_model_dir"],
                         compose_path(values["base_model_dir"], app, values.get("base_model_subdir") or "",
                                      label="base model path")),
        PathSubstitution("training data folder", values["specfile_reference_training_data_dir"],
                         compose_path(values["training_data_dir"], values.get("training_data_subdir") or "",
                                      label="training data path")),
        PathSubstitution("TF records training data folder", values["specfile_reference_training_tf_records_dir"],
                         compose_path(values["training_tf_records_dir"],
                                      values.get("training_tf_records_subdir") or "",
                                      label="TF records training path")),
    ]
    for optional in (
        _optional_substitution(values, "validation data folder", "validation_data_dir",
                               "validation_data_subdir", "specfile_reference_validation_data_dir"),
        _optional_substitution(values, "TF records validation data folder", "validation_tf_records_dir",
                               "validation_tf_records_subdir", "specfile_reference_validation_tf_records_dir"),
    ):
        if optional:
            substitutions.append(optional)
    num_epochs = optional_int(values["num_epochs"], "num_epochs")
    upgraded_spec = compose_path(results_dir, posixpath.basename(values["specs_file"]), label="upgraded spec")
    launch = LaunchOptions(gpus=optional_int(values.get("num_gpus"), "num_gpus"),
                           gpu_index=values.get("gpu_index") or None,
                           use_amp=parse_bool(values.get("use_amp"), "use_amp"),
                           log_file=values.get("log_file") or None)
    command = train_command("detectnet_v2", upgraded_spec, results_dir=results_dir, key=key,
                            model_name=values.get("name_string_for_the_model") or None,
                            style=style, launch=launch)
    return TrainPlan(results_dir, original_spec, upgraded_spec, substitutions, num_epochs, command)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One --<input> option per component input (AzureML passes them all as strings)."""
    string_inputs(parser, tuple(n for n in TRAIN_INPUTS if n != "key") + TRAIN_OUTPUTS, TRAIN_REQUIRED - {"key"})
    add_key_arguments(parser)
    add_common_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taostream azureml train",
        description="AzureML component: substitute runtime paths into a DetectNet_v2 spec, then train.")
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    values = {name: getattr(args, name) for name in TRAIN_INPUTS + TRAIN_OUTPUTS if name != "key"}
    plan = plan_train(values, resolve_key(args), style=args.style)
    plan.records = substitute_spec_file(plan.original_spec, plan.upgraded_spec, plan.substitutions,
                                        num_epochs=plan.num_epochs)
    for record in plan.records:
        print(f"spec line {record.line}: {record.field_path}: '{record.old_value}' -> '{record.new_value}'")
    print(f"spec written: {plan.upgraded_spec} (num_epochs {plan.num_epochs})")
    print(plan.command.display())
    if args.dry_run:
        return 0
    return run_command(plan.command)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return exit_code_of(run, args)


if __name__ == "__main__":
    sys.exit(main())
