"""Result writers: KITTI label files as `tao inference` writes them, one JSON file per run, and
annotated images/video drawn with OpenCV (boxes, class names, scores, instance masks).

KITTI line (TAO): ``type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y score``, 15 KITTI
fields plus the confidence; TAO writes zeros for everything but the class, the box and the score.
Class names are written with whitespace replaced by '_' so every line splits into 16 fields.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_bytes, atomic_write_text

KITTI_FIELDS = 16


@dataclass(frozen=True)
class KittiObject:
    label: str
    left: float
    top: float
    right: float
    bottom: float
    score: float


def label_name(labels: Sequence[str], class_id: int) -> str:
    name = labels[class_id] if 0 <= class_id < len(labels) else f"class_{class_id}"
    return "_".join(name.split()) or f"class_{class_id}"


def kitti_line(label: str, box: Sequence[float], score: float) -> str:
    x1, y1, x2, y2 = box
    return (f"{label} 0.00 0 0.00 {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} "
            f"0.00 0.00 0.00 0.00 0.00 0.00 0.00 {score:.3f}")


def kitti_text(detections: Iterable, labels: Sequence[str]) -> str:
    lines = [kitti_line(label_name(labels, d.class_id), (d.left, d.top, d.right, d.bottom), d.confidence)
             for d in detections]
    return "".join(line + "\n" for line in lines)


def write_kitti(path: str | os.PathLike, detections: Iterable, labels: Sequence[str]) -> Path:
    return atomic_write_text(path, kitti_text(detections, labels))


# the fields before the box; TAO's readers take them as numbers (occluded is TAO's "difficult")
_KITTI_NUMBER_FIELDS = ((2, "truncated"), (3, "occluded"), (4, "alpha"))


def parse_kitti(text: str, source: str = "<kitti>") -> list[KittiObject]:
    """KITTI label lines (15 fields, or 16 with a score) -> objects; errors name the line."""
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (15, 16):
            raise TaostreamError(f"{source}:{number}: {len(fields)} fields; a KITTI label line has 15 "
                                 "(or 16 with a score)")
        for position, name in _KITTI_NUMBER_FIELDS:
            try:
                float(fields[position - 1])
            except ValueError:
                raise TaostreamError(f"{source}:{number}: field {position} ({name}) must be a number, found "
                                     f"{fields[position - 1]!r}; fix or delete the line") from None
        try:
            x1, y1, x2, y2 = (float(v) for v in fields[4:8])
            score = float(fields[15]) if len(fields) == 16 else 1.0
        except ValueError:
            raise TaostreamError(f"{source}:{number}: the box (fields 5-8) and score must be numbers") from None
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2, score)):
            raise TaostreamError(f"{source}:{number}: the box (fields 5-8) and score must be finite numbers, found "
                                 f"{' '.join(fields[4:8])}{' ' + fields[15] if len(fields) == 16 else ''}; "
                                 "fix or delete the line")
        if not (x2 >= x1 and y2 >= y1):
            raise TaostreamError(f"{source}:{number}: box {x1},{y1},{x2},{y2} has x2<x1 or y2<y1")
        objects.append(KittiObject(fields[0], x1, y1, x2, y2, score))
    return objects


def read_kitti_text(path: str | os.PathLike) -> str:
    """A KITTI file's text; a file that cannot be read, or is not UTF-8, is a TaostreamError naming it."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TaostreamError(f"{path}: cannot read the KITTI file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise TaostreamError(f"{path}: not UTF-8 text (saved as UTF-16 \"Unicode\" or a legacy code page?); "
                             "save it as UTF-8 (or ASCII): one KITTI line per object") from None


def read_kitti(path: str | os.PathLike) -> list[KittiObject]:
    return parse_kitti(read_kitti_text(path), str(path))


# --- JSON ------------------------------------------------------------------------------------------


def _attribute_label(attribute, labels: Sequence[str]) -> str:
    """The parser's own label where it names the result (LPRNet's plate), else labels.txt's line."""
    own = getattr(attribute, "label", None)
    return own if own is not None else label_name(labels, attribute.value)


