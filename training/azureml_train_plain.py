"""Entry point of the AzureML "TAO DetectNet_v2 train" wrapper without spec substitution
(training/components/tao_detectnet_v2_train_plain.yaml; the user's page
azureml_detectnet_v2_train_component.md): the component passes the train arguments through.

=========================== ==========================================================
TAO argument                component input / output
=========================== ==========================================================
-e, --experiment_spec_file  ${original_specs}/${specs_file}
-r, --results_dir           ${results_dir}  (the output folder)
-k, --key                   ${key}
-n, --model_name            ${name_string_for_the_model}  (optional)
--gpus                      ${num_gpus}
--gpu_index                 ${gpu_index}  (optional)
--use_amp                   ${use_amp}  (boolean: the flag when true)
--log_file                  ${log_file}  (optional)
=========================== ==========================================================
"""

from __future__ import annotations

import argparse
import sys

from taostream.converter.errors import TaostreamError, exit_code_of
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.training.azureml_args import add_common_arguments, optional_int, parse_bool, string_inputs
from taostream.training.commands import LaunchOptions, TaoCommand, train_command
from taostream.training.runner import run_command
from taostream.training.spec_substitution import compose_path

PLAIN_INPUTS = ("original_specs", "specs_file", "key", "name_string_for_the_model", "num_gpus", "gpu_index",
                "use_amp", "log_file")
PLAIN_OUTPUTS = ("results_dir",)
PLAIN_REQUIRED = {"original_specs", "specs_file", "key", "results_dir"}


def plan_plain_train(values: dict, key: str, style: str = "container") -> TaoCommand:
    for name in sorted(PLAIN_REQUIRED - {"key"}):
        if not values.get(name):
            raise TaostreamError(f"the train component needs the input '{name}'")
    spec = compose_path(values["original_specs"], values["specs_file"], label="spec file")
    launch = LaunchOptions(gpus=optional_int(values.get("num_gpus"), "num_gpus"),
                           gpu_index=values.get("gpu_index") or None,
                           use_amp=parse_bool(values.get("use_amp"), "use_amp"),
                           log_file=values.get("log_file") or None)
    return train_command("detectnet_v2", spec, results_dir=values["results_dir"], key=key,
                         model_name=values.get("name_string_for_the_model") or None, style=style, launch=launch)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    string_inputs(parser, tuple(n for n in PLAIN_INPUTS if n != "key") + PLAIN_OUTPUTS, PLAIN_REQUIRED - {"key"})
    add_key_arguments(parser)
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    values = {name: getattr(args, name) for name in PLAIN_INPUTS + PLAIN_OUTPUTS if name != "key"}
    command = plan_plain_train(values, resolve_key(args), style=args.style)
    print(command.display(), flush=True)
    if args.dry_run:
        return 0
    return run_command(command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="taostream azureml train-plain",
                                     description="AzureML component: run DetectNet_v2 train with the given spec.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return exit_code_of(run, args)


if __name__ == "__main__":
    sys.exit(main())
