"""labels.txt from a TAO experiment spec, following each network's own class-order rule.

Line k of labels.txt must name the class the model outputs as id k: DeepStream's TAO parsers pass the
model's class id straight through. Each network family orders its classes differently (FACTS.md
section 2, verified against TAO 5's source and NVIDIA's shipped label files); ``Network.label_rule``
in the registry names the rule.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from taostream.converter.errors import SpecError
from taostream.converter.fileio import check_input_file
from taostream.converter.label_file import label_file_text
from taostream.converter.registry import Network, get_network, spec_network_mismatch
from taostream.converter.wording import plural
from taostream.deepstream_configs.specs.access import as_spec_dict, load_spec_file, spec_value, spec_values

BACKGROUND = "background"
MASK_RCNN_BACKGROUND = "BG"


@dataclass
class Labels:
    """The label list in model-id order, plus warnings the user should see."""

    names: list[str]
    warnings: list[str] = field(default_factory=list)

    def text(self, network_type: int = 0) -> str:
        """labels.txt as nvinfer reads it (label_file_text)."""
        return label_file_text(self.names, network_type)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class LabelSources:
    """Files beside the spec that some rules need: classification's classmap.json, the COCO
    annotation json of MaskRCNN/EfficientDet (default: the path the spec names)."""

    classmap: str | os.PathLike | None = None
    coco_annotations: str | os.PathLike | None = None
    tlt2: bool = False  # TLT 2.0 SSD/DSSD/RetinaNet models had no background class
    class_count_hint: int | None = None  # from the model, used for placeholders when data is missing


def labels_for_network(network: str | Network, spec: Any = None, sources: LabelSources = LabelSources(),
                       source: str | None = None) -> Labels:
    """Labels for ``network`` from a parsed spec (SpecMessage or its ``to_dict()``); ``source`` names
    the spec in messages (default: the file the SpecMessage was read from)."""
    net = get_network(network) if isinstance(network, str) else network
    source = source or getattr(spec, "source", None) or "<spec>"
    rule = _RULES.get(net.label_rule)
    if rule is None:
        raise SpecError(f"network {net.name}: no label rule '{net.label_rule}' (registry label_rule)")
    values = as_spec_dict(spec)
    mismatch = spec_network_mismatch(net, values.keys(), source)
    if mismatch:
        raise SpecError(mismatch)
    return rule(values, sources, source)


def label_count_mismatch(names: list[str], classes, label_source: str, model_source: str,
                         tlt2: bool = False) -> str | None:
    """Why ``names`` cannot be the labels of a model whose graph outputs ``classes``
    (converter.model_classes.ModelClasses, or None when the graph does not say), or None."""
    if classes is None:
        return None
    if len(names) == classes.count:
        misplaced = misplaced_background_line(names, classes)
        return f"{label_source}: {misplaced}" if misplaced else None
    shown = ", ".join(name or "(blank)" for name in names[:6]) + (", ..." if len(names) > 6 else "")
    problem = (f"{label_source} gives {len(names)} label(s) ({shown}) but {model_source} outputs "
               f"{classes.count} class id(s): {classes.where}")
    blank = names.count("")
    if blank and len(names) - blank == classes.count:
        fix = (f"{blank} of its lines hold only spaces, tabs or the '\\r' of a Windows line end, and nvinfer "
               "counts such a line as a class (it skips only empty lines): delete the blank line(s)")
    elif tlt2 and classes.background_id == 0 and len(names) == classes.count - 1:
        fix = ("drop --tlt2-labels: the model keeps id 0 for background, so labels.txt needs the "
               "'background' line first")
    elif missing_background_line(names, classes):
        fix = background_line_fix(classes)
    else:
        fix = (f"give the label source the model was trained with (labels.txt needs {classes.count} line(s), "
               "line k naming class id k), or the model that goes with these labels")
    return f"{problem}; {fix}"


def missing_background_line(names: list[str], classes) -> bool:
    """The labels lack only the background line the model's class id 0 needs."""
    return (classes is not None and classes.background_id == 0 and len(names) == classes.count - 1
            and (not names or names[0].strip().lower() not in (BACKGROUND, MASK_RCNN_BACKGROUND.lower())))


