"""`taostream dataset check`, `taostream tao <task>`, `taostream spec get|set`, `taostream azureml
train|export` and `taostream tao-mounts`."""

from __future__ import annotations

import argparse
import json
import sys

from taostream.converter.errors import SpecError, TaostreamError
from taostream.converter.fileio import check_output_file
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.converter.tao_spec import Enum, SpecMessage, load_spec, save_spec
from taostream.training import azureml_export, azureml_train, azureml_train_plain, commands, mounts
from taostream.training.dataset_check import check_kitti_dataset
from taostream.training.spec_fields import judge_field
from taostream.training.runner import run_command


def register(subparsers) -> None:
    _register_dataset(subparsers)
    _register_tao(subparsers)
    _register_spec(subparsers)
    _register_azureml(subparsers)
    _register_mounts(subparsers)


# ---- dataset check --------------------------------------------------------------------------------
def _register_dataset(subparsers) -> None:
    dataset = subparsers.add_parser("dataset", help="check a KITTI detection dataset")
    actions = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="check images/ and labels/ the way TAO's dataset_convert needs them")
    check.add_argument("dir", help="dataset root holding images/ and labels/")
    check.add_argument("--network", help="also check this network's input constraints (e.g. detectnet_v2)")
    check.add_argument("--sequence-map", metavar="JSON",
                       help="sequence-to-frames map (default: DIR/kitti_seq_to_map.json when present)")
    check.add_argument("--spec", help="training spec: compare its target_class_mapping with the dataset's classes")
    check.add_argument("--images-dir", default="images", help="image folder name (default: images)")
    check.add_argument("--labels-dir", default="labels", help="label folder name (default: labels)")
    check.add_argument("--json", action="store_true", help="print the full report as JSON")
    check.add_argument("--max-issues", type=int, default=200, help="issues listed in text mode (default 200)")
    check.set_defaults(func=_dataset_check)


def _dataset_check(args) -> int:
    report = check_kitti_dataset(args.dir, network=args.network, sequence_map=args.sequence_map,
                                 image_dir=args.images_dir, label_dir=args.labels_dir, spec=args.spec)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_text(args.max_issues))
    return 0 if report.ok else 1


# ---- tao <task> -----------------------------------------------------------------------------------
def _register_tao(subparsers) -> None:
    tao = subparsers.add_parser("tao", help="print or run a TAO/TLT command (tlt2, tlt3, tao, tao5 styles)")
    tasks = tao.add_subparsers(dest="tao_task", metavar="TASK", required=True)
    builders = {
        "dataset_convert": _args_dataset_convert, "train": _args_train, "evaluate": _args_evaluate,
        "inference": _args_inference, "prune": _args_prune, "export": _args_export,
        "calibration_tensorfile": _args_calibration_tensorfile,
    }
    for task, add_task_arguments in builders.items():
        parser = tasks.add_parser(task, help=f"the {task} task")
        parser.add_argument("--network", required=True, help="detectnet_v2, faster_rcnn, ssd, yolo_v4, ...")
        parser.add_argument("--style", choices=commands.STYLES, default=commands.DEFAULT_STYLE,
                            help="tlt2: tlt-train NET ...; tlt3: tlt NET TASK; tao: tao NET TASK (TAO 3.x, "
                                 "default); tao4: TAO 4.0 names; tao5: tao model NET TASK; container: NET TASK "
                                 "inside a TAO container")
        parser.add_argument("--dry-run", action="store_true", help="print the command (key masked), do not run")
        launch = parser.add_argument_group("launch options")
        launch.add_argument("--gpus", type=int)
        launch.add_argument("--gpu_index")
        launch.add_argument("--use_amp", action="store_true")
        launch.add_argument("--log_file")
        add_task_arguments(parser)
        parser.set_defaults(func=_tao_run)


def _args_dataset_convert(p) -> None:
    p.add_argument("-d", "--dataset_export_spec", required=True)
    p.add_argument("-o", "--output_filename", required=True)
    p.add_argument("-f", "--validation_fold", type=int)


def _args_train(p) -> None:
    p.add_argument("-e", "--experiment_spec_file", required=True)
    p.add_argument("-r", "--results_dir")
    p.add_argument("-n", "--model_name")
    p.add_argument("-m", "--resume_model_weights")
    p.add_argument("--initial_epoch", type=int)
    add_key_arguments(p, required=False)


