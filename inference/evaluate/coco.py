"""COCO AP@[.5:.95], AP50, AP75 (and mask AP) computed by pycocotools itself, or by faster-coco-eval
(pycocotools' COCOeval in C++, the same figures, ~10x faster) when it is installed: the dataset and
the predictions are handed to ``COCOeval`` as in-memory COCO documents; nothing of the metric is
re-implemented here. Category ids are class index + 1, image ids the sample order + 1.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from taostream.converter.errors import MissingDependencyError


COCO_ENGINES = ("auto", "pycocotools", "faster-coco-eval")


def _coco_library(engine: str):
    """(COCO, COCOeval, name): faster-coco-eval (the same COCOeval in C++, same figures) when
    installed and ``engine`` allows it, else pycocotools."""
    if engine in ("auto", "faster-coco-eval"):
        try:
            from faster_coco_eval import COCO, COCOeval_faster  # lazy: optional (eval)

            return COCO, COCOeval_faster, "faster-coco-eval"
        except ImportError:
            if engine == "faster-coco-eval":
                raise MissingDependencyError("faster-coco-eval", "eval", "--coco-engine faster-coco-eval") from None
    try:
        from pycocotools.coco import COCO  # lazy: optional (eval)
        from pycocotools.cocoeval import COCOeval  # lazy: optional (eval)
    except ImportError:
        raise MissingDependencyError("pycocotools", "eval", "COCO metrics (taostream evaluate)") from None
    return COCO, COCOeval, "pycocotools"


def require_coco_library(engine: str = "auto") -> str:
    """The name of the COCO library ``engine`` resolves to, or MissingDependencyError: asked before a
    model runs over the whole dataset, so a missing extra is not found only at the end."""
    return _coco_library(engine)[2]


def coco_documents(samples, predictions, classes: list[str]) -> tuple[dict, list[dict]]:
    """(ground-truth document, result list) in COCO's layout. ``predictions``: per sample a tuple
    (classes [P], boxes [P, 4] x1y1x2y2, scores [P], masks or None)."""
    images, annotations, results = [], [], []
    for n, sample in enumerate(samples, start=1):
        images.append({"id": n, "file_name": sample.stem, "width": sample.width, "height": sample.height})
        for c, box, crowd, seg in zip(sample.gt_classes, sample.gt_boxes, sample.gt_crowd, sample.gt_segmentations):
            x1, y1, x2, y2 = (float(v) for v in box)
            ann = {"id": len(annotations) + 1, "image_id": n, "category_id": int(c) + 1,
                   "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": int(bool(crowd))}
            if seg is not None:
                ann["segmentation"] = seg
            annotations.append(ann)
        pred = predictions[n - 1]
        if pred is None:
            continue
        pc, pb, ps = pred[0], pred[1], pred[2]
        masks = pred[3] if len(pred) > 3 else None
        for k in range(len(pc)):
            x1, y1, x2, y2 = (float(v) for v in pb[k])
            entry = {"image_id": n, "category_id": int(pc[k]) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                     "score": float(ps[k])}
            if masks is not None and masks[k] is not None:
                entry["segmentation"] = masks[k]
            results.append(entry)
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(classes)]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def coco_metrics(gt_document: dict, results: list[dict], iou_type: str = "bbox", engine: str = "auto") -> dict:
    """COCOeval's summary (AP, AP50, AP75, small/medium/large, AR) and per-class AP / AP50."""
    COCO, COCOeval, library = _coco_library(engine)
    names = {c["id"]: c["name"] for c in gt_document["categories"]}
    if not gt_document["annotations"] or not results:
        # pycocotools cannot load an empty result list; with no predictions every AP is 0 (-1 where
        # a class has no ground truth, as pycocotools marks it).
        with_gt = {a["category_id"] for a in gt_document["annotations"] if not a.get("iscrowd")}
        value = 0.0 if with_gt else -1.0
        return {"AP": value, "AP50": value, "AP75": value,
                "per_class": {names[c]: {"AP": 0.0 if c in with_gt else -1.0, "AP50": 0.0 if c in with_gt else -1.0}
                              for c in sorted(names)},
                "evaluated_by": f"{library} (no predictions)" if with_gt else f"{library} (no ground truth)"}
    with contextlib.redirect_stdout(io.StringIO()):
        if library == "pycocotools":
            gt = COCO()
            gt.dataset = gt_document
            gt.createIndex()
        else:
            gt = COCO(gt_document)
        dt = gt.loadRes(results)
        evaluator = COCOeval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = [float(v) for v in evaluator.stats]
    keys = ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR1", "AR10", "AR100",
            "AR_small", "AR_medium", "AR_large")
    out = dict(zip(keys, stats))
    precision = evaluator.eval["precision"]  # [T, R, K, A, M]
    per_class = {}
    for k, cat in enumerate(evaluator.params.catIds):
        block = precision[:, :, k, 0, -1]
        at50 = precision[0, :, k, 0, -1]
        per_class[names[cat]] = {
            "AP": float(block[block > -1].mean()) if (block > -1).any() else -1.0,
            "AP50": float(at50[at50 > -1].mean()) if (at50 > -1).any() else -1.0}
    out["per_class"] = per_class
    out["evaluated_by"] = library
    return out


def mask_rle(mask: np.ndarray, box, width: int, height: int) -> dict:
    """A box-relative mask probability map pasted into the frame (>= 0.5), as COCO RLE."""
    import cv2  # lazy: heavy
    from pycocotools import mask as mask_utils  # lazy: optional (eval)

    full = np.zeros((height, width), np.uint8)
    x1, y1 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x2, y2 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
    if x2 > x1 and y2 > y1:
        resized = cv2.resize(np.asarray(mask, np.float32), (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
        full[y1:y2, x1:x2] = resized >= 0.5
    rle = mask_utils.encode(np.asfortranarray(full))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle
