"""Labelled datasets for `taostream evaluate`: a KITTI folder as TAO reads it, or a COCO annotation
file with its image folder; and KITTI prediction folders (``infer``'s and DeepStream's output).

Class names follow TAO's KITTI loaders: every name is lower-cased (``detection_data_sequence.py``,
the DetectNet_v2 dataset converter), then mapped through the spec's ``target_class_mapping`` when one
is given; whitespace and '_' are the same (``taostream infer`` writes "no mask" as ``no_mask``).
Names that match no class are counted per name and listed with the classes they could mean; TAO
drops them silently, here they are reported. KITTI's own ``DontCare`` is ignored and counted.

Nothing is skipped unreported: images without a label file, label files without an image,
prediction files without an image and images without a prediction file are all counted.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.model.preprocess import ImageError, load_bgr
from taostream.inference.inputs import IMAGE_SUFFIXES
from taostream.inference.results import parse_kitti, read_kitti_text
from taostream.training.image_headers import ImageHeaderError, read_image_info

IGNORED_NAMES = ("dontcare",)


def normalize_name(name: str) -> str:
    """TAO lower-cases class names; '_' and whitespace are one separator."""
    return " ".join(str(name).replace("_", " ").split()).lower()


@dataclass
class Sample:
    """One labelled image: ground truth in frame pixels, names already mapped to class indices."""

    stem: str
    image: Path | None
    gt_classes: list = field(default_factory=list)
    gt_boxes: list = field(default_factory=list)  # [x1, y1, x2, y2]
    gt_difficult: list = field(default_factory=list)  # KITTI occluded != 0, COCO iscrowd
    gt_crowd: list = field(default_factory=list)
    gt_segmentations: list = field(default_factory=list)  # COCO only (None per box otherwise)
    width: int = 0
    height: int = 0
    coco_id: int | None = None


@dataclass
class NameIssues:
    """Class names that matched nothing, with counts and what they could mean."""

    unknown: dict = field(default_factory=dict)  # name -> count
    ignored: dict = field(default_factory=dict)  # DontCare etc -> count

    def add_unknown(self, name: str) -> None:
        self.unknown[name] = self.unknown.get(name, 0) + 1

    def report(self, classes: list[str], mapping: dict) -> list[dict]:
        candidates = sorted(set(classes) | set(mapping))
        return [{"name": name, "count": count,
                 "could_be": difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)}
                for name, count in sorted(self.unknown.items())]


@dataclass
class Dataset:
    kind: str  # kitti | coco
    root: Path
    samples: list[Sample]
    classes: list[str]  # normalized names, model order
    mapping: dict  # normalized dataset name -> normalized class name
    images_without_labels: list[str] = field(default_factory=list)
    labels_without_images: list[str] = field(default_factory=list)
    names: NameIssues = field(default_factory=NameIssues)
    unreadable: list[str] = field(default_factory=list)

    def class_index(self, raw: str, issues: NameIssues) -> int | None:
        name = normalize_name(raw)
        if name in IGNORED_NAMES:
            issues.ignored[name] = issues.ignored.get(name, 0) + 1
            return None
        name = self.mapping.get(name, name)
        try:
            return self.classes.index(name)
        except ValueError:
            issues.add_unknown(name)
            return None

    def problems(self) -> dict:
        return {"images_without_labels": len(self.images_without_labels),
                "labels_without_images": len(self.labels_without_images),
                "images_without_labels_examples": self.images_without_labels[:10],
                "labels_without_images_examples": self.labels_without_images[:10],
                "unknown_classes": self.names.report(self.classes, self.mapping),
                "ignored_classes": dict(self.names.ignored)}


def _files(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """stem -> path of the files with these suffixes (the first by name when two share a stem)."""
    found: dict[str, Path] = {}
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.is_file() and os.path.splitext(e.name)[1].lower() in suffixes)
    for name in names:
        found.setdefault(os.path.splitext(name)[0], folder / name)
    return found


def load_kitti(root: Path, classes: list[str] | None, mapping: dict) -> Dataset:
    images_dir, labels_dir = root / "images", root / "labels"
    for folder, what in ((images_dir, "images"), (labels_dir, "labels")):
        if not folder.is_dir():
            raise TaostreamError(f"{root}: no {what}/ folder; a KITTI dataset as TAO reads it has images/ "
                                 "(the photos) and labels/ (one <image name>.txt per photo)")
    images, labels = _files(images_dir, IMAGE_SUFFIXES), _files(labels_dir, (".txt",))
    if not labels:
        raise TaostreamError(f"{labels_dir}: no .txt label files")
    paired = sorted(set(images) & set(labels))
    texts = {stem: read_kitti_text(labels[stem]) for stem in paired}
    for stem in paired:  # one look per file: ground truth has 15 fields, a 16th is a prediction's confidence
        first = next((line.split() for line in texts[stem].splitlines() if line.strip()), [])
        if len(first) == 16:
            raise TaostreamError(f"{labels[stem]}: 16 fields, the last a confidence: these are predictions (e.g. "
                                 f"`taostream infer`'s labels/), not ground truth; give the labelled dataset, and "
                                 "predictions with --predictions")
    parsed = {stem: parse_kitti(texts[stem], str(labels[stem])) for stem in paired}
    if classes is None:  # no model/spec to give the order: every mapped name seen, sorted
        seen = {mapping.get(normalize_name(o.label), normalize_name(o.label)) for objs in parsed.values() for o in objs}
        classes = sorted(seen - set(IGNORED_NAMES))
    dataset = Dataset("kitti", root, [], list(classes), mapping,
                      images_without_labels=sorted(set(images) - set(labels)),
                      labels_without_images=sorted(set(labels) - set(images)))
    for stem in paired:
        sample = Sample(stem, images[stem])
        for obj, occluded in zip(parsed[stem], _occluded_fields(texts[stem], labels[stem])):
            index = dataset.class_index(obj.label, dataset.names)
            if index is None:
                continue
            sample.gt_classes.append(index)
            sample.gt_boxes.append([obj.left, obj.top, obj.right, obj.bottom])
            sample.gt_difficult.append(occluded)
            sample.gt_crowd.append(False)
            sample.gt_segmentations.append(None)
        dataset.samples.append(sample)
    return dataset


def _occluded_fields(text: str, source: Path) -> list[bool]:
    """KITTI field 3 (occluded) per object line: TAO's "difficult" (ap_evaluator, faster_rcnn)."""
    flags = []
    for line in text.splitlines():
        fields = line.split()
        if fields:
            try:
                flags.append(float(fields[2]) != 0)
            except ValueError:
                raise TaostreamError(f"{source}: the occluded field (3rd) must be a number") from None
    return flags