def _args_evaluate(p) -> None:
    p.add_argument("-e", "--experiment_spec_file", required=True)
    p.add_argument("-m", "--model")
    p.add_argument("-f", "--framework", choices=("tlt", "tensorrt"))
    p.add_argument("--use_training_set", action="store_true")
    p.add_argument("-r", "--results_dir", help="TAO 5: folder for the evaluation results")
    add_key_arguments(p, required=False)


def _args_inference(p) -> None:
    p.add_argument("-e", "--spec")
    p.add_argument("-i", "--input")
    p.add_argument("-o", "-r", "--output", help="output folder (-o up to TAO 4, -r from TAO 5)")
    p.add_argument("-m", "--model")
    p.add_argument("-l", "--label_output")
    p.add_argument("-t", "--threshold", type=float)
    p.add_argument("-b", "--batch_size", type=int)
    p.add_argument("-cm", "--class_map")
    p.add_argument("--include_mask", action="store_true")
    add_key_arguments(p, required=False)


def _args_prune(p) -> None:
    p.add_argument("-m", "--model", required=True)
    p.add_argument("-o", "--output_file", required=True)
    p.add_argument("-n", "--normalizer", choices=("max", "L2"))
    p.add_argument("-eq", "--equalization_criterion",
                   choices=("arithmetic_mean", "geometric_mean", "union", "intersection"))
    p.add_argument("-pg", "--pruning_granularity", type=int)
    p.add_argument("-pth", "--pruning_threshold", type=float)
    p.add_argument("-nf", "--min_num_filters", type=int)
    p.add_argument("-el", "--excluded_layers", nargs="*")
    add_key_arguments(p)


def _args_export(p) -> None:
    p.add_argument("-m", "--model", required=True)
    p.add_argument("-o", "--output_file")
    p.add_argument("-e", "--experiment_spec")
    p.add_argument("--data_type", choices=("fp32", "fp16", "int8"))
    p.add_argument("-s", "--strict_type_constraints", action="store_true")
    p.add_argument("--cal_image_dir")
    p.add_argument("--cal_data_file")
    p.add_argument("--cal_cache_file")
    p.add_argument("--batches", type=int)
    p.add_argument("--batch_size", type=int)
    p.add_argument("--max_batch_size", type=int)
    p.add_argument("--max_workspace_size", type=int)
    p.add_argument("--engine_file")
    p.add_argument("--gen_ds_config", action="store_true")
    p.add_argument("--force_ptq", action="store_true")
    p.add_argument("--verbose", action="store_true")
    add_key_arguments(p)


def _args_calibration_tensorfile(p) -> None:
    p.add_argument("-e", "--experiment_spec_file", required=True)
    p.add_argument("-o", "--output_path", required=True)
    p.add_argument("-m", "--max_batches", type=int, required=True)
    p.add_argument("--use_validation_set", action="store_true")


def build_tao_command(args) -> commands.TaoCommand:
    """The TaoCommand an argparse namespace of `taostream tao TASK ...` describes."""
    launch = commands.LaunchOptions(args.gpus, args.gpu_index, args.use_amp, args.log_file)
    common = {"style": args.style, "launch": launch}
    task, net = args.tao_task, args.network
    key = resolve_key(args, required=getattr(args, "_key_required", False)) if hasattr(args, "key") else None
    if task == "dataset_convert":
        return commands.dataset_convert_command(net, args.dataset_export_spec, args.output_filename,
                                                validation_fold=args.validation_fold, **common)
    if task == "train":
        return commands.train_command(net, args.experiment_spec_file, results_dir=args.results_dir, key=key,
                                      model_name=args.model_name, resume_model=args.resume_model_weights,
                                      initial_epoch=args.initial_epoch, **common)
    if task == "evaluate":
        return commands.evaluate_command(net, args.experiment_spec_file, model=args.model, key=key,
                                         framework=args.framework, use_training_set=args.use_training_set,
                                         results_dir=args.results_dir, **common)
    if task == "inference":
        options = commands.InferenceOptions(args.spec, args.input, args.output, args.model, key,
                                            args.label_output, args.threshold, args.batch_size,
                                            args.class_map, args.include_mask)
        return commands.inference_command(net, options, **common)
    if task == "prune":
        options = commands.PruneOptions(args.model, args.output_file, key, args.normalizer,
                                        args.equalization_criterion, args.pruning_granularity,
                                        args.pruning_threshold, args.min_num_filters, args.excluded_layers)
        return commands.prune_command(net, options, **common)
    if task == "export":
        options = commands.ExportOptions(
            args.model, key, args.output_file, args.experiment_spec, args.data_type,
            args.strict_type_constraints, args.cal_image_dir, args.cal_data_file, args.cal_cache_file,
            args.batches, args.batch_size, args.max_batch_size, args.max_workspace_size, args.engine_file,
            args.gen_ds_config, args.force_ptq, args.verbose)
        return commands.export_command(net, options, **common)
    return commands.calibration_tensorfile_command(net, args.experiment_spec_file, args.output_path,
                                                   args.max_batches, use_validation_set=args.use_validation_set,
                                                   **common)


