"""Check a KITTI detection dataset before TAO sees it (TLT 2.0 guide section 6.2).

Layout: ``DIR/images/<id>.(jpg|jpeg|png)`` and ``DIR/labels/<id>.txt`` with the same ids, and an
optional sequence map (``kitti_seq_to_map.json``: ``{"sequence": ["frame id", ...]}``).

Each label line has 15 fields: class, truncation, occlusion (integer 0-3), alpha, xmin ymin xmax
ymax, height width length, x y z, rotation_y; all but the class numeric. Boxes must lie inside the
image with xmin < xmax and ymin < ymax. All images must have one size (TAO's detectors neither
resize nor accept mixed resolutions). Network constraints (``--network``): DetectNet_v2 needs
C in {1, 3}, W >= 480, H >= 272, W and H multiples of 16. dataset_convert lower-cases class names,
so names differing only in case merge and the spec must use the lower-case form.

Every problem is reported with its file and, for labels, its line. KITTI's own ``DontCare``
regions (truncation/occlusion -1) are counted apart and exempt from the range checks.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import check_input_file
from taostream.converter.registry import get_network
from taostream.converter.tao_spec import load_spec
from taostream.training.image_headers import ImageHeaderError, read_image_info
from taostream.converter.wording import plural

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
KITTI_FIELDS = 15
FIELD_NAMES = ("class", "truncation", "occlusion", "alpha", "xmin", "ymin", "xmax", "ymax",
               "height", "width", "length", "x", "y", "z", "rotation_y")
DONTCARE = "dontcare"
SEQUENCE_MAP_NAME = "kitti_seq_to_map.json"


@dataclass(frozen=True)
class InputConstraint:
    min_width: int = 0
    min_height: int = 0
    multiple_of: int = 1
    channels: tuple[int, ...] = ()
    source: str = ""


# Per-network image constraints as the TAO docs state them (DetectNet_v2: the AzureML train page
# and the TAO DetectNet_v2 docs: "C * W * H (C = 1 or 3, W >= 480, H >= 272, multiples of 16)").
INPUT_CONSTRAINTS = {
    "detectnet_v2": InputConstraint(480, 272, 16, (1, 3), "TAO DetectNet_v2 input requirement"),
}


@dataclass(frozen=True)
class Issue:
    path: str  # relative to the dataset root
    message: str
    line: int | None = None
    field: str | None = None
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"


@dataclass
class DatasetReport:
    root: str
    network: str | None = None
    images: int = 0
    labels: int = 0
    objects: int = 0
    dontcare: int = 0
    class_counts: Counter = field(default_factory=Counter)
    image_sizes: Counter = field(default_factory=Counter)  # (width, height) -> images
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, path: str, message: str, line: int | None = None, field_name: str | None = None) -> None:
        self.issues.append(Issue(path, message, line, field_name, "error"))

    def warn(self, path: str, message: str, line: int | None = None, field_name: str | None = None) -> None:
        self.issues.append(Issue(path, message, line, field_name, "warning"))

    def to_dict(self) -> dict:
        return {
            "root": self.root, "network": self.network, "ok": self.ok, "images": self.images,
            "labels": self.labels, "objects": self.objects, "dontcare": self.dontcare,
            "class_counts": dict(sorted(self.class_counts.items())),
            "image_sizes": {f"{w}x{h}": n for (w, h), n in self.image_sizes.most_common()},
            "errors": [_issue_dict(i) for i in self.errors],
            "warnings": [_issue_dict(i) for i in self.warnings],
        }

    def format_text(self, max_issues: int = 200) -> str:
        lines = [f"{self.root}: {plural(self.images, 'image')}, {plural(self.labels, 'label file')}, "
                 f"{plural(self.objects, 'object')}"
                 + (f" (+{self.dontcare} DontCare)" if self.dontcare else "")]
        if self.image_sizes:
            sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in self.image_sizes.most_common(5))
            lines.append(f"image sizes: {sizes}")
        lines.append("objects per class:")
        lines += [f"  {name}: {count}" for name, count in sorted(self.class_counts.items())]
        shown = self.issues[:max_issues]
        lines += [str(issue) for issue in shown]
        if len(self.issues) > len(shown):
            lines.append(f"... {plural(len(self.issues) - len(shown), 'more issue')} (use --json for all)")
        lines.append(f"{plural(len(self.errors), 'error')}, {plural(len(self.warnings), 'warning')}")
        return "\n".join(lines)


def _issue_dict(issue: Issue) -> dict:
    return {"file": issue.path, "line": issue.line, "field": issue.field, "message": issue.message}


class DatasetLayoutError(TaostreamError):
    """The dataset folder itself is unusable (missing, or without images/ and labels/)."""


# ---- the check ------------------------------------------------------------------------------------
def check_kitti_dataset(root: str | os.PathLike, network: str | None = None,
                        sequence_map: str | os.PathLike | None = None,
                        image_dir: str = "images", label_dir: str = "labels",
                        spec: str | os.PathLike | None = None) -> DatasetReport:
    root = os.fspath(root)
    canonical = get_network(network).name if network else None
    report = DatasetReport(root=root, network=canonical)
    images_path, labels_path = os.path.join(root, image_dir), os.path.join(root, label_dir)
    if os.path.isfile(root):
        raise DatasetLayoutError(f"{root}: is a file, not a dataset folder; give the folder holding {image_dir}/ and "
                                 f"{label_dir}/")
    if not os.path.isdir(root):
        raise DatasetLayoutError(f"{root}: no such dataset folder")
    for path, name in ((images_path, image_dir), (labels_path, label_dir)):
        if not os.path.isdir(path):
            raise DatasetLayoutError(f"{root}: no '{name}/' folder; a KITTI dataset has {image_dir}/ and "
                                     f"{label_dir}/ with matching file names (TLT guide 6.2.1)")
    images = _list_images(images_path, image_dir, report)
    _check_extensions(images, image_dir, report)
    labels = _list_labels(labels_path, label_dir, report)
    report.images, report.labels = len(images), len(labels)
    _match_ids(images, labels, image_dir, label_dir, report)
    sizes = _read_sizes(images, image_dir, report)
    _check_sizes(sizes, images, image_dir, canonical, report)
    for image_id, label_file in sorted(labels.items()):
        size = sizes.get(image_id)
        _check_label_file(os.path.join(labels_path, label_file), f"{label_dir}/{label_file}",
                          size[:2] if size else None, report)
    _check_class_case(report)
    if sequence_map is not None:  # given on the command line: a wrong path is a usage error
        check_input_file(sequence_map, "--sequence-map", f"the JSON file mapping sequences to frames ({SEQUENCE_MAP_NAME})")
    if sequence_map is None and os.path.isfile(os.path.join(root, SEQUENCE_MAP_NAME)):
        sequence_map = os.path.join(root, SEQUENCE_MAP_NAME)
    if sequence_map is not None:
        _check_sequence_map(os.fspath(sequence_map), set(images), report)
    if spec is not None:
        _check_spec_classes(os.fspath(spec), report)
    return report


def _list_files(folder: str, shown: str, report: DatasetReport, accepts, ignored: str, kind: str) -> dict[str, str]:
    """id (file stem) -> file name of the files ``accepts(extension)`` admits; the others are
    warned about with ``ignored``; two files with one id are an error."""
    found: dict[str, str] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_file():
                continue
            stem, ext = os.path.splitext(entry.name)
            if not accepts(ext):
                report.warn(f"{shown}/{entry.name}", ignored)
                continue
            if stem in found:
                report.error(f"{shown}/{entry.name}", f"two {kind} share the id '{stem}' "
                             f"({found[stem]} and {entry.name}); keep one")
                continue
            found[stem] = entry.name
    return found


def _list_images(folder: str, shown: str, report: DatasetReport) -> dict[str, str]:
    return _list_files(folder, shown, report, lambda ext: ext.lower() in IMAGE_EXTENSIONS,
                       "not a .jpg/.jpeg/.png image; TAO ignores it", "images")


def _list_labels(folder: str, shown: str, report: DatasetReport) -> dict[str, str]:
    return _list_files(folder, shown, report, lambda ext: ext == ".txt", "not a .txt label file; TAO ignores it",
                       "label files")


def _check_extensions(images: dict[str, str], image_dir: str, report: DatasetReport) -> None:
    """dataset_convert reads one kitti_config.image_extension: other extensions are skipped."""
    extensions = Counter(os.path.splitext(name)[1] for name in images.values())
    if len(extensions) > 1:
        listing = ", ".join(f"{ext}: {count}" for ext, count in extensions.most_common())
        report.warn(f"{image_dir}/", f"images use several extensions ({listing}); dataset_convert's "
                    "kitti_config.image_extension names one, so the others are left out: convert them to one")


def _match_ids(images: dict, labels: dict, image_dir: str, label_dir: str, report: DatasetReport) -> None:
    for image_id in sorted(images.keys() - labels.keys()):
        report.error(f"{image_dir}/{images[image_id]}", f"no label file {label_dir}/{image_id}.txt")
    for label_id in sorted(labels.keys() - images.keys()):
        report.error(f"{label_dir}/{labels[label_id]}", f"no image {image_dir}/{label_id}.(jpg|jpeg|png)")


def _read_sizes(images: dict, image_dir: str, report: DatasetReport) -> dict[str, tuple[int, int, int]]:
    sizes = {}
    folder = os.path.join(report.root, image_dir)
    for image_id, name in images.items():
        try:
            info = read_image_info(os.path.join(folder, name))
        except (ImageHeaderError, OSError) as exc:
            report.error(f"{image_dir}/{name}", f"unreadable image: {exc}")
            continue
        sizes[image_id] = (info.width, info.height, info.channels)
        report.image_sizes[(info.width, info.height)] += 1
    return sizes


def _check_sizes(sizes: dict, names: dict[str, str], image_dir: str, network: str | None,
                 report: DatasetReport) -> None:
    if len(report.image_sizes) > 1:
        (common_w, common_h), _ = report.image_sizes.most_common(1)[0]
        for image_id, (w, h, _c) in sorted(sizes.items()):
            if (w, h) != (common_w, common_h):
                report.error(f"{image_dir}/{names[image_id]}", f"size {w}x{h} differs from the dataset's "
                             f"{common_w}x{common_h}; TAO needs one size: resize offline and scale the boxes")
    constraint = INPUT_CONSTRAINTS.get(network or "")
    if not constraint:
        return
    for image_id, (w, h, c) in sorted(sizes.items()):
        problems = _constraint_problems(w, h, c, constraint)
        if problems:
            report.error(f"{image_dir}/{names[image_id]}", f"{w}x{h}x{c} breaks the {network} input "
                         f"requirement: {'; '.join(problems)} ({constraint.source})")


def _constraint_problems(w: int, h: int, c: int, rule: InputConstraint) -> list[str]:
    problems = []
    if w < rule.min_width:
        problems.append(f"width must be >= {rule.min_width}")
    if h < rule.min_height:
        problems.append(f"height must be >= {rule.min_height}")
    if w % rule.multiple_of or h % rule.multiple_of:
        problems.append(f"width and height must be multiples of {rule.multiple_of}")
    if rule.channels and c not in rule.channels:
        problems.append(f"channels must be {' or '.join(map(str, rule.channels))}")
    return problems


# ---- label files ----------------------------------------------------------------------------------
def _check_label_file(path: str, shown: str, size: tuple[int, int] | None, report: DatasetReport) -> None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.error(shown, f"not UTF-8 text (byte {exc.start}); save the labels as plain text")
        return
    except OSError as exc:
        report.error(shown, f"unreadable: {exc.strerror}")
        return
    objects, issues_before = 0, len(report.issues)
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        objects += _check_label_line(fields, shown, number, size, report)
    malformed = any(i.severity == "error" for i in report.issues[issues_before:])
    if objects == 0 and not malformed:  # a malformed file already has its errors: one report, not two
        report.warn(shown, "no objects (an empty label file: the image trains as background only)")


def _check_label_line(fields: list[str], shown: str, line: int, size: tuple[int, int] | None,
                      report: DatasetReport) -> int:
    """Check one object line; return 1 when it counts as an object."""
    if len(fields) != KITTI_FIELDS:
        report.error(shown, f"{len(fields)} fields, KITTI needs {KITTI_FIELDS} (class, truncation, occlusion, "
                     "alpha, 4 box, 3 dimensions, 3 location, rotation_y)", line, "fields")
        return 0
    name = fields[0]
    values = []
    for index in range(1, KITTI_FIELDS):
        try:
            value = float(fields[index])
        except ValueError:
            report.error(shown, f"{FIELD_NAMES[index]} '{fields[index]}' is not a number", line, FIELD_NAMES[index])
            return 0
        if not math.isfinite(value):
            report.error(shown, f"{FIELD_NAMES[index]} '{fields[index]}' is not finite", line, FIELD_NAMES[index])
            return 0
        values.append(value)
    truncation, occlusion, _alpha, xmin, ymin, xmax, ymax = values[:7]
    if name.lower() == DONTCARE:
        report.dontcare += 1
        return 0
    if occlusion not in (0.0, 1.0, 2.0, 3.0):
        report.error(shown, f"occlusion '{fields[2]}' must be an integer 0-3 (0 visible .. 3 unknown)",
                     line, "occlusion")
    if not 0.0 <= truncation <= 1.0:
        report.warn(shown, f"truncation {fields[1]} outside 0.0-1.0", line, "truncation")
    _check_box(xmin, ymin, xmax, ymax, fields, shown, line, size, report)
    report.class_counts[name] += 1
    report.objects += 1
    return 1


def _check_box(xmin: float, ymin: float, xmax: float, ymax: float, fields: list[str], shown: str,
               line: int, size: tuple[int, int] | None, report: DatasetReport) -> bool:
    ok = True
    if not xmin < xmax:
        report.error(shown, f"xmin {fields[4]} must be < xmax {fields[6]}", line, "xmin")
        ok = False
    if not ymin < ymax:
        report.error(shown, f"ymin {fields[5]} must be < ymax {fields[7]}", line, "ymin")
        ok = False
    if ok and not (int(xmin) < int(xmax) and int(ymin) < int(ymax)):
        # dataset_convert truncates the corners with int() and skips boxes that collapse
        report.warn(shown, f"box ({fields[4]}, {fields[5]}, {fields[6]}, {fields[7]}) is under one pixel "
                    "after dataset_convert truncates it to integers: the object is skipped", line, "bbox")
    if min(xmin, ymin) < 0:
        report.error(shown, f"box ({fields[4]}, {fields[5]}, {fields[6]}, {fields[7]}) has a negative "
                     "coordinate; clip it to the image", line, "bbox")
        ok = False
    if size is not None:
        width, height = size
        if xmax > width or ymax > height or xmin > width or ymin > height:
            report.error(shown, f"box ({fields[4]}, {fields[5]}, {fields[6]}, {fields[7]}) leaves the "
                         f"{width}x{height} image; clip it to the image", line, "bbox")
            ok = False
    return ok


def _check_class_case(report: DatasetReport) -> None:
    by_lower: dict[str, list[str]] = {}
    for name in report.class_counts:
        by_lower.setdefault(name.lower(), []).append(name)
    for lower, spellings in sorted(by_lower.items()):
        if len(spellings) > 1:
            report.warn("labels/", f"class names {', '.join(sorted(spellings))} differ only in case; "
                        f"dataset_convert lower-cases them, so they merge into '{lower}'", field_name="class")
        elif spellings[0] != lower:
            report.warn("labels/", f"class '{spellings[0]}' is not lower-case; dataset_convert writes it as "
                        f"'{lower}': use '{lower}' in the spec's target_class_mapping", field_name="class")


def _check_spec_classes(spec_path: str, report: DatasetReport) -> None:
    """The training spec's target_class_mapping keys against the (lower-cased) dataset classes."""
    spec = load_spec(spec_path)
    keys = [k for k in spec.get_all("dataset_config.target_class_mapping.key") if isinstance(k, str)]
    if not keys:
        report.warn(spec_path, "no dataset_config.target_class_mapping in this spec; nothing to compare")
        return
    converted = Counter()
    for name, count in report.class_counts.items():
        converted[name.lower()] += count
    for entry in spec.find_fields("dataset_config.target_class_mapping.key"):
        key = entry.value
        if key != key.lower():
            report.error(spec_path, f"target_class_mapping key '{key}' is not lower-case; dataset_convert "
                         f"lower-cases class names, so it matches nothing (0 mAP): use '{key.lower()}'",
                         entry.line, "target_class_mapping")
        elif key not in converted:
            report.warn(spec_path, f"target_class_mapping key '{key}' has no objects in this dataset",
                        entry.line, "target_class_mapping")
    unmapped = sorted(set(converted) - set(keys))
    if unmapped:
        report.warn(spec_path, f"classes {', '.join(unmapped)} are not in target_class_mapping; training "
                    "ignores their objects", field_name="target_class_mapping")