def _coco_field(annotation: Path, entry, key: str, where: str):
    """entry[key] of a COCO list entry, or one line naming the file, the entry and the field."""
    if not isinstance(entry, dict) or key not in entry:
        raise TaostreamError(f"{annotation}: {where} has no '{key}' field; every COCO {where.split()[0]} needs one "
                             "(images: id, file_name; annotations: image_id, category_id, bbox; categories: id, name)")
    value = entry[key]
    if key in _COCO_ID_FIELDS and (isinstance(value, bool) or not isinstance(value, (int, str))):
        raise TaostreamError(f"{annotation}: {where} has {key} {json.dumps(value)}; a COCO id is a number or a string")
    if key == "file_name" and not isinstance(value, str):
        raise TaostreamError(f"{annotation}: {where} has file_name {json.dumps(value)}; it is the image's file name "
                             "(a string) under --images")
    return value


_COCO_ID_FIELDS = ("id", "image_id", "category_id")


def _id_order(item: tuple) -> tuple:
    """Category ids in order: numbers by value, then strings (a file may mix them)."""
    return isinstance(item[0], str), item[0]


def _coco_size(annotation: Path, image: dict, key: str) -> int:
    """An image's width or height: 0 where it is absent or null (read from the image later)."""
    value = image.get(key)
    if value is None:
        return 0
    try:
        number = float(value)  # a number, or one written as a string
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise TaostreamError(f"{annotation}: image {image['id']} has {key} {json.dumps(value)}; it is the image's "
                             "size in pixels (or leave it out)")
    return int(number)


def _coco_box(annotation: Path, ann: dict) -> list[float]:
    """[x1, y1, x2, y2] from COCO's [x, y, width, height]: four finite numbers, width and height >= 0."""
    where = f"annotation {ann.get('id', '?')}"
    bbox = _coco_field(annotation, ann, "bbox", where)
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise TaostreamError(f"{annotation}: {where} has bbox {bbox!r}; COCO's bbox is four numbers "
                             "[x, y, width, height]") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w < 0 or h < 0:
        raise TaostreamError(f"{annotation}: {where} has bbox {bbox!r}; COCO's bbox is [x, y, width, height] with "
                             "finite numbers and width, height >= 0 (not x1, y1, x2, y2 with x2 < x1)")
    return [x, y, x + w, y + h]