def _tao_run(args) -> int:
    command = build_tao_command(args)
    print(command.display(), flush=True)
    if args.dry_run:
        return 0
    return run_command(command)


# ---- spec get / set -------------------------------------------------------------------------------
def _register_spec(subparsers) -> None:
    spec = subparsers.add_parser("spec", help="read or edit a TAO experiment spec, keeping its comments")
    actions = spec.add_subparsers(dest="spec_command", metavar="ACTION", required=True)
    get = actions.add_parser("get", help="print the value(s) at a dotted path (e.g. training_config.num_epochs)")
    get.add_argument("file")
    get.add_argument("path", nargs="?", help="dotted path; name[INDEX] and name[FIELD=VALUE] select (omit: all)")
    get.add_argument("--json", action="store_true", help="print as JSON (messages as dicts of lists)")
    get.set_defaults(func=_spec_get)
    put = actions.add_parser("set", help="set the value at a dotted path (created if absent)")
    put.add_argument("file")
    put.add_argument("path")
    put.add_argument("value")
    put.add_argument("--type", choices=("str", "int", "float", "bool", "enum"),
                     help="value type (default: the existing field's type, else inferred)")
    put.add_argument("-o", "--output", help="write here instead of editing FILE in place")
    put.add_argument("--allow-new-field", action="store_true",
                     help="add a field that TAO's spec for this network does not have (default: an error "
                          "naming the closest field)")
    put.set_defaults(func=_spec_set)


def _plain(value):
    if isinstance(value, SpecMessage):
        return value.to_dict()
    return str(value) if isinstance(value, Enum) else value


def _spec_get(args) -> int:
    spec = load_spec(args.file)
    if not args.path:
        print(json.dumps(spec.to_dict(), indent=2))
        return 0
    values = spec.get_all(args.path)
    if not values:
        raise SpecError(f"{args.file}: no field at '{args.path}'")
    if args.json:
        print(json.dumps([_plain(v) for v in values], indent=2))
        return 0
    for value in values:
        text = json.dumps(value.to_dict()) if isinstance(value, SpecMessage) else _scalar_text(value)
        print(text)
    return 0


def _scalar_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def coerce_value(text: str, kind: str | None, existing=None):
    """The typed value for `spec set`: an explicit --type, else the existing field's type, else inferred."""
    if kind is None and existing is not None and not isinstance(existing, SpecMessage):
        kind = "enum" if isinstance(existing, Enum) else type(existing).__name__
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind == "enum":
            return Enum(text)
        if kind == "str":
            return text
    except ValueError:
        held = f" (the field holds {_scalar_text(existing)})" if existing is not None and \
            not isinstance(existing, SpecMessage) else ""
        wanted = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(kind, f"a {kind}")
        raise TaostreamError(f"value '{text}' is not a valid {kind}{held}; give {wanted}, or --type str to store "
                             "text") from None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text in ("true", "false"):
        return text == "true"
    return text


