"""Entry point of the AzureML "TAO DetectNet_v2 export" component (training/components/
tao_detectnet_v2_export.yaml).

Mapping (the component's table, exactly):

======================== =====================================================================
TAO parameter            value
======================== =====================================================================
-m, --model              ${source_model_dir}/${model_app_name}/${source_subfolder}/${source_model_name}
-k, --key                ${key}
-e, --experiment_spec    ${experiment_specs_dir}/${experiment_specs_filename}
-o, --output_file        ${exported_model_dir}/${model_app_name}/${exported_subfolder}/${exported_model_name}
--data_type              ${data_type}
-s                       ${strict_type_constraints}
--gen_ds_config          ${gen_ds_config}
--cal_data_file          ${cal_data_dir}/${model_app_name}/${cal_data_filename}
--cal_image_dir          ${cal_image_dir}          (only when use_image_cal is true)
--cal_cache_file         ${cal_cache_filename}
--batches                ${batches}
--batch_size             ${batch_size}
--max_batch_size         ${max_batch_size}
--max_workspace_size     ${max_workspace_size}
--engine_file            ${engine_filename}
--verbose                ${verbose}
======================== =====================================================================

``-e`` and ``--experiment_spec`` in the table are one option, passed once. The command runs with the
export folder (the folder of ``-o``) as its working directory, so a bare ``cal_cache_filename`` or
``engine_filename`` lands beside the .etlt. For INT8 without ``use_image_cal``, when the tensorfile
``--cal_data_file`` does not exist yet, ``calibration_tensorfile -e SPEC -m ${batches} -o
${cal_data_file} [--use_validation_set]`` runs first (option 1 of the TAO docs) — that is what the
component's ``use_validation_set`` input is for.

Hand-off to ``taostream bundle``: the export folder receives a copy of the experiment spec and
``export_handoff.json`` (model, network, spec, calibration cache, precision; never the key), so
``taostream bundle <folder>/<model>.etlt --network detectnet_v2 --spec <folder>/<spec> --precision P
[--calibration-cache <folder>/<cal.bin>] --key-file KEY_FILE -o DIR`` works on that folder alone; the
exact command is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import TaostreamError, exit_code_of
from taostream.converter.fileio import atomic_write_bytes, atomic_write_text
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.training.azureml_args import add_common_arguments, optional_int, parse_bool, string_inputs
from taostream.training.commands import (
    ExportOptions,
    TaoCommand,
    calibration_tensorfile_command,
    export_command,
)
from taostream.training.runner import run_command
from taostream.training.spec_substitution import compose_path

NETWORK = "detectnet_v2"
EXPORT_INPUTS = (
    "model_app_name", "source_model_dir", "source_subfolder", "source_model_name", "exported_subfolder",
    "exported_model_name", "key", "engine_filename", "cal_data_dir", "cal_data_filename", "use_image_cal",
    "cal_image_dir", "cal_cache_filename", "experiment_specs_dir", "experiment_specs_filename", "data_type",
    "strict_type_constraints", "gen_ds_config", "use_validation_set", "batches", "batch_size",
    "max_batch_size", "max_workspace_size", "verbose",
)
EXPORT_OUTPUTS = ("exported_model_dir",)
EXPORT_REQUIRED = {"model_app_name", "source_model_dir", "source_model_name", "exported_model_name",
                   "key", "exported_model_dir"}
HANDOFF_FILE = "export_handoff.json"


@dataclass
class ExportPlan:
    model: str
    output_file: str
    export_dir: str
    experiment_spec: str | None
    options: ExportOptions
    command: TaoCommand
    pre_commands: list[TaoCommand] = field(default_factory=list)


def plan_export(values: dict, key: str, style: str = "container",
                exists=os.path.exists) -> ExportPlan:
    for name in sorted(EXPORT_REQUIRED - {"key"}):
        if not values.get(name):
            raise TaostreamError(f"the export component needs the input '{name}'")
    app = values["model_app_name"]
    model = compose_path(values["source_model_dir"], app, values.get("source_subfolder") or "",
                         values["source_model_name"], label="source model")
    output_file = compose_path(values["exported_model_dir"], app, values.get("exported_subfolder") or "",
                               values["exported_model_name"], label="exported model")
    spec = None
    if values.get("experiment_specs_dir") or values.get("experiment_specs_filename"):
        if not (values.get("experiment_specs_dir") and values.get("experiment_specs_filename")):
            raise TaostreamError("the experiment spec needs both experiment_specs_dir and experiment_specs_filename")
        spec = compose_path(values["experiment_specs_dir"], values["experiment_specs_filename"],
                            label="experiment spec")
    cal_data_file = None
    if values.get("cal_data_dir") and values.get("cal_data_filename"):
        cal_data_file = compose_path(values["cal_data_dir"], app, values["cal_data_filename"],
                                     label="calibration tensorfile")
    use_image_cal = parse_bool(values.get("use_image_cal"), "use_image_cal")
    if use_image_cal and not values.get("cal_image_dir"):
        raise TaostreamError("use_image_cal is true but cal_image_dir is empty; give the calibration images folder")
    data_type = (values.get("data_type") or "").strip().lower() or None
    options = ExportOptions(
        model=model, key=key, output_file=output_file, experiment_spec=spec, data_type=data_type,
        strict_type_constraints=parse_bool(values.get("strict_type_constraints"), "strict_type_constraints"),
        cal_image_dir=values.get("cal_image_dir") if use_image_cal else None,
        cal_data_file=cal_data_file, cal_cache_file=values.get("cal_cache_filename") or None,
        batches=optional_int(values.get("batches"), "batches"),
        batch_size=optional_int(values.get("batch_size"), "batch_size"),
        max_batch_size=optional_int(values.get("max_batch_size"), "max_batch_size"),
        max_workspace_size=optional_int(values.get("max_workspace_size"), "max_workspace_size"),
        engine_file=values.get("engine_filename") or None,
        gen_ds_config=parse_bool(values.get("gen_ds_config"), "gen_ds_config"),
        verbose=parse_bool(values.get("verbose"), "verbose"),
    )
    pre_commands = []
    if data_type == "int8" and not use_image_cal and cal_data_file and not exists(cal_data_file):
        if not spec:
            raise TaostreamError("int8 export without use_image_cal needs the experiment spec to generate the "
                                 f"calibration tensorfile {cal_data_file}")
        pre_commands.append(calibration_tensorfile_command(
            NETWORK, spec, cal_data_file, options.batches or 10,
            use_validation_set=parse_bool(values.get("use_validation_set"), "use_validation_set"), style=style))
    command = export_command(NETWORK, options, style=style)
    return ExportPlan(model, output_file, posixpath.dirname(output_file), spec, options, command, pre_commands)


def _resolve_in(folder: str, name: str | None) -> str | None:
    if not name:
        return None
    return name if name.startswith("/") else posixpath.join(folder, name)


def write_handoff(plan: ExportPlan) -> dict:
    """Copy the spec beside the .etlt and write export_handoff.json; return its content."""
    folder = Path(plan.export_dir)
    spec_copy = None
    if plan.experiment_spec:
        spec_copy = folder / posixpath.basename(plan.experiment_spec)
        if Path(plan.experiment_spec).resolve() != spec_copy.resolve():
            atomic_write_bytes(spec_copy, Path(plan.experiment_spec).read_bytes())
    cal_cache = _resolve_in(plan.export_dir, plan.options.cal_cache_file)
    if plan.options.data_type == "int8" and not cal_cache:
        cal_cache = _resolve_in(plan.export_dir, "cal.bin")  # TAO's default --cal_cache_file
    handoff = {
        "network": NETWORK,
        "model": plan.output_file,
        "spec": str(spec_copy) if spec_copy else None,
        "calibration_cache": cal_cache if cal_cache and os.path.exists(cal_cache) else None,
        "precision": plan.options.data_type or "fp32",
        "engine_file": _resolve_in(plan.export_dir, plan.options.engine_file),
    }
    atomic_write_text(folder / HANDOFF_FILE, json.dumps(handoff, indent=2) + "\n")
    return handoff


def bundle_command_line(handoff: dict, bundle_dir: str = "bundle") -> str:
    """The `taostream bundle` call for this export (the key is read from a file, never inlined)."""
    words = ["taostream", "bundle", handoff["model"], "--network", handoff["network"]]
    if handoff.get("spec"):
        words += ["--spec", handoff["spec"]]
    words += ["--precision", handoff["precision"]]
    if handoff.get("calibration_cache"):
        words += ["--calibration-cache", handoff["calibration_cache"]]
    words += ["--key-file", "KEY_FILE", "-o", bundle_dir]
    return " ".join(shlex.quote(w) for w in words)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One --<input> option per component input (AzureML passes them all as strings)."""
    string_inputs(parser, tuple(n for n in EXPORT_INPUTS if n != "key") + EXPORT_OUTPUTS, EXPORT_REQUIRED - {"key"})
    add_key_arguments(parser)
    add_common_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taostream azureml export",
                                     description="AzureML component: export a trained DetectNet_v2 model.")
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    values = {name: getattr(args, name) for name in EXPORT_INPUTS + EXPORT_OUTPUTS if name != "key"}
    plan = plan_export(values, resolve_key(args), style=args.style)
    for command in (*plan.pre_commands, plan.command):
        print(command.display())
    if args.dry_run:
        return 0
    os.makedirs(plan.export_dir, exist_ok=True)
    for command in plan.pre_commands:
        run_command(command, cwd=plan.export_dir)
    run_command(plan.command, cwd=plan.export_dir)
    handoff = write_handoff(plan)
    print(f"export folder ready for taostream bundle: {plan.export_dir}")
    print(bundle_command_line(handoff))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return exit_code_of(run, args)


if __name__ == "__main__":
    sys.exit(main())