def load_coco(annotation: Path, images_dir: Path | None, classes: list[str] | None, mapping: dict) -> Dataset:
    try:
        document = json.loads(annotation.read_text(encoding="utf-8-sig"))  # a BOM (Windows editors) is no part of it
    except (OSError, ValueError) as exc:
        raise TaostreamError(f"{annotation}: not a readable COCO annotation file ({exc})") from None
    if not isinstance(document, dict):
        raise TaostreamError(f"{annotation}: not a COCO annotation file (a JSON object with images, annotations "
                             "and categories lists)")
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            raise TaostreamError(f"{annotation}: field '{key}' is missing; a COCO annotation file has images, "
                                 "annotations and categories lists")
    if images_dir is not None and not Path(images_dir).is_dir():
        what = "is a file" if Path(images_dir).exists() else "no such folder"
        raise TaostreamError(f"--images {images_dir}: {what}; give the folder that holds the images "
                             f"{annotation.name} lists (their file_name is looked up in it)")
    images_dir = images_dir or annotation.parent
    categories = {_coco_field(annotation, c, "id", f"category {n + 1}"):
                  _coco_field(annotation, c, "name", f"category {c.get('id', n + 1) if isinstance(c, dict) else n + 1}")
                  for n, c in enumerate(document["categories"])}
    if classes is None:
        classes = [normalize_name(mapping.get(normalize_name(n), n)) for _, n in sorted(categories.items(), key=_id_order)]
    dataset = Dataset("coco", annotation, [], list(classes), mapping)
    by_image: dict[int, list] = {}
    for n, ann in enumerate(document["annotations"]):
        where = f"annotation {ann.get('id', n + 1) if isinstance(ann, dict) else n + 1}"
        by_image.setdefault(_coco_field(annotation, ann, "image_id", where), []).append(ann)
        _coco_field(annotation, ann, "category_id", where)
    known_ids = {_coco_field(annotation, image, "id", f"image {n + 1}") for n, image in enumerate(document["images"])}
    dataset.labels_without_images = sorted(str(i) for i in set(by_image) - known_ids)
    for image in document["images"]:
        file_name = _coco_field(annotation, image, "file_name", f"image {image['id']}")
        path = images_dir / file_name
        sample = Sample(Path(file_name).stem, path, width=_coco_size(annotation, image, "width"),
                        height=_coco_size(annotation, image, "height"), coco_id=image["id"])
        for ann in by_image.get(image["id"], []):
            if ann["category_id"] not in categories:
                raise TaostreamError(f"{annotation}: annotation {ann.get('id')} has category_id {ann['category_id']}, "
                                     "which is not in categories")
            index = dataset.class_index(categories[ann["category_id"]], dataset.names)
            if index is None:
                continue
            crowd = bool(ann.get("iscrowd", 0))
            sample.gt_classes.append(index)
            sample.gt_boxes.append(_coco_box(annotation, ann))
            sample.gt_difficult.append(crowd)
            sample.gt_crowd.append(crowd)
            sample.gt_segmentations.append(ann.get("segmentation"))
        dataset.samples.append(sample)
    return dataset


def load_dataset(path: Path, classes: list[str] | None, mapping: dict, images_dir: Path | None = None) -> Dataset:
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".json":
        return load_coco(path, images_dir, classes, mapping)
    if path.is_dir():
        if images_dir is not None:  # it would be ignored: a KITTI folder names its own images/
            raise TaostreamError(f"--images {images_dir}: --images is the image folder of a COCO annotation .json; "
                                 f"the KITTI dataset {path} has its images in {path / 'images'}: leave --images out")
        return load_kitti(path, classes, mapping)
    raise TaostreamError(f"{path}: not a KITTI dataset folder (images/ + labels/) or a COCO annotation .json")


@dataclass
class Predictions:
    """Per stem: (class index, box, score) arrays read from KITTI prediction files."""

    by_stem: dict
    files_without_images: list[str] = field(default_factory=list)
    images_without_files: list[str] = field(default_factory=list)
    names: NameIssues = field(default_factory=NameIssues)
    deepstream: dict | None = None  # how DeepStream's frame-numbered files were matched to the images


# deepstream-app: <app index>_<stream>_<frame>.txt (%02u_%03u_%06lu); Service Maker: <stream>_<frame>.txt
DEEPSTREAM_NAME = re.compile(r"^(?:\d+_)?(\d{3})_(\d{6,})$")


