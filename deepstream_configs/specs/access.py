"""Read values out of a parsed TAO experiment spec by dotted path.

The spec reader (converter/tao_spec.py) gives a ``SpecMessage`` whose ``to_dict()`` maps every key to
the LIST of its values (repeated fields), nested messages as dicts. These helpers walk that shape so
that the label and config writers do not care whether a field was repeated or how deep it sits.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

import yaml

from taostream.converter.errors import SpecError
from taostream.converter.tao_spec import load_spec

SpecDict = dict[str, list[Any]]

# The fields of TAO's DetectNet_v2 ClusteringConfig message (postprocessing_config.proto, and the inference
# spec's bbox handler); TAO's protobuf text reader refuses any other name in a clustering_config block.
DETECTNET_CLUSTERING_FIELDS = (
    "coverage_threshold", "minimum_bounding_box_height", "clustering_algorithm", "dbscan_eps", "dbscan_min_samples",
    "neighborhood_size", "dbscan_confidence_threshold", "nms_iou_threshold", "nms_confidence_threshold")


def refuse_unknown_fields(message: Any, known, source: str, where: str) -> None:
    """A SpecError naming the first field of ``message`` (a spec dict) that ``known`` lacks: a misspelled
    field is not dropped for a default (TAO itself refuses the spec)."""
    if not isinstance(message, dict):
        return
    for name in message:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"the fields are {', '.join(known)}"
            raise SpecError(f"{source}: {where}{name}: no such field in TAO's DetectNet_v2 clustering_config "
                            f"(TAO refuses the spec too); {hint}")


def as_spec_dict(spec: Any) -> SpecDict:
    """A SpecMessage (anything with ``to_dict``), a ready dict, or None (an empty spec)."""
    if spec is None:
        return {}
    if isinstance(spec, dict):
        return spec
    to_dict = getattr(spec, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"expected a parsed TAO spec (SpecMessage or dict), got {type(spec).__name__}")
    return to_dict()


def spec_values(spec: SpecDict, dotted_path: str) -> list[Any]:
    """Every value at ``dotted_path`` in file order, descending through repeated messages."""
    current: list[Any] = [spec]
    for part in dotted_path.split("."):
        found: list[Any] = []
        for node in current:
            if isinstance(node, dict) and part in node:
                value = node[part]
                found.extend(value if isinstance(value, list) else [value])
        current = found
    return current


def spec_value(spec: SpecDict, dotted_path: str, default: Any = None) -> Any:
    values = spec_values(spec, dotted_path)
    return values[0] if values else default


def spec_map(spec: SpecDict, dotted_path: str) -> list[tuple[Any, Any]]:
    """A protobuf map field (repeated ``{key: .., value: ..}`` entries) as (key, value) pairs."""
    pairs = []
    for entry in spec_values(spec, dotted_path):
        if isinstance(entry, dict):
            pairs.append((spec_value(entry, "key"), spec_value(entry, "value")))
    return pairs


class YamlSpec:
    """A YAML experiment spec (TAO's TF2 networks: classification_tf2, efficientdet_tf2) in the reader's
    shape: every mapping key -> the LIST of its values (a YAML list is a repeated field)."""

    def __init__(self, data: dict, source: str):
        self.source = source
        self._dict = _as_lists(data)

    def to_dict(self) -> SpecDict:
        return self._dict


def _as_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): [_as_lists(item) for item in v] if isinstance(v, list) else [_as_lists(v)]
                for k, v in value.items()}
    return value


def _yaml_spec(path: str | os.PathLike) -> YamlSpec | None:
    """The file as a YamlSpec when it is a YAML mapping with at least one nested mapping (a protobuf-text
    spec is none), else None. A file that looks like YAML (looks_like_yaml) but does not parse is a
    SpecError naming the YAML problem's line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        if looks_like_yaml(text):
            raise SpecError(yaml_error_line(path, exc)) from None
        return None
    if isinstance(data, dict) and any(isinstance(v, dict) for v in data.values()):
        return YamlSpec(data, str(path))
    return None


# A top-level key with nothing after its colon ("dataset:"): a YAML block opens, when indented lines follow.
# Protobuf text opens a message with "name {" (its colon, if any, is followed by the brace or a value).
_YAML_BLOCK_KEY = re.compile(r"[A-Za-z_][\w.-]*\s*:\s*(#.*)?")


def looks_like_yaml(text: str) -> bool:
    """True when ``text`` is written as YAML (TAO's TF2 specs) rather than protobuf text (TAO's TF1 specs):
    it starts a YAML document ('---'), or a top-level ``key:`` line opens an indented block."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if lines and lines[0] == "---":
        return True
    for line, following in zip(lines, lines[1:]):
        if _YAML_BLOCK_KEY.fullmatch(line) and following[:1] in (" ", "\t", "-"):
            return True
    return False


def yaml_error_line(path: str | os.PathLike, exc: yaml.YAMLError) -> str:
    """One line: the file, the 1-based line and column of the YAML problem, what it is, and the fix."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        problem += f" ({context} that starts at line {context_mark.line + 1}, column {context_mark.column + 1})"
    elif context:
        problem += f" ({context})"
    tab = "'\\t'" in problem  # PyYAML quotes the character it found with repr()
    hint = "indent with spaces, not tabs" if tab else "check the indentation, colons, quotes and brackets there"
    return f"{where}: this YAML spec (TAO's TF2 format) does not parse: {problem}; {hint}"


def load_spec_file(path: str | os.PathLike) -> Any:
    """Parse a TAO spec file with the shared reader (imported lazily: it lives in converter/); a
    DetectNet_v2 inference spec comes back as the training-spec fields it determines, a YAML spec
    (TAO's TF2 networks) as a YamlSpec. A YAML spec that does not parse is reported as YAML (its line,
    column and problem), not with the protobuf text parser's complaint."""
    from taostream.deepstream_configs.specs.inference_spec import as_training_spec  # lazy: CLI start-up

    try:
        spec = load_spec(path)
    except SpecError:
        yaml_spec = _yaml_spec(path) if Path(path).is_file() else None
        if yaml_spec is None:
            raise
        return yaml_spec
    return as_training_spec(spec, str(path))
