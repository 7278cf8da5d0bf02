"""Protobuf text format writer for plain Python data: dicts are messages, lists of dicts are repeated
messages, lists of scalars are repeated scalars ``[a, b]``, ``Enum`` values are written bare."""

from __future__ import annotations

import json


class Enum(str):
    """A protobuf enum value (written without quotes)."""


def _scalar(value: object) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(str(value))


def format_pbtxt(message: dict, indent: int = 0) -> str:
    pad = "  " * indent
    lines = []
    for key, value in message.items():
        if value is None:
            continue
        if isinstance(value, dict):
            lines.append(f"{pad}{key} {{")
            lines.append(format_pbtxt(value, indent + 1).rstrip("\n"))
            lines.append(f"{pad}}}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                lines.append(f"{pad}{key} {{")
                lines.append(format_pbtxt(item, indent + 1).rstrip("\n"))
                lines.append(f"{pad}}}")
        elif isinstance(value, list):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(v) for v in value)}]")
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return "\n".join(line for line in lines if line) + "\n"