def _track_lines_to_kitti(text: str) -> str:
    """kitti-track-output-dir lines carry the tracker's object id as field 2 (17 fields:
    ``label id 0.0 0 0.0 x1 y1 x2 y2 0 0 0 0 0 0 0 confidence``); drop it to get the 16-field line."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 17 and fields[1].isdigit():
            fields = fields[:1] + fields[2:]
        out.append(" ".join(fields))
    return "\n".join(out)


def _deepstream_mapping(files: dict[str, Path], samples: list, stream: int | None) -> tuple[dict, dict] | None:
    """DeepStream names its files by stream and frame number: frame N of the chosen stream is the
    N-th labelled image in name order (the order a multifilesrc/image-folder source plays them)."""
    parsed = {stem: DEEPSTREAM_NAME.match(stem) for stem in files}
    if not files or not all(parsed.values()):
        return None
    streams = sorted({int(m.group(1)) for m in parsed.values()})
    if stream is None:
        if len(streams) > 1:
            raise TaostreamError(f"DeepStream prediction files of streams {', '.join(map(str, streams))}: "
                                 "choose the stream that played this dataset with --stream N")
        stream = streams[0]
    order = [s.stem for s in samples]
    mapped, beyond = {}, []
    for stem, m in parsed.items():
        if int(m.group(1)) != stream:
            continue
        frame = int(m.group(2))
        if frame < len(order):
            mapped[order[frame]] = files[stem]
        else:
            beyond.append(stem)
    return mapped, {"stream": stream, "frames_matched": len(mapped), "frames_beyond_the_images": sorted(beyond),
                    "rule": "frame N = the N-th labelled image in name order"}


def read_predictions(folder: Path, dataset: Dataset, stream: int | None = None,
                     mux_size: tuple[int, int] | None = None) -> Predictions:
    """KITTI files with a 16th confidence field (``taostream infer`` labels/, TAO inference, DeepStream's
    gie-kitti-output-dir and kitti-track-output-dir) named like the images, or DeepStream's
    frame-numbered names; a folder holding labels/ is read there. ``mux_size``: DeepStream wrote
    boxes in nvstreammux's resolution; they are scaled to each image's size."""
    folder = Path(folder)
    if folder.is_file():
        raise TaostreamError(f"{folder}: is a file; --predictions takes the folder of KITTI prediction files "
                             "(one <image name>.txt per image)")
    if not folder.is_dir():
        raise TaostreamError(f"{folder}: no such predictions folder")
    if not any(folder.glob("*.txt")) and (folder / "labels").is_dir():
        folder = folder / "labels"
    files = _files(folder, (".txt",))
    if not files:
        raise TaostreamError(f"{folder}: no .txt prediction files (KITTI lines with a 16th confidence field)")
    stems = {s.stem for s in dataset.samples}
    deepstream = None
    if not stems & set(files):
        found = _deepstream_mapping(files, dataset.samples, stream)
        if found is not None:
            files, deepstream = found
    out = Predictions({}, files_without_images=sorted(set(files) - stems),
                      images_without_files=sorted(stems - set(files)), deepstream=deepstream)
    if deepstream is not None:  # files are now keyed by image stem; the unmatched ones are the extra frames
        out.files_without_images = deepstream.pop("frames_beyond_the_images")
    sizes = {s.stem: (s.width, s.height) for s in dataset.samples}
    for stem in sorted(stems & set(files)):
        text = _track_lines_to_kitti(read_kitti_text(files[stem]))
        classes, boxes, scores = [], [], []
        for obj in parse_kitti(text, str(files[stem])):
            index = dataset.class_index(obj.label, out.names)
            if index is None:
                continue
            classes.append(index)
            boxes.append([obj.left, obj.top, obj.right, obj.bottom])
            scores.append(obj.score)
        if len(text.lstrip().split("\n", 1)[0].split()) == 15:  # one look is enough: a label folder
            raise TaostreamError(f"{files[stem]}: prediction lines need a 16th field (the confidence); "
                                 "these look like ground-truth labels (or an old DeepStream without confidences)")
        box_array = np.asarray(boxes, np.float64).reshape(-1, 4)
        if mux_size is not None:
            width, height = sizes[stem]
            box_array = box_array * np.array([width / mux_size[0], height / mux_size[1]] * 2)
        out.by_stem[stem] = (np.asarray(classes, np.int64), box_array, np.asarray(scores, np.float64))
    return out


def read_labelled_image(path) -> np.ndarray:
    """A dataset image as a BGR frame. Stricter than infer/verify, which skip an unreadable image:
    a score without one of the dataset's images is not the dataset's score, so evaluate stops there."""
    try:
        return load_bgr(path)
    except ImageError as exc:
        raise TaostreamError(f"{exc}; evaluate scores every image of the dataset (a skipped one would change the "
                             "score): copy it again, or remove it and its labels") from None


def image_size(path: Path) -> tuple[int, int]:
    """(width, height): from the PNG/JPEG header (training.image_headers), else by decoding."""
    try:
        info = read_image_info(str(path))
        return info.width, info.height
    except ImageHeaderError:
        pass
    except OSError as exc:
        raise TaostreamError(f"{path}: cannot read this image ({exc.strerror})") from None

    frame = load_bgr(path)
    return frame.shape[1], frame.shape[0]