def misplaced_background_line(names: list[str], classes) -> str | None:
    """Why ``names`` (as many as the model's class ids) put the background where the model does not keep it,
    or None: SSD-style labels (background first) on a FasterRCNN, whose background is its LAST id, shift every
    name by one."""
    if classes is None or classes.background_id is None or len(names) != classes.count:
        return None
    spellings = (BACKGROUND, MASK_RCNN_BACKGROUND.lower())
    lines = [k for k, name in enumerate(names) if name.strip().lower() in spellings]
    if not lines or classes.background_id in lines:
        return None
    if classes.background_id == classes.count - 1:
        where = "last (FasterRCNN: the classes sorted, then 'background')"
    elif classes.background_id == 0:
        where = "first (SSD, DSSD, RetinaNet: 'background', then the classes sorted; MaskRCNN: 'BG')"
    else:
        where = f"at line {classes.background_id + 1}"
    return (f"line {lines[0] + 1} names the background ('{names[lines[0]].strip()}') but the model keeps class id "
            f"{classes.background_id} for it ({classes.where}), so every name would be shifted: put that line {where}")


def background_line_fix(classes) -> str:
    """How to fix labels that lack the background line (missing_background_line)."""
    return (f"the model keeps class id 0 for the background, and its count of {classes.count} includes it (TAO's "
            f"MaskRCNN num_classes is the categories + 1), so line 1 of labels.txt names it: put "
            f"'{MASK_RCNN_BACKGROUND}' (MaskRCNN) or '{BACKGROUND}' (SSD, DSSD, RetinaNet) first, then the "
            f"{plural(classes.count - 1, 'class', 'classes')}")


def require_label_count(names: list[str], classes, label_source: str, model_source: str, tlt2: bool = False) -> None:
    """Raise SpecError when ``names`` and the model's class count disagree (see label_count_mismatch)."""
    mismatch = label_count_mismatch(names, classes, label_source, model_source, tlt2)
    if mismatch:
        raise SpecError(mismatch)


def labels_from_spec_file(spec_path: str | os.PathLike, network: str | Network,
                          sources: LabelSources = LabelSources()) -> Labels:
    return labels_for_network(network, load_spec_file(spec_path), sources, source=str(spec_path))


def deepstream_label_lines(text: str) -> list[tuple[int, str]]:
    """(line number, raw text) of each line nvinfer makes a class of. Its reader
    (InferPostprocessor::parseLabelsFile in DeepStream's open nvdsinfer source) reads with
    getline(..., '\\n') and skips only EMPTY lines: an empty line anywhere (a trailing one too) is no
    class, but a line of spaces, or the lone '\\r' a Windows editor leaves, is one."""
    return [(number, line) for number, line in enumerate(text.split("\n"), start=1) if line != ""]


UTF8_BOM = "\ufeff"


def read_label_text(path: str | os.PathLike) -> str:
    """The file's text with its line ends as they are (no universal-newline translation: DeepStream
    sees the '\\r' of Windows line ends)."""
    return Path(path).read_bytes().decode("utf-8", errors="replace")


def label_encoding_problem(path: str | os.PathLike) -> str | None:
    """Why the label file is not UTF-8 text (None when it is): Notepad's "Unicode" (UTF-16) or a legacy code
    page would turn the class names into NULs or U+FFFD in every file written from them."""
    data = Path(path).read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "is UTF-16 text (Notepad's 'Unicode'); save it as UTF-8"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return f"is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8"
    return None


def read_labels_file(path: str | os.PathLike) -> list[str]:
    """The class names of a DeepStream labels file, one per class id as nvinfer counts them
    (deepstream_label_lines), trimmed of spaces and '\\r'; a single ';'-separated line is the
    classifier format and is split. A UTF-8 byte-order mark (Windows editors save one) is no part of
    the first class name: names written from here (a bundle's labels.txt, KITTI files, evaluate's
    classes) are then the names the user typed (`check` warns that DeepStream itself keeps it)."""
    text = read_label_text(path).removeprefix(UTF8_BOM)
    names = [line.strip() for _, line in deepstream_label_lines(text)]
    if len(names) == 1 and ";" in names[0]:
        return [part for part in names[0].split(";") if part]
    return names


# -- rules ------------------------------------------------------------------------------------------


def _mapping_values(spec: dict, source: str) -> list[str]:
    values = [spec_value(entry, "value") for entry in spec_values(spec, "dataset_config.target_class_mapping")]
    values = [str(v) for v in values if v is not None]
    if not values:
        raise SpecError(
            f"{source}: dataset_config.target_class_mapping is missing or empty; add one "
            "target_class_mapping { key: \"<dataset class>\" value: \"<model class>\" } per class"
        )
    return values


