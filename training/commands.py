"""Command lines for the TAO/TLT tasks, in every launcher style, for every network of the registry.

Styles (how the same task is spelled by each generation of the toolkit):

========= ==================================================== =====================================
style     example                                              source
========= ==================================================== =====================================
tlt2      ``tlt-train detectnet_v2 -e spec -r out -k KEY``     TLT 2.0 guide, chapters 6-12
tlt3      ``tlt faster_rcnn train --gpu_index 0 -e spec``      TLT 3.0 launcher (FasterRCNN readme)
tao       ``tao detectnet_v2 train -e spec -r out -k KEY``     TAO 3.x launcher (AzureML seed pages)
tao4      ``tao classification_tf1 train ...``                 TAO 4.0 launcher
tao5      ``tao model detectnet_v2 train -e spec ...``         TAO 5 launcher (task group ``model``)
container ``detectnet_v2 train -e spec ...``                   inside a TAO 3.x container (AzureML)
========= ==================================================== =====================================

TAO 4.0 renamed classification and EfficientDet to ``classification_tf1`` / ``efficientdet_tf1`` and
moved INT8 calibration and TensorRT engine generation out of ``export`` into TAO Deploy (TAO 4.0
migration guide); TAO 5's export still parses those options (hidden), so they are passed with a
warning. TAO 5 inference and evaluate write into ``-r`` (results folder) and have no ``-o``/``-l``.

Per-task and per-network differences come from the TLT 2.0 guide, the TAO docs and the TAO 5 TF1
sources: FasterRCNN's train/evaluate/inference take the spec and an optional key (``-k/--enc_key``;
TAO 5 adds ``-r``/``-m``), MaskRCNN
trains into ``-d`` (model_dir), ``-n`` means model name for DetectNet_v2's train but normalizer for
prune, TLT 2.0 has no --gpu_index/--use_amp/--log_file flags (AMP there is the environment variable
TF_ENABLE_AUTO_MIXED_PRECISION=1, GPU choice CUDA_VISIBLE_DEVICES), and ``tlt-prune`` /
``tlt-dataset-convert`` take no network argument.

A command carries the key as a secret: ``display()`` masks it; only ``argv`` holds it.
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from taostream.converter.errors import TaostreamError
from taostream.converter.registry import get_network

log = logging.getLogger(__name__)

STYLES = ("tlt2", "tlt3", "tao", "tao4", "tao5", "container")
NEW_TAO_STYLES = ("tao4", "tao5")  # TAO 4.0+: *_tf1 names; export calibration/engine options deprecated
DEFAULT_STYLE = "tao"
TASKS = ("dataset_convert", "train", "evaluate", "inference", "prune", "export", "calibration_tensorfile")
KEY_MASK = "********"

# TLT 2.0 executables, and whether each takes the network as its first argument.
_TLT2_TOOLS = {
    "dataset_convert": ("tlt-dataset-convert", False),
    "train": ("tlt-train", True),
    "evaluate": ("tlt-evaluate", True),
    "inference": ("tlt-infer", True),
    "prune": ("tlt-prune", False),
    "export": ("tlt-export", True),
    "calibration_tensorfile": ("tlt-int8-tensorfile", True),
}

# Launcher task names that differ from the registry's canonical name, per style family.
_TLT2_NAMES = {"yolo_v3": "yolo"}  # TLT 2.0 called YOLOv3 `yolo`
_TLT2_NETWORKS = {"classification", "detectnet_v2", "faster_rcnn", "ssd", "dssd", "retinanet", "yolo_v3",
                  "mask_rcnn"}
_TLT3_NETWORKS = _TLT2_NETWORKS | {"yolo_v4"}
_TAO_NAMES = {"classification": "classification_tf1", "efficientdet": "efficientdet_tf1"}
# Spellings that name their own TAO task although the registry folds them into another network.
_TAO_DISTINCT_TASKS = {"yolo_v4_tiny", "classification_tf1", "classification_tf2", "efficientdet_tf1",
                       "efficientdet_tf2", "multitask_classification"}

# Which networks each task exists for (TLT 2.0 guide chapter 12: calibration tensorfiles only for
# classification, DetectNet_v2, SSD and DSSD; dataset_convert for the KITTI/TFRecord detectors).
_TASK_NETWORKS = {
    "dataset_convert": {"detectnet_v2", "faster_rcnn", "ssd", "dssd", "retinanet", "yolo_v3", "yolo_v4",
                        "mask_rcnn", "efficientdet"},
    "calibration_tensorfile": {"classification", "detectnet_v2", "ssd", "dssd"},
}
# Export needs the experiment spec for these (TAO export docs).
_EXPORT_SPEC_REQUIRED = {"faster_rcnn", "ssd", "dssd", "yolo_v3", "yolo_v4", "retinanet", "efficientdet"}


class TaoCommandError(TaostreamError):
    """A TAO/TLT command cannot be built from the given options."""


@dataclass
class TaoCommand:
    """One command: the argv to execute, extra environment, and the secrets to mask."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    network: str = ""
    task: str = ""
    style: str = DEFAULT_STYLE

    def display(self) -> str:
        """The shell-quoted command line with every secret replaced by a mask."""
        words = [KEY_MASK if word in self.secrets else mask_secrets(word, self.secrets) for word in self.argv]
        prefix = [f"{name}={shlex.quote(value)}" for name, value in sorted(self.env.items())]
        return " ".join(prefix + [shlex.quote(word) for word in words])

    def __str__(self) -> str:
        return self.display()

    def __repr__(self) -> str:
        return f"TaoCommand({self.display()!r})"


def mask_secrets(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """Replace each secret in ``text`` by a mask: as a substring when it is long enough to be
    unambiguous (4+ characters), otherwise only where it stands as a whole word."""
    for secret in secrets:
        if not secret:
            continue
        if len(secret) >= 4:
            text = text.replace(secret, KEY_MASK)
        else:
            text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", KEY_MASK, text)
    return text


# ---- naming ---------------------------------------------------------------------------------------
def launcher_task_name(network: str, style: str) -> str:
    """The network's name on the command line in this style (``yolo`` in TLT 2.0, ``yolo_v3`` later)."""
    _check_style(style)
    spelling = network.strip().lower().replace("-", "_")
    if spelling == "yolo":
        spelling = "yolo_v3"
    canonical = get_network(spelling).name
    if style == "tlt2":
        if canonical not in _TLT2_NETWORKS:
            raise TaoCommandError(f"network '{network}' did not exist in TLT 2.0; use --style tao or tao5")
        return _TLT2_NAMES.get(canonical, canonical)
    if style == "tlt3":
        if canonical not in _TLT3_NETWORKS:
            raise TaoCommandError(f"network '{network}' is not in the TLT 3.0 launcher; use --style tao or tao5")
        return "yolo_v4_tiny" if spelling == "yolo_v4_tiny" else canonical
    if spelling in _TAO_DISTINCT_TASKS:
        return spelling
    return _TAO_NAMES.get(canonical, canonical) if style in NEW_TAO_STYLES else canonical


def canonical_network(network: str) -> str:
    """The registry's name for a network, accepting TLT 2.0's `yolo` for YOLOv3 as well."""
    return get_network("yolo_v3" if network.strip().lower() == "yolo" else network).name


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise TaoCommandError(f"unknown command style '{style}': use one of {', '.join(STYLES)}")


def _prefix(task: str, network: str, style: str) -> list[str]:
    name = launcher_task_name(network, style)
    if style == "tlt2":
        tool, takes_network = _TLT2_TOOLS[task]
        return [tool, name] if takes_network else [tool]
    launcher = {"tlt3": ["tlt"], "tao": ["tao"], "tao4": ["tao"], "tao5": ["tao", "model"], "container": []}[style]
    return [*launcher, name, task]


# ---- common options -------------------------------------------------------------------------------
@dataclass
class LaunchOptions:
    """Options every TAO task accepts through its entrypoint (--gpus only for train in TLT 2.0)."""

    gpus: int | None = None
    gpu_index: str | None = None  # "0" or "0,1"
    use_amp: bool = False
    log_file: str | None = None


def gpu_indices(gpu_index: str | int | list | None) -> list[str]:
    """``"0,1"``, ``"0 1"``, ``1`` or ``[0, 1]`` -> ``["0", "1"]``; a shell variable (``$GPU_INDEX``) is
    passed through for the shell to expand."""
    if gpu_index is None or gpu_index == "":
        return []
    items = gpu_index if isinstance(gpu_index, (list, tuple)) else re.split(r"[,\s]+", str(gpu_index).strip())
    indices = [str(item).strip() for item in items if str(item).strip()]
    for index in indices:
        if not (index.isdigit() or index.startswith("$")):
            raise TaoCommandError(f"--gpu_index '{gpu_index}': GPU indices are whole numbers such as 0 or 0,1")
    return indices


def _launch_flags(task: str, style: str, launch: LaunchOptions, command: TaoCommand) -> tuple[list, list]:
    """(flags placed before the task's own options, flags placed after them)."""
    indices = gpu_indices(launch.gpu_index)
    if style == "tlt2":
        return [], _tlt2_launch(task, launch, indices, command)
    # The TAO entrypoint (nvidia_tao_tf1 cv/common/entrypoint): --gpu_index takes one int per GPU
    # (nargs="+"), their count must equal --gpus (default 1), and only train may use several GPUs
    # or AMP.
    gpus = launch.gpus if launch.gpus is not None else 1
    if gpus < 1:
        raise TaoCommandError(f"--gpus {gpus}: at least one GPU is needed")
    if task != "train" and (gpus > 1 or launch.use_amp):
        raise TaoCommandError(f"{task} runs on one GPU without AMP: only train takes --gpus > 1 or --use_amp")
    literal = [i for i in indices if not i.startswith("$")]
    if literal and len(literal) == len(indices) and len(indices) != gpus:
        raise TaoCommandError(f"--gpu_index names {len(indices)} GPU(s) but --gpus is {gpus}: give as many "
                              "indices as GPUs")
    before = ["--gpu_index", *indices] if indices else []
    after: list[str] = []
    if launch.gpus is not None:
        after += ["--gpus", str(launch.gpus)]
    if launch.use_amp:
        after.append("--use_amp")
    if launch.log_file:
        after += ["--log_file", str(launch.log_file)]
    return before, after


def _tlt2_launch(task: str, launch: LaunchOptions, indices: list[str], command: TaoCommand) -> list[str]:
    """TLT 2.0 has only --gpus (tlt-train); the GPU choice and AMP are environment variables."""
    if indices:
        command.env["CUDA_VISIBLE_DEVICES"] = ",".join(indices)
    if launch.use_amp:
        command.env["TF_ENABLE_AUTO_MIXED_PRECISION"] = "1"  # TLT 2.0 guide section 8.2
    if launch.log_file:
        raise TaoCommandError("TLT 2.0 tools have no --log_file option; redirect the output instead")
    if launch.gpus is None:
        return []
    if task != "train":
        raise TaoCommandError(f"TLT 2.0 {task} has no --gpus option (only tlt-train has)")
    return ["--gpus", str(launch.gpus)]


def _add(argv: list[str], flag: str, value: Any) -> None:
    """Append ``flag value`` when a value is given (booleans: the bare flag when true)."""
    if value is None or value is False or value == "":
        return
    if value is True:
        argv.append(flag)
    elif isinstance(value, (list, tuple)):
        argv.append(flag)
        argv.extend(str(v) for v in value)
    else:
        argv += [flag, str(value)]


def _build(task: str, network: str, style: str, launch: LaunchOptions | None, key: str | None,
           body: list[str]) -> TaoCommand:
    _check_style(style)
    canonical = canonical_network(network)
    allowed = _TASK_NETWORKS.get(task)
    if allowed is not None and canonical not in allowed:
        raise TaoCommandError(f"TAO has no {task} task for {canonical}")
    command = TaoCommand([], secrets=(key,) if key else (), network=canonical, task=task, style=style)
    before, after = _launch_flags(task, style, launch or LaunchOptions(), command)
    command.argv = [*_prefix(task, network, style), *before, *body, *after]
    return command


def _require(value: Any, what: str, flag: str, task: str, network: str) -> None:
    if value is None or value == "":
        raise TaoCommandError(f"{network} {task} needs {what} ({flag})")


# ---- the tasks ------------------------------------------------------------------------------------
def dataset_convert_command(network: str, dataset_spec: str, output: str, *, validation_fold: int | None = None,
                            style: str = DEFAULT_STYLE, launch: LaunchOptions | None = None) -> TaoCommand:
    """``dataset_convert -d SPEC -o OUTPUT [-f FOLD]`` (TLT 2.0: ``tlt-dataset-convert``)."""
    _require(dataset_spec, "the dataset conversion spec", "-d", "dataset_convert", network)
    _require(output, "the output TFRecords path", "-o", "dataset_convert", network)
    body = ["-d", str(dataset_spec), "-o", str(output)]
    _add(body, "-f", validation_fold)
    return _build("dataset_convert", network, style, launch, None, body)


def train_command(network: str, spec: str, *, results_dir: str | None = None, key: str | None = None,
                  model_name: str | None = None, resume_model: str | None = None,
                  initial_epoch: int | None = None, style: str = DEFAULT_STYLE,
                  launch: LaunchOptions | None = None) -> TaoCommand:
    """``train -e SPEC -r RESULTS -k KEY [-n NAME]``, with each network's own spelling."""
    canonical = canonical_network(network)
    _require(spec, "the experiment spec", "-e", "train", canonical)
    body = ["-e", str(spec)]
    if canonical == "faster_rcnn":
        # TLT 2.0: results go where the spec says; later launchers accept -r.
        if results_dir and style == "tlt2":
            raise TaoCommandError("TLT 2.0 faster_rcnn train takes no results folder: set it in the spec")
        _add(body, "-r", results_dir)
    elif canonical == "mask_rcnn":
        _require(results_dir, "a results folder", "-d", "train", canonical)
        _add(body, "-d", results_dir)
    else:
        _require(results_dir, "a results folder", "-r", "train", canonical)
        _add(body, "-r", results_dir)
    if canonical != "faster_rcnn":
        _require(key, "the model key", "-k", "train", canonical)
    _add(body, "-k", key)
    if model_name:
        if canonical != "detectnet_v2":
            raise TaoCommandError(f"{canonical} train has no -n/--model_name option (only detectnet_v2 has)")
        _add(body, "-n", model_name)
    if resume_model or initial_epoch is not None:
        if canonical not in ("ssd", "dssd", "retinanet", "yolo_v3", "yolo_v4"):
            raise TaoCommandError(f"{canonical} train has no -m/--initial_epoch resume options")
        _add(body, "-m", resume_model)
        _add(body, "--initial_epoch", initial_epoch)
    return _build("train", network, style, launch, key, body)


def evaluate_command(network: str, spec: str, *, model: str | None = None, key: str | None = None,
                     framework: str | None = None, use_training_set: bool = False,
                     results_dir: str | None = None, style: str = DEFAULT_STYLE,
                     launch: LaunchOptions | None = None) -> TaoCommand:
    """``evaluate -e SPEC -m MODEL -k KEY`` (FasterRCNN before TAO 5: the model comes from the spec)."""
    canonical = canonical_network(network)
    _require(spec, "the experiment spec", "-e", "evaluate", canonical)
    body = ["-e", str(spec)]
    if canonical == "faster_rcnn" and style != "tao5":
        if model:
            raise TaoCommandError("faster_rcnn evaluate reads the model from the spec (evaluation_config) "
                                  "before TAO 5; do not pass -m, or use --style tao5")
    elif canonical not in ("classification", "faster_rcnn"):
        _require(model, "the model to evaluate", "-m", "evaluate", canonical)
        _add(body, "-m", model)
    else:
        _add(body, "-m", model)
    if results_dir:
        if style != "tao5":
            raise TaoCommandError("evaluate takes a results folder (-r) from TAO 5 on; use --style tao5")
        _add(body, "-r", results_dir)
    _add(body, "-k", key)
    if framework or use_training_set:
        if canonical != "detectnet_v2":
            raise TaoCommandError(f"{canonical} evaluate has no -f/--use_training_set options")
        _add(body, "-f", framework)
        _add(body, "--use_training_set", use_training_set)
    return _build("evaluate", network, style, launch, key, body)


@dataclass
class InferenceOptions:
    """Inputs of the inference task; which ones a network takes differs (TLT 2.0 guide ch. 10)."""

    spec: str | None = None
    input: str | None = None  # image or folder
    output: str | None = None
    model: str | None = None
    key: str | None = None
    label_output: str | None = None  # -l
    threshold: float | None = None  # -t
    batch_size: int | None = None  # -b
    class_map: str | None = None  # classification -cm
    include_mask: bool = False  # mask_rcnn


def inference_command(network: str, options: InferenceOptions, *, style: str = DEFAULT_STYLE,
                      launch: LaunchOptions | None = None) -> TaoCommand:
    canonical = canonical_network(network)
    if style == "tao5":
        body = _inference_body_tao5(canonical, options)
    else:
        body = _inference_body_legacy(canonical, options)
    return _build("inference", network, style, launch, options.key, body)


def _inference_body_tao5(canonical: str, o: InferenceOptions) -> list[str]:
    """TAO 5 (nvidia_tao_tf1 scripts/inference.py): every network writes into -r (results folder);
    there is no -o/-l; FasterRCNN accepts -m."""
    if o.label_output:
        raise TaoCommandError("TAO 5 inference has no -l: labels are written under the results folder (-r)")
    _require(o.output, "a results folder", "-r", "inference", canonical)
    if canonical == "faster_rcnn":  # -e -m -r -k only
        _require(o.spec, "the experiment spec", "-e", "inference", canonical)
        body = ["-e", str(o.spec)]
        _add(body, "-m", o.model)
    else:
        _require(o.input, "input images", "-i", "inference", canonical)
        if canonical != "detectnet_v2":  # DetectNet_v2 falls back to the model in the spec
            _require(o.model, "the model", "-m", "inference", canonical)
        body = []
        _add(body, "-e", o.spec)
        _add(body, "-m", o.model)
        body += ["-d" if canonical == "classification" and not _looks_like_file(o.input) else "-i", str(o.input)]
        if canonical == "classification":
            _require(o.class_map, "the classmap.json from training", "-cm", "inference", canonical)
            _add(body, "-cm", o.class_map)
        if canonical == "mask_rcnn":
            _add(body, "-c", o.class_map)
            _add(body, "--include_mask", o.include_mask)
        if canonical not in ("detectnet_v2", "classification"):
            _add(body, "-t", o.threshold)
        if canonical != "mask_rcnn":
            _add(body, "-b", o.batch_size)
    body += ["-r", str(o.output)]
    _add(body, "-k", o.key)
    return body


def _inference_body_legacy(canonical: str, o: InferenceOptions) -> list[str]:
    """TLT 2.0 guide chapter 10 (and the TLT 3 / TAO 3-4 launchers, UNVERIFIED there)."""
    body: list[str] = []
    if canonical == "faster_rcnn":  # everything else comes from inference_config in the spec
        _require(o.spec, "the experiment spec", "-e", "inference", canonical)
        body = ["-e", str(o.spec)]
        _add(body, "-k", o.key)
    elif canonical == "classification":
        _require(o.model, "the model", "-m", "inference", canonical)
        _require(o.input, "an image or image folder", "-i/-d", "inference", canonical)
        _require(o.class_map, "the classmap.json from training", "-cm", "inference", canonical)
        body = ["-m", str(o.model), "-d" if not _looks_like_file(o.input) else "-i", str(o.input)]
        _add(body, "-b", o.batch_size)
        _add(body, "-k", o.key)
        _add(body, "-cm", o.class_map)
        if o.spec:
            _add(body, "-e", o.spec)
    elif canonical == "detectnet_v2":
        for value, what, flag in ((o.spec, "the inference spec", "-e"), (o.input, "input images", "-i"),
                                  (o.output, "an output folder", "-o")):
            _require(value, what, flag, "inference", canonical)
        body = ["-e", str(o.spec), "-i", str(o.input), "-o", str(o.output)]
        _add(body, "-k", o.key)
    else:
        for value, what, flag in ((o.input, "input images", "-i"), (o.output, "an output folder", "-o"),
                                  (o.spec, "the experiment spec", "-e"), (o.model, "the model", "-m")):
            _require(value, what, flag, "inference", canonical)
        body = ["-i", str(o.input), "-o", str(o.output), "-e", str(o.spec), "-m", str(o.model)]
        _add(body, "-l", o.label_output)
        if canonical == "mask_rcnn":
            _add(body, "-b", o.batch_size)
        _add(body, "-t", o.threshold)
        if canonical == "mask_rcnn":
            _add(body, "--include_mask", o.include_mask)
        _add(body, "-k", o.key)
    return body


def _looks_like_file(path: str) -> bool:
    return path.lower().endswith((".jpg", ".jpeg", ".png"))


@dataclass
class PruneOptions:
    model: str
    output: str
    key: str
    normalizer: str | None = None  # -n: max | L2
    equalization_criterion: str | None = None  # -eq
    pruning_granularity: int | None = None  # -pg
    pruning_threshold: float | None = None  # -pth
    min_num_filters: int | None = None  # -nf
    excluded_layers: list[str] | None = None  # -el


def prune_command(network: str, options: PruneOptions, *, style: str = DEFAULT_STYLE,
                  launch: LaunchOptions | None = None) -> TaoCommand:
    """``prune -m MODEL -o OUT [-n ..] -eq .. -pth .. -k KEY`` (TLT 2.0: ``tlt-prune``, no network)."""
    canonical = canonical_network(network)
    if canonical == "mask_rcnn" and style == "tlt2":
        raise TaoCommandError("tlt-prune does not support MaskRCNN in TLT 2.0 (TLT 2.0 guide chapter 11)")
    o = options
    _require(o.model, "the model to prune", "-m", "prune", canonical)
    _require(o.output, "the output model path", "-o", "prune", canonical)
    _require(o.key, "the model key", "-k", "prune", canonical)
    body = ["-m", str(o.model), "-o", str(o.output)]
    _add(body, "-n", o.normalizer)
    _add(body, "-eq", o.equalization_criterion)
    _add(body, "-pg", o.pruning_granularity)
    _add(body, "-pth", o.pruning_threshold)
    _add(body, "-nf", o.min_num_filters)
    _add(body, "-el", o.excluded_layers)
    _add(body, "-k", o.key)
    return _build("prune", network, style, launch, o.key, body)


@dataclass
class ExportOptions:
    """The export task's options (TLT 2.0 guide chapter 12, the AzureML export component)."""

    model: str
    key: str
    output_file: str | None = None
    experiment_spec: str | None = None
    data_type: str | None = None  # fp32 | fp16 | int8
    strict_type_constraints: bool = False  # -s
    cal_image_dir: str | None = None
    cal_data_file: str | None = None
    cal_cache_file: str | None = None
    batches: int | None = None
    batch_size: int | None = None
    max_batch_size: int | None = None
    max_workspace_size: int | None = None
    engine_file: str | None = None
    gen_ds_config: bool = False
    force_ptq: bool = False
    verbose: bool = False


def export_command(network: str, options: ExportOptions, *, style: str = DEFAULT_STYLE,
                   launch: LaunchOptions | None = None) -> TaoCommand:
    canonical = canonical_network(network)
    o = options
    _require(o.model, "the trained .tlt/.hdf5 model", "-m", "export", canonical)
    _require(o.key, "the model key", "-k", "export", canonical)
    if canonical in _EXPORT_SPEC_REQUIRED:
        _require(o.experiment_spec, "the experiment spec", "-e", "export", canonical)
    if o.data_type is not None and o.data_type not in ("fp32", "fp16", "int8"):
        raise TaoCommandError(f"--data_type '{o.data_type}' is not one of fp32, fp16, int8")
    if o.data_type == "int8" and not (o.cal_image_dir or o.cal_data_file or o.experiment_spec):
        raise TaoCommandError(
            "int8 export needs calibration data: --cal_image_dir, --cal_data_file (a tensorfile from "
            "calibration_tensorfile) or -e with the training spec (data-loader calibration)")
    deploy_only = [flag for flag, value in (
        ("--data_type", o.data_type), ("-s", o.strict_type_constraints), ("--cal_image_dir", o.cal_image_dir),
        ("--cal_data_file", o.cal_data_file), ("--cal_cache_file", o.cal_cache_file), ("--batches", o.batches),
        ("--batch_size", o.batch_size), ("--max_batch_size", o.max_batch_size),
        ("--max_workspace_size", o.max_workspace_size), ("--engine_file", o.engine_file),
        ("--force_ptq", o.force_ptq)) if value not in (None, False, "")]
    if deploy_only and style in NEW_TAO_STYLES:
        # TAO 5's export parser still accepts these (hidden from --help) but TAO 4.0 moved INT8
        # calibration and engine building to TAO Deploy: say so, pass them on.
        log.warning("TAO 4.0+ export hides %s: INT8 calibration and engines belong to TAO Deploy "
                    "(`tao deploy %s gen_trt_engine`) or `taostream convert`", ", ".join(deploy_only),
                    launcher_task_name(network, style))
    if style == "tao5" and o.output_file and "onnx" not in o.output_file:
        log.warning("TAO 5 exports ONNX and appends .onnx to an output name without it: %s becomes %s.onnx",
                    o.output_file, o.output_file)
    if o.gen_ds_config and style == "tlt2":
        raise TaoCommandError("TLT 2.0 tlt-export has no --gen_ds_config option; use --style tao")
    body = ["-m", str(o.model)]
    _add(body, "-o", o.output_file)
    _add(body, "-e", o.experiment_spec)
    _add(body, "-k", o.key)
    _add(body, "--cal_image_dir", o.cal_image_dir)
    _add(body, "--data_type", o.data_type)
    _add(body, "-s", o.strict_type_constraints)
    _add(body, "--batch_size", o.batch_size)
    _add(body, "--batches", o.batches)
    _add(body, "--max_batch_size", o.max_batch_size)
    _add(body, "--max_workspace_size", o.max_workspace_size)
    _add(body, "--cal_data_file", o.cal_data_file)
    _add(body, "--cal_cache_file", o.cal_cache_file)
    _add(body, "--engine_file", o.engine_file)
    _add(body, "--gen_ds_config", o.gen_ds_config)
    _add(body, "--force_ptq", o.force_ptq)
    _add(body, "--verbose", o.verbose)
    return _build("export", network, style, launch, o.key, body)


def calibration_tensorfile_command(network: str, spec: str, output_path: str, max_batches: int, *,
                                   use_validation_set: bool = False, style: str = DEFAULT_STYLE,
                                   launch: LaunchOptions | None = None) -> TaoCommand:
    """``calibration_tensorfile -e SPEC -m MAX_BATCHES -o OUT`` (TLT 2.0: ``tlt-int8-tensorfile``)."""
    _require(spec, "the training experiment spec", "-e", "calibration_tensorfile", network)
    _require(output_path, "the output tensorfile", "-o", "calibration_tensorfile", network)
    if max_batches is None or int(max_batches) <= 0:
        raise TaoCommandError(f"calibration_tensorfile needs a positive -m/--max_batches (got {max_batches})")
    body = ["-e", str(spec), "-m", str(int(max_batches)), "-o", str(output_path)]
    _add(body, "--use_validation_set", use_validation_set)
    return _build("calibration_tensorfile", network, style, launch, None, body)