def new_field_warning(spec: SpecMessage, dotted_path: str, source: str, allow_new_field: bool) -> str | None:
    """None when ``dotted_path`` is in the spec or in TAO's definition of it; a warning when it is
    new and taostream cannot tell (or --allow-new-field says so); raises SpecError for a field TAO's
    spec does not have (a typo the trainer would reject or, in a map, ignore), naming the closest."""
    verdict = judge_field(spec, dotted_path)
    if verdict.known:
        return None
    hint = f"; did you mean {verdict.suggestion}?" if verdict.suggestion else ""
    if verdict.known is False:
        kinds = " or ".join(verdict.kinds)
        if not allow_new_field:
            raise SpecError(f"{source}: '{dotted_path}' is not a field of TAO's {kinds} spec{hint} "
                            "(--allow-new-field adds it anyway)")
        return f"'{dotted_path}' is not a field of TAO's {kinds} spec; added as a new field (--allow-new-field)"
    return f"'{dotted_path}' is not in the spec, so it is added as a new field ({verdict.why}){hint}"


def _spec_set(args) -> int:
    spec = load_spec(args.file)
    output = args.output or args.file
    warning = new_field_warning(spec, args.path, args.file, args.allow_new_field)
    check_output_file(output, force=True)
    try:
        value = coerce_value(args.value, args.type, spec.get(args.path))
    except TaostreamError as exc:  # name the file and field the value was for
        raise TaostreamError(f"{args.file}: {args.path}: {exc}") from None
    if warning:
        print(f"taostream: warning: {args.file}: {warning}", file=sys.stderr)
    spec.set(args.path, value)
    save_spec(spec, output, like=args.file)
    print(f"{output}: {args.path} = {_scalar_text(value) if not isinstance(value, Enum) else value}")
    return 0


# ---- azureml --------------------------------------------------------------------------------------
def _register_azureml(subparsers) -> None:
    azureml = subparsers.add_parser("azureml", help="run the AzureML component entry points locally")
    components = azureml.add_subparsers(dest="azureml_component", metavar="COMPONENT", required=True)
    train = components.add_parser("train", help="DetectNet_v2 train with spec path substitution")
    azureml_train.add_arguments(train)
    train.set_defaults(func=azureml_train.run)
    plain = components.add_parser("train-plain", help="DetectNet_v2 train, arguments passed through")
    azureml_train_plain.add_arguments(plain)
    plain.set_defaults(func=azureml_train_plain.run)
    export = components.add_parser("export", help="DetectNet_v2 export (output ready for taostream bundle)")
    azureml_export.add_arguments(export)
    export.set_defaults(func=azureml_export.run)


# ---- tao-mounts -----------------------------------------------------------------------------------
def _register_mounts(subparsers) -> None:
    parser = subparsers.add_parser("tao-mounts", help="write the TAO launcher's ~/.tao_mounts.json (mode 0600: "
                                   "readable by you only, as its --env values may be secrets)")
    parser.add_argument("--mount", action="append", default=[], metavar="LOCAL:CONTAINER", required=True)
    parser.add_argument("--env", action="append", default=[], metavar="VAR=VALUE",
                        help="an environment variable for the containers (the file is written 0600, owner only, "
                             "since values may be keys)")
    parser.add_argument("--gpu-index", help="sets CUDA_VISIBLE_DEVICES in the containers")
    parser.add_argument("--user", default=None, help="DockerOptions user (default: your uid:gid)")
    parser.add_argument("--no-user", action="store_true", help="leave DockerOptions out (run as root)")
    parser.add_argument("--launcher", choices=("tao", "tlt"), default="tao",
                        help="tao: ~/.tao_mounts.json (default); tlt: ~/.tlt_mounts.json (TLT 3.0)")
    parser.add_argument("-o", "--output", help="file to write (default: per --launcher)")
    parser.add_argument("--force", action="store_true", help="replace an existing, different file")
    parser.set_defaults(func=_tao_mounts)


def _tao_mounts(args) -> int:
    user = None if args.no_user else (args.user or mounts.default_user())
    config = mounts.build_mounts(args.mount, args.env, args.gpu_index, user)
    path = mounts.write_mounts_file(config, args.output or mounts.MOUNTS_FILES[args.launcher], args.force)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover - convenience for `python -m`
    parser = argparse.ArgumentParser(prog="taostream")
    register(parser.add_subparsers(dest="command"))
    parsed = parser.parse_args()
    sys.exit(parsed.func(parsed))
