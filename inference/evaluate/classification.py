"""`taostream evaluate` for classification bundles: top-1 / top-k accuracy and a confusion table on
a folder of class subfolders (TAO classification's evaluation layout: one folder per class, named
like the class, holding that class's images). Folder names are matched to the bundle's labels the
way the detection datasets are (lower case, '_' = space); folders that match no label are listed
with the labels they could mean, never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.inference.detector import Detector
from taostream.inference.evaluate.dataset import NameIssues, normalize_name, read_labelled_image
from taostream.inference.infer_run import batches
from taostream.inference.inputs import IMAGE_SUFFIXES
from taostream.converter.wording import plural


@dataclass
class ClassFolders:
    root: Path
    classes: list[str]
    images: list[Path] = field(default_factory=list)
    truth: list[int] = field(default_factory=list)
    names: NameIssues = field(default_factory=NameIssues)
    skipped_files: int = 0  # files that are not images
    empty_folders: list[str] = field(default_factory=list)


def load_class_folders(root: Path, classes: list[str]) -> ClassFolders:
    root = Path(root)
    if not root.is_dir():
        raise TaostreamError(f"{root}: no such folder; a classification set has one subfolder of images per class")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise TaostreamError(f"{root}: no class subfolders; put each class's images in <class name>/")
    out = ClassFolders(root, classes)
    for folder in folders:
        files = sorted(p for p in folder.iterdir() if p.is_file())
        images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        out.skipped_files += len(files) - len(images)
        name = normalize_name(folder.name)
        if name not in classes:
            out.names.unknown[name] = out.names.unknown.get(name, 0) + len(images)
            continue
        if not images:
            out.empty_folders.append(folder.name)
        out.images.extend(images)
        out.truth.extend([classes.index(name)] * len(images))
    if not out.images:
        raise TaostreamError(f"{root}: no images in a folder named like one of the bundle's classes "
                             f"({', '.join(classes)})")
    return out


def probabilities_of(outputs: dict, batch: int) -> np.ndarray:
    """[B, C] class probabilities from a classifier's outputs (the CPU Triton model's
    ``probabilities``, else the model's single softmax output)."""
    names = {name.split(":")[0]: name for name in outputs}
    key = names.get("probabilities")
    if key is None:
        softmax = [n for n in outputs if "softmax" in n.lower()]
        key = softmax[0] if softmax else (next(iter(outputs)) if len(outputs) == 1 else None)
    if key is None:
        raise TaostreamError(f"the classifier returned {sorted(outputs)}; expected one softmax output")
    return np.asarray(outputs[key], np.float32).reshape(batch, -1)


def scores(truth: np.ndarray, probabilities: np.ndarray, classes: list[str], k: int) -> dict:
    """Top-1 and top-k accuracy, per-class recall/precision, the confusion table (rows: truth)."""
    n_classes = len(classes)
    if probabilities.shape[1] != n_classes:
        raise TaostreamError(f"the model gives {probabilities.shape[1]} class probabilities, labels.txt names "
                             f"{n_classes} classes; recreate the bundle")
    k = min(k, n_classes)
    ranked = np.argsort(-probabilities, axis=1, kind="stable")
    top1 = ranked[:, 0]
    in_top_k = (ranked[:, :k] == truth[:, None]).any(axis=1)
    confusion = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(confusion, (truth, top1), 1)
    per_class = []
    for c, name in enumerate(classes):
        support, predicted = int(confusion[c].sum()), int(confusion[:, c].sum())
        per_class.append({"class": name, "images": support,
                          "recall": confusion[c, c] / support if support else None,
                          "precision": confusion[c, c] / predicted if predicted else None})
    return {"images": int(len(truth)), "top1": float((top1 == truth).mean()), "top_k": float(in_top_k.mean()), "k": k,
            "per_class": per_class, "confusion": confusion.tolist()}


@dataclass
class ClassificationReport:
    folders: ClassFolders
    results: list  # (label, scores dict)
    against: dict | None = None

    @property
    def passed(self) -> bool:
        return self.against is None or self.against["passed"]

    def to_dict(self) -> dict:
        f = self.folders
        return {"dataset": {"kind": "class_folders", "path": str(f.root), "images_evaluated": len(f.images),
                            "classes": f.classes, "unknown_classes": f.names.report(f.classes, {}),
                            "empty_class_folders": f.empty_folders, "non_image_files": f.skipped_files},
                "family": "classification", "results": [{"source": label, **s} for label, s in self.results],
                "against": self.against, "passed": self.passed}

    def lines(self) -> list[str]:
        f = self.folders
        out = [f"dataset {f.root} (class folders): {plural(len(f.images), 'image')}, {plural(len(f.classes), 'class')}"]
        for entry in f.names.report(f.classes, {}):
            hint = f"; did you mean {' or '.join(entry['could_be'])}?" if entry["could_be"] else ""
            out.append(f"  folder '{entry['name']}' matches no class ({plural(entry['count'], 'image')}, not evaluated){hint}")
        if f.skipped_files:
            out.append(f"  {plural(f.skipped_files, 'file')} that {'is not an image' if f.skipped_files == 1 else 'are not images'} "
                       "(not evaluated)")
        for name in f.empty_folders:
            out.append(f"  class folder '{name}' holds no images")
        for label, s in self.results:
            out.append(f"{label}: top-1 {s['top1']:.4f}, top-{s['k']} {s['top_k']:.4f} on {plural(s['images'], 'image')}")
            width = max(8, max(len(c) for c in f.classes) + 1)
            if len(f.classes) <= 20:
                out.append("  confusion (rows: true class, columns: predicted)")
                out.append("  " + " " * width + "".join(f"{c[:7]:>8}" for c in f.classes))
                for c, row in zip(f.classes, s["confusion"]):
                    out.append(f"  {c:<{width}}" + "".join(f"{v:>8}" for v in row))
        if self.against is not None:
            a = self.against
            out.append(f"{'PASS' if a['passed'] else 'FAIL'}: top-1 drop {a['top1_drop']:+.4f} "
                       f"({a['reference_top1']:.4f} -> {a['candidate_top1']:.4f}), allowed {a['max_drop']:g}")
        return out


def run_classification(bundle, request, runs: list) -> ClassificationReport:
    """``runs``: (label, runner context factory, description), the FP32 reference first with --against."""
    from tqdm import tqdm  # lazy: heavy

    classes = [normalize_name(label) for label in bundle.labels]
    if not classes:
        raise TaostreamError(f"{bundle.path}: labels.txt is empty; recreate the bundle with its classmap")
    folders = load_class_folders(Path(request.dataset), classes)
    truth = np.asarray(folders.truth, np.int64)
    report = ClassificationReport(folders, [])
    for label, make, _ in runs:
        probs = []
        with make() as runner:
            detector = Detector(bundle, runner)
            with tqdm(total=len(folders.images), unit="image", desc=label, disable=not request.progress) as bar:
                for batch in batches(iter(folders.images), request.batch_size):
                    tensor, _ = detector.preprocess([read_labelled_image(p) for p in batch])
                    probs.append(probabilities_of(runner.infer({bundle.input_name: tensor}), len(batch)))
                    bar.update(len(batch))
        report.results.append((label, scores(truth, np.concatenate(probs), classes, request.top_k)))
    if request.against:
        (_, ref), (_, cand) = report.results
        drop = ref["top1"] - cand["top1"]
        report.against = {"reference_top1": ref["top1"], "candidate_top1": cand["top1"], "top1_drop": drop,
                          "max_drop": request.max_drop, "passed": bool(drop <= request.max_drop + 1e-12)}
    return report