def result_record(result, labels: Sequence[str]) -> dict:
    """One ImageResult as JSON-ready data (frame pixels)."""
    record = {"source": result.source, "width": result.width, "height": result.height,
              "detections": [{"class_id": d.class_id, "label": label_name(labels, d.class_id),
                              "bbox": [round(d.left, 3), round(d.top, 3), round(d.right, 3), round(d.bottom, 3)],
                              "confidence": round(float(d.confidence), 6),
                              **({"mask_shape": list(np.shape(d.mask))} if d.mask is not None else {})}
                             for d in result.detections]}
    if result.classification is not None:
        c = result.classification
        record["classification"] = {"class_id": c.value, "label": _attribute_label(c, labels),
                                    "confidence": round(float(c.confidence), 6)}
    return record


def write_run_json(path: str | os.PathLike, run: dict, results: Iterable, labels: Sequence[str]) -> Path:
    document = {**run, "images": [result_record(r, labels) for r in results]}
    return atomic_write_text(path, json.dumps(document, indent=1) + "\n")


# --- drawing ---------------------------------------------------------------------------------------


def class_color(class_id: int) -> tuple[int, int, int]:
    """A stable, distinct BGR color per class (golden-ratio hue steps)."""
    import cv2  # lazy: heavy

    hue = int((class_id * 0.618033988749895 % 1.0) * 179)
    hsv = np.uint8([[[hue, 200, 255]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _draw_mask(image: np.ndarray, det, color, threshold: float = 0.5) -> None:
    import cv2  # lazy: heavy

    x1, y1 = max(int(det.left), 0), max(int(det.top), 0)
    x2, y2 = min(int(np.ceil(det.right)), image.shape[1]), min(int(np.ceil(det.bottom)), image.shape[0])
    if x2 <= x1 or y2 <= y1:
        return
    mask = cv2.resize(np.asarray(det.mask, dtype=np.float32), (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
    region = image[y1:y2, x1:x2]
    on = mask >= threshold
    region[on] = (0.5 * region[on] + 0.5 * np.asarray(color, dtype=np.float32)).astype(np.uint8)


def annotate(frame: np.ndarray, result, labels: Sequence[str]) -> np.ndarray:
    """A copy of the BGR frame with the result's boxes, class names, scores and masks drawn."""
    import cv2  # lazy: heavy

    image = frame.copy()
    for det in result.detections:
        color = class_color(det.class_id)
        if det.mask is not None:
            _draw_mask(image, det, color)
        p1, p2 = (int(round(det.left)), int(round(det.top))), (int(round(det.right)), int(round(det.bottom)))
        cv2.rectangle(image, p1, p2, color, 2)
        text = f"{label_name(labels, det.class_id)} {det.confidence:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(p1[1] - th - base, 0)
        cv2.rectangle(image, (p1[0], top), (p1[0] + tw, top + th + base), color, -1)
        cv2.putText(image, text, (p1[0], top + th), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    if result.classification is not None:
        c = result.classification
        cv2.putText(image, f"{_attribute_label(c, labels)} {c.confidence:.2f}", (8, 24), cv2.FONT_HERSHEY_SIMPLEX,
                    0.8, (0, 255, 0), 2, cv2.LINE_AA)
    return image


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    import cv2  # lazy: heavy

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(path.suffix or ".jpg", image)
    if not ok:
        raise TaostreamError(f"{path}: OpenCV cannot encode this image format; use .jpg or .png")

    return atomic_write_bytes(path, encoded.tobytes())


class VideoWriter:
    """Annotated frames -> an .mp4 (OpenCV's mp4v codec); opened on the first frame."""

    def __init__(self, path: str | os.PathLike, fps: float):
        self.path, self.fps, self.writer = Path(path), fps if fps and fps > 0 else 25.0, None

    def write(self, image: np.ndarray) -> None:
        import cv2  # lazy: heavy

        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                          (image.shape[1], image.shape[0]))
            if not self.writer.isOpened():
                raise TaostreamError(f"{self.path}: OpenCV cannot write mp4 video here")
        self.writer.write(image)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None
