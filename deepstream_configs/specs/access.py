"""Read values out of a parsed TAO experiment spec by dotted path.

The spec reader (converter/tao_spec.py) gives a ``SpecMessage`` whose ``to_dict()`` maps every key to
the LIST of its values (repeated fields), nested messages as dicts. These helpers walk that shape so
that the label and config writers do not care whether a field was repeated or how deep it sits.
"""

from __future__ import annotations

import os
from typing import Any

from taostream.converter.tao_spec import load_spec

SpecDict = dict[str, list[Any]]


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


def load_spec_file(path: str | os.PathLike) -> Any:
    """Parse a TAO spec file with the shared reader (imported lazily: it lives in converter/); a
    DetectNet_v2 inference spec comes back as the training-spec fields it determines."""
    from taostream.deepstream_configs.specs.inference_spec import as_training_spec  # lazy: CLI start-up

    return as_training_spec(load_spec(path), str(path))
