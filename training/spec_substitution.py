"""Replace the hard-coded folders of a TAO experiment spec by the folders a job gets at run time.

An AzureML job mounts its data at paths known only when it starts, while the spec names the
folders the author used (``/workspace/tao-experiments/data/training``). Each substitution pairs
such a *reference* with its *runtime path*. The rules:

- A reference matches a string value only as whole leading path components: the value equals the
  reference, or starts with the reference followed by ``/``. ``/data/train`` matches
  ``/data/train`` and ``/data/train/*.tfrecord`` but never ``/data/training`` nor ``/x/data/train``
  (it is never replaced inside another path).
- Where several references match one value, the longest wins; each value is rewritten once (a
  replacement is never matched again).
- Every reference must match at least one value, or the spec file and the reference are named in
  an error (a typo would otherwise train on the author's paths).
- The rewritten path must stay inside its runtime folder: a remainder such as ``../../etc`` is an
  error.
- Comments, order and the untouched text of the spec are kept (converter.tao_spec).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from taostream.converter.errors import SpecError, TaostreamError
from taostream.converter.tao_spec import SpecMessage, dump_spec, load_spec
from taostream.converter.fileio import atomic_write_text


class PathEscapeError(TaostreamError):
    """A composed or substituted path leaves the folder it must stay in."""


@dataclass(frozen=True)
class PathSubstitution:
    label: str  # what the folder is, for messages ("training data folder")
    reference: str  # the hard-coded folder in the spec
    runtime_path: str  # the folder assigned at run time


@dataclass(frozen=True)
class SubstitutionRecord:
    field_path: str  # dotted path of the spec field
    line: int
    old_value: str
    new_value: str
    label: str


def _clean_reference(reference: str, label: str) -> str:
    reference = reference.strip()
    if not reference:
        raise SpecError(f"the {label} reference is empty; give the folder exactly as the spec file writes it")
    stripped = reference.rstrip("/")
    if not stripped:
        raise SpecError(f"the {label} reference '/' would match every absolute path; give the folder "
                        "exactly as the spec file writes it")
    return stripped


def inside(path: str, root: str) -> bool:
    """True when ``path`` (after normalising ``..``) is ``root`` or below it."""
    root_norm = posixpath.normpath(root)
    path_norm = posixpath.normpath(path)
    return path_norm == root_norm or path_norm.startswith(root_norm.rstrip("/") + "/")


def compose_path(root: str, *parts: str, label: str = "path") -> str:
    """``root/part1/part2``, refusing parts that are absolute or climb out of ``root``."""
    if not root:
        raise PathEscapeError(f"the {label} has no root folder; pass the folder input")
    path = root.rstrip("/") or "/"
    for part in parts:
        if part is None or part == "":
            continue
        if part.startswith("/"):
            raise PathEscapeError(f"the {label} part '{part}' is absolute; give it relative to '{root}'")
        path = f"{path.rstrip('/')}/{part}"
    if not inside(path, root):
        raise PathEscapeError(f"the {label} '{path}' leaves its root folder '{root}'; remove the '..' parts")
    return path


def _match(value: str, reference: str) -> str | None:
    """The remainder after ``reference`` when it is a whole-component prefix of ``value``."""
    if value == reference:
        return ""
    if value.startswith(reference + "/"):
        return value[len(reference):]
    return None


def substitute_paths(spec: SpecMessage, substitutions: list[PathSubstitution],
                     source: str = "<spec>") -> list[SubstitutionRecord]:
    """Rewrite the spec in place; return what changed. Errors name the spec and the reference."""
    cleaned = [(s, _clean_reference(s.reference, s.label)) for s in substitutions]
    cleaned.sort(key=lambda pair: len(pair[1]), reverse=True)  # the longest reference wins
    records: list[SubstitutionRecord] = []
    used: set[int] = set()
    for field_path, entry in list(spec.walk()):
        if not isinstance(entry.value, str):
            continue
        for substitution, reference in cleaned:
            remainder = _match(entry.value, reference)
            if remainder is None:
                continue
            runtime = substitution.runtime_path.rstrip("/") or "/"
            new_value = runtime + remainder
            if not inside(new_value, runtime):
                raise PathEscapeError(
                    f"{source}:{entry.line}: {field_path} '{entry.value}' would become '{new_value}', "
                    f"outside the {substitution.label} '{runtime}'; remove the '..' from the spec value")
            records.append(SubstitutionRecord(field_path, entry.line, entry.value, new_value, substitution.label))
            entry.set_value(new_value)
            used.add(id(substitution))
            break
    missing = [s for s, _ in cleaned if id(s) not in used]
    if missing:
        raise SpecError(_missing_message(spec, missing, source))
    return records


def _missing_message(spec: SpecMessage, missing: list[PathSubstitution], source: str) -> str:
    found = sorted({e.value for _, e in spec.walk() if isinstance(e.value, str) and "/" in e.value})
    names = "; ".join(f"{s.label} reference '{s.reference}'" for s in missing)
    listing = ", ".join(f"'{v}'" for v in found[:12]) or "none"
    return (f"{source}: {names} not found as a whole path in any spec value; give the folder exactly as "
            f"the spec writes it (paths in the spec: {listing})")


def set_num_epochs(spec: SpecMessage, num_epochs: int, source: str = "<spec>") -> str:
    """Set the epoch count: training_config.num_epochs (DetectNet_v2 & co.) or top-level num_epochs
    (MaskRCNN). Returns the field path written."""
    try:
        epochs = int(num_epochs)
    except (TypeError, ValueError):
        raise SpecError(f"num_epochs '{num_epochs}' is not a whole number") from None
    if epochs <= 0 or str(num_epochs).strip() not in (str(epochs), f"{epochs}.0"):
        raise SpecError(f"num_epochs must be a positive whole number (got '{num_epochs}')")
    for path in ("training_config.num_epochs", "num_epochs"):
        if spec.has(path):
            spec.set(path, epochs)
            return path
    if spec.has("training_config"):
        spec.set("training_config.num_epochs", epochs)
        return "training_config.num_epochs"
    raise SpecError(f"{source}: has neither training_config nor num_epochs; is this a training spec?")


def substitute_spec_file(spec_path: str | os.PathLike, output_path: str | os.PathLike,
                         substitutions: list[PathSubstitution],
                         num_epochs: int | None = None) -> list[SubstitutionRecord]:
    """Load, substitute, set num_epochs and write atomically to ``output_path``."""
    spec = load_spec(spec_path)
    records = substitute_paths(spec, substitutions, source=str(spec_path))
    if num_epochs is not None:
        set_num_epochs(spec, num_epochs, source=str(spec_path))
    atomic_write_text(output_path, dump_spec(spec))
    return records
