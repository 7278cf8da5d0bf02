"""DeepStream's key-file format (GLib GKeyFile): ``[group]`` lines, ``key=value`` lines, ``#`` comments
on their own lines. Writing is plain; reading keeps line numbers so the validator can point at them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import SpecError

IniSections = dict[str, dict[str, object]]


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) >= 1 else repr(value)
    return str(value)


def format_ini(sections: IniSections, header: list[str] | tuple[str, ...] = ()) -> str:
    lines = [f"# {line}" for line in header]
    for name, entries in sections.items():
        if lines:
            lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{key}={format_value(value)}" for key, value in entries.items())
    return "\n".join(lines) + "\n"


@dataclass
class IniEntry:
    key: str
    value: str
    line: int


@dataclass
class IniGroup:
    name: str
    line: int
    entries: list[IniEntry] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        for entry in reversed(self.entries):  # GKeyFile: the last duplicate wins
            if entry.key == key:
                return entry.value
        return default

    def entry(self, key: str) -> IniEntry | None:
        for entry in reversed(self.entries):
            if entry.key == key:
                return entry
        return None

    def keys(self) -> list[str]:
        return [e.key for e in self.entries]


@dataclass
class IniFile:
    path: Path
    groups: list[IniGroup]
    problems: list[tuple[int, str]]  # (line, message) for lines that are not group/key/comment

    def group(self, name: str) -> IniGroup | None:
        for group in self.groups:
            if group.name == name:
                return group
        return None


def parse_ini_text(text: str, path: str | os.PathLike = "<config>") -> IniFile:
    groups: list[IniGroup] = []
    problems: list[tuple[int, str]] = []
    current: IniGroup | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = IniGroup(line[1:-1].strip(), number)
            groups.append(current)
        elif "=" in line:
            key, value = line.split("=", 1)
            if current is None:
                problems.append((number, f"'{key.strip()}' appears before any [group]; put it under [property]"))
                continue
            current.entries.append(IniEntry(key.strip(), value.strip(), number))
        else:
            problems.append((number, f"'{line[:40]}' is neither a [group], a key=value line nor a # comment"))
    return IniFile(Path(path), groups, problems)


def read_ini(path: str | os.PathLike) -> IniFile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the config ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text config file (not UTF-8)") from None
    return parse_ini_text(text, path)