def mixed_case_warning(values: list[str], source: str) -> list[str]:
    """TAO trains with lower-cased class names but its export/evaluation sorts them case-sensitively:
    with mixed case the two orders (or the class count) can disagree."""
    lowered = sorted({v.lower() for v in values})
    kept = sorted(set(values))
    if [v.lower() for v in kept] == lowered:
        return []
    return [
        f"{source}: target_class_mapping values mix upper and lower case ({', '.join(kept)}): TAO's "
        f"training order ({', '.join(lowered)}) and its export/evaluation order ({', '.join(kept)}) "
        "disagree; rename the classes in lower case and retrain, or check labels.txt against the "
        "model's class ids"
    ]


def _ssd_labels(spec: dict, sources: LabelSources, source: str) -> Labels:
    values = _mapping_values(spec, source)
    names = sorted({v.lower() for v in values})
    if not sources.tlt2:
        names = [BACKGROUND, *names]
    return Labels(names, mixed_case_warning(values, source))


def _uses_tfrecords(spec: dict) -> bool:
    return bool(spec_values(spec, "dataset_config.data_sources.tfrecords_path"))


def _yolo_labels(spec: dict, sources: LabelSources, source: str) -> Labels:
    values = _mapping_values(spec, source)
    # TAO's YOLO lower-cases on the KITTI label path but keeps case on the TFRecord path.
    names = sorted(set(values)) if _uses_tfrecords(spec) else sorted({v.lower() for v in values})
    return Labels(names, mixed_case_warning(values, source))


def _faster_rcnn_labels(spec: dict, sources: LabelSources, source: str) -> Labels:
    values = _mapping_values(spec, source)
    return Labels([*sorted(set(values)), BACKGROUND], mixed_case_warning(values, source))


def _detectnet_v2_labels(spec: dict, sources: LabelSources, source: str) -> Labels:
    names = [str(n) for n in spec_values(spec, "cost_function_config.target_classes.name")]
    if not names:
        raise SpecError(
            f"{source}: cost_function_config.target_classes is missing; DetectNet_v2 outputs its "
            "classes in that order: add one target_classes { name: \"<class>\" ... } per class "
            "(or give the TAO inference spec, or the model's labels.txt with bundle --labels)"
        )
    warnings = []
    mapping = [spec_value(e, "value") for e in spec_values(spec, "dataset_config.target_class_mapping")]
    missing = sorted({str(v) for v in mapping if v is not None} - set(names))
    if missing:
        warnings.append(
            f"{source}: target_class_mapping values {', '.join(missing)} have no "
            "cost_function_config.target_classes entry; the model does not output them"
        )
    return Labels(names, warnings)


def _read_json(path: str | os.PathLike, what: str, source: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the {what} ({exc.strerror}); {source} needs it") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: the {what} is not valid JSON ({exc.msg}, line {exc.lineno})") from None


def _coco_categories(spec: dict, sources: LabelSources, spec_field: str, source: str) -> dict[int, str] | None:
    if sources.coco_annotations is not None:  # given by the user: a wrong path is an error, not placeholders
        check_input_file(sources.coco_annotations, "--annotations", "the COCO annotation .json")
    path = sources.coco_annotations or spec_value(spec, spec_field)
    if not path or not Path(path).is_file():
        return None
    data = _read_json(path, "COCO annotation file", source)
    categories = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(categories, list):
        raise SpecError(f"{path}: no 'categories' list; give the COCO annotation json the model was trained on")
    return {int(c["id"]): str(c["name"]) for c in categories}


def _placeholder_warning(source: str, what: str, fix: str) -> str:
    return f"{source}: {what} not available: labels.txt holds placeholder names; {fix}"


def _mask_rcnn_labels(spec: dict, sources: LabelSources, source: str) -> Labels:
    num_classes = spec_value(spec, "data_config.num_classes")
    num_classes = int(num_classes) if num_classes is not None else sources.class_count_hint
    categories = _coco_categories(spec, sources, "data_config.val_json_file", source)
    if categories is None:
        if not num_classes:
            raise SpecError(f"{source}: data_config.num_classes is missing; set it (categories + 1 for BG)")
        names = [MASK_RCNN_BACKGROUND, *(f"class_{i}" for i in range(1, num_classes))]
        fix = "pass the COCO annotation json (--annotations) to name the classes"
        return Labels(names, [_placeholder_warning(source, "data_config.val_json_file", fix)])
    ids = sorted(categories)
    if ids != list(range(1, len(ids) + 1)):
        raise SpecError(
            f"{source}: MaskRCNN needs COCO category ids 1..N without gaps, the annotations have "
            f"{ids[:10]}...; renumber the categories (the model outputs id = position)"
        )
    names = [MASK_RCNN_BACKGROUND, *(categories[i] for i in ids)]
    warnings = []
    if num_classes and num_classes != len(names):
        warnings.append(
            f"{source}: data_config.num_classes is {num_classes} but the annotations have "
            f"{len(ids)} categories + BG = {len(names)}; set num_classes to {len(names)}"
        )
    return Labels(names, warnings)