# ---- sequence map ---------------------------------------------------------------------------------
def _check_sequence_map(path: str, image_ids: set[str], report: DatasetReport) -> None:
    shown = os.path.relpath(path, report.root) if path.startswith(report.root) else path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        mapping = json.loads(text)
    except OSError as exc:
        report.error(shown, f"cannot read the sequence map: {exc.strerror}")
        return
    except UnicodeDecodeError as exc:
        report.error(shown, f"not UTF-8 text (byte {exc.start}); save the sequence map as UTF-8 JSON")
        return
    except json.JSONDecodeError as exc:
        report.error(shown, f"not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno)
        return
    if not isinstance(mapping, dict):
        report.error(shown, 'must be a JSON object {"sequence name": ["frame id", ...]}', 1)
        return
    seen: dict[str, str] = {}
    for sequence, frames in mapping.items():
        line = _line_of(text, json.dumps(sequence))
        if not isinstance(frames, list) or not all(isinstance(f, str) for f in frames):
            report.error(shown, f"sequence '{sequence}' must map to a list of frame-id strings", line, sequence)
            continue
        for frame in frames:
            frame_line = _line_of(text, json.dumps(frame), start=text.find(json.dumps(sequence)))
            if frame in seen:
                report.error(shown, f"frame '{frame}' is listed in '{seen[frame]}' and '{sequence}'; a frame "
                             "belongs to one sequence", frame_line, sequence)
            seen[frame] = sequence
            if frame not in image_ids:
                report.error(shown, f"frame '{frame}' of sequence '{sequence}' has no image", frame_line, sequence)
    unmapped = len(image_ids - seen.keys())
    if unmapped:
        report.warn(shown, f"{plural(unmapped, 'image')} {'is' if unmapped == 1 else 'are'} in no sequence; sequence-wise partitioning leaves them out")


def _line_of(text: str, needle: str, start: int = 0) -> int | None:
    index = text.find(needle, max(start, 0))
    return None if index < 0 else text.count("\n", 0, index) + 1