def _efficientdet_labels(spec: dict, sources: LabelSources, source: str) -> Labels:
    # TF1 protobuf spec fields, else TAO 5 efficientdet_tf2's YAML ones
    json_field = "dataset_config.validation_json_file" if "dataset_config" in spec else "dataset.val_json_file"
    categories = _coco_categories(spec, sources, json_field, source)
    if categories is None:
        num_classes = spec_value(spec, "dataset_config.num_classes") or spec_value(spec, "dataset.num_classes")
        if num_classes:  # it counts the background id 0, which has no line
            names = [f"class_{i}" for i in range(1, int(num_classes))]
        elif sources.class_count_hint:  # the model's class ids: one line each
            names = [f"class_{i}" for i in range(1, sources.class_count_hint + 1)]
        else:
            raise SpecError(f"{source}: dataset_config.num_classes is missing; set it")
        fix = "pass the COCO annotation json (--annotations) to name the classes"
        return Labels(names, [_placeholder_warning(source, json_field, fix)])
    top = max(categories)
    names = [categories.get(i, f"unused_{i}") for i in range(1, top + 1)]
    return Labels(names)


def _classmap_labels(spec: dict, sources: LabelSources, source: str) -> Labels:
    # One rule for bundle and labels: a given --classmap must exist; without one, placeholder names
    # (with a warning) when the model's class count is known (bundle; labels --model), else an error.
    if sources.classmap is not None:
        check_input_file(sources.classmap, "--classmap", "the classmap.json of `tao classification train`")
    else:
        if sources.class_count_hint:
            names = [f"class_{i}" for i in range(sources.class_count_hint)]
            fix = "pass the classmap.json that `tao classification train` wrote (--classmap)"
            return Labels(names, [_placeholder_warning(source, "classmap.json", fix)])
        raise SpecError(
            f"{source}: classification labels come from classmap.json (written by `tao "
            "classification train` in its results folder); pass it with --classmap, or give the model "
            "(--model) for placeholder names class_0 .. class_N-1"
        )
    classmap = _read_json(sources.classmap, "classmap.json", source)
    if not isinstance(classmap, dict) or not all(isinstance(v, int) for v in classmap.values()):
        raise SpecError(f"{sources.classmap}: expected a JSON object of class name -> index")
    by_index = sorted(classmap.items(), key=lambda item: item[1])
    for position, (name, index) in enumerate(by_index):
        if index == position:
            continue
        run = f"indices must run 0..{len(by_index) - 1}, one per class"
        if position and index == by_index[position - 1][1]:
            raise SpecError(f"{sources.classmap}: classes '{by_index[position - 1][0]}' and '{name}' both have index "
                            f"{index}; {run}: use the classmap.json `tao classification train` wrote")
        raise SpecError(f"{sources.classmap}: '{name}' has index {index} but no class has index {position}; {run}: "
                        "use the classmap.json `tao classification train` wrote")
    return Labels([name for name, _ in by_index])


def _characters_labels(spec: dict, sources: LabelSources, source: str) -> Labels:
    """LPRNet: dataset_config.characters_list_file, one character per line (line k = character id k;
    the model's last class, id = the count, is the CTC blank and has no line)."""
    path = spec_value(spec, "dataset_config.characters_list_file")
    if not path:
        raise SpecError(f"{source}: dataset_config.characters_list_file is missing; LPRNet's labels are the "
                        "character list the model was trained with: set it to that file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{source}: dataset_config.characters_list_file {path}: cannot read it ({exc.strerror}); "
                        "point it at the character list the model was trained with") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise SpecError(f"{path}: no characters (one per line expected); give the model's character list")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SpecError(f"{path}: {', '.join(repeated)} listed more than once; each character needs one line")
    return Labels(names)


_RULES: dict[str, Callable[[dict, LabelSources, str], Labels]] = {
    "detectnet_v2": _detectnet_v2_labels,
    "ssd": _ssd_labels,
    "yolo": _yolo_labels,
    "faster_rcnn": _faster_rcnn_labels,
    "mask_rcnn": _mask_rcnn_labels,
    "efficientdet": _efficientdet_labels,
    "classmap": _classmap_labels,
    "characters": _characters_labels,
}
