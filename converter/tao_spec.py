"""Read, edit and write TAO/TLT experiment specs (protobuf text format) without their .proto.

A spec is parsed into a concrete syntax tree: every field keeps the whitespace and comments before
it, its separator, and the raw text of its value, so unedited text dumps back byte-identically and
an edit changes only the value it touches. Values are decoded without the schema:

- quoted strings (single or double, C escapes, adjacent strings concatenated) -> ``str``
- integers (decimal, hex, octal) -> ``int``; floats (``1e-5``, ``.5``, ``0.``, ``1.0f``, inf, nan) -> ``float``
- ``true``/``false``/``True``/``False`` -> ``bool``
- any other bare identifier -> ``Enum`` (a ``str`` subclass, e.g. ``FLOAT32``)
- ``name { ... }``, ``name: { ... }``, ``name < ... >`` -> ``SpecMessage``
- ``name: [a, b]`` -> a ``list`` of scalars

Dotted paths (``training_config.num_epochs``) walk nested messages and collect across repeated
ones; a segment may carry a selector: ``target_classes[1]`` (index) or
``target_class_config[key=mask]`` (a message whose field ``key`` equals ``mask``).
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

from taostream.converter.errors import SpecError
from taostream.converter.fileio import atomic_write_text


class Enum(str):
    """A bare identifier value (an enum constant such as ``FLOAT32`` or ``L1``)."""

    def __repr__(self) -> str:
        return f"Enum({str.__repr__(self)})"


Scalar = Union[str, int, float, bool, Enum]
Value = Union[Scalar, "SpecMessage", list]

_TRIVIA = re.compile(r"(?:[ \t\r\n\f\v]+|#[^\n]*)*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_OR_WORD = re.compile(r"-?[A-Za-z0-9_.+]+(?:(?<=[eE])[-+][0-9]+[fF]?)?")
_INT = re.compile(r"-?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?[fF]?")
_SPECIAL_FLOATS = {"inf": math.inf, "infinity": math.inf, "nan": math.nan}
_BOOLS = {"true": True, "True": True, "false": False, "False": False}
_SIMPLE_ESCAPES = {
    "n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", "'": b"'", '"': b'"',
    "a": b"\a", "b": b"\b", "f": b"\f", "v": b"\v", "?": b"?",
}
_CLOSING = {"{": "}", "<": ">"}


@dataclass
class SpecField:
    """One ``name: value`` or ``name { ... }`` entry, with the text around it kept verbatim."""

    name: str
    value: Value
    raw: str | None = None  # the value's source text; None for messages or after an edit
    prefix: str = "\n"  # whitespace and comments before the name
    separator: str = ": "  # text between the name and the value (or the opening brace)
    terminator: str = ""  # an optional ';' or ',' after the value, with the trivia before it
    line: int = 0
    column: int = 0

    def set_value(self, value: Value) -> None:
        """Replace the value, keeping this field's quoting and boolean spelling where possible."""
        if isinstance(self.value, SpecMessage) != isinstance(value, SpecMessage):
            kind = "a message" if isinstance(self.value, SpecMessage) else "a scalar"
            raise SpecError(
                f"field '{self.name}' (line {self.line}) holds {kind}; "
                f"it cannot be replaced by {type(value).__name__}"
            )
        if isinstance(value, SpecMessage):
            if ":" not in self.separator and not self.separator.strip():
                self.separator = self.separator or " "
            self.value = value
            return
        self.raw = format_value(value, like=self.raw)
        self.value = value


class SpecMessage:
    """A message: an ordered list of fields plus the trivia before its closing brace."""

    def __init__(self, fields: list[SpecField] | None = None, *, opening: str = "{",
                 trailing: str = "", source: str = "<spec>", is_root: bool = False):
        self.fields: list[SpecField] = list(fields or [])
        self.is_root = is_root
        self.opening = opening
        self.trailing = trailing
        self.source = source

    # ---- reading -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[str, Value]]:
        for entry in self.fields:
            if isinstance(entry.value, list):
                for item in entry.value:
                    yield entry.name, item
            else:
                yield entry.name, entry.value

    def __len__(self) -> int:
        return len(self.fields)

    def __bool__(self) -> bool:
        return True  # an empty block (`cov {}`) is present, not absent

    def __contains__(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    def __repr__(self) -> str:
        return f"SpecMessage({[f.name for f in self.fields]})"

    def keys(self) -> list[str]:
        """Field names in file order, each once."""
        return list(dict.fromkeys(f.name for f in self.fields))

    def find_fields(self, dotted_path: str) -> list[SpecField]:
        """Every field the path names, in file order."""
        segments = _parse_path(dotted_path)
        messages: list[SpecMessage] = [self]
        found: list[SpecField] = []
        for depth, segment in enumerate(segments):
            found = []
            for message in messages:
                found.extend(segment.select([f for f in message.fields if f.name == segment.name]))
            if depth < len(segments) - 1:
                messages = [f.value for f in found if isinstance(f.value, SpecMessage)]
        return found

    def get_all(self, dotted_path: str) -> list[Value]:
        values: list[Value] = []
        for entry in self.find_fields(dotted_path):
            values.extend(entry.value if isinstance(entry.value, list) else [entry.value])
        return values

    def get(self, dotted_path: str, default: Any = None) -> Any:
        values = self.get_all(dotted_path)
        return values[0] if values else default

    def has(self, dotted_path: str) -> bool:
        return bool(self.find_fields(dotted_path))

    def to_dict(self) -> dict[str, list]:
        """Every key maps to a list of its values; messages become dicts, enums plain str."""
        result: dict[str, list] = {}
        for name, value in self:
            if isinstance(value, SpecMessage):
                value = value.to_dict()
            elif isinstance(value, Enum):
                value = str(value)
            result.setdefault(name, []).append(value)
        return result

    def walk(self, prefix: str = "") -> Iterator[tuple[str, SpecField]]:
        """Yield (dotted path, field) for every field at any depth, in file order."""
        for entry in self.fields:
            path = f"{prefix}{entry.name}"
            yield path, entry
            if isinstance(entry.value, SpecMessage):
                yield from entry.value.walk(path + ".")

    # ---- editing -------------------------------------------------------------------------------
    def set(self, dotted_path: str, value: Value) -> SpecField:
        """Set the first field the path names; create it (and missing parents) if absent."""
        found = self.find_fields(dotted_path)
        if found:
            found[0].set_value(value)
            return found[0]
        parent_path, _, name = dotted_path.rpartition(".")
        parent = self._ensure_message(parent_path) if parent_path else self
        return parent.append_field(_plain_name(name, dotted_path), value)

    def replace_value(self, old: Scalar, new: Scalar, dotted_path: str | None = None) -> int:
        """Replace every scalar equal to ``old`` (as a whole value) by ``new``; return the count.

        With ``dotted_path`` only the fields that path names are considered.
        """
        entries = self.find_fields(dotted_path) if dotted_path else [f for _, f in self.walk()]
        count = 0
        for entry in entries:
            if not isinstance(entry.value, (SpecMessage, list)) and _same_scalar(entry.value, old):
                entry.set_value(new)
                count += 1
        return count

    def add(self, dotted_path: str, value: Value) -> SpecField:
        """Append another ``name: value`` (a repeated field) in the message the path names."""
        parent_path, _, name = dotted_path.rpartition(".")
        parent = self._ensure_message(parent_path) if parent_path else self
        return parent.append_field(_plain_name(name, dotted_path), value)

    def remove(self, dotted_path: str) -> int:
        """Remove every field the path names (with the comments just before it); return the count."""
        targets = {id(f) for f in self.find_fields(dotted_path)}
        removed = 0
        for _, entry in [("", None)] + list(self.walk()):
            message = self if entry is None else entry.value
            if not isinstance(message, SpecMessage):
                continue
            kept = [f for f in message.fields if id(f) not in targets]
            removed += len(message.fields) - len(kept)
            message.fields = kept
        return removed

    def append_field(self, name: str, value: Value) -> SpecField:
        """Append ``name: value`` after the last field, indented like its siblings."""
        indent = self._child_indent()
        if self.fields or (self.is_root and self.trailing):
            prefix = "\n" + indent
        elif self.is_root:
            prefix = ""
        elif "\n" in self.trailing:
            prefix = "\n" + indent
        else:  # an empty one-line block "{}" stays on one line
            prefix = " "
            self.trailing = self.trailing or " "
        if isinstance(value, SpecMessage):
            value.is_root = False
            if not value.fields and not value.trailing:
                value.trailing = "\n" + indent  # so children go on their own lines
            entry = SpecField(name, value, None, prefix, " ")
            _reindent(value, indent)
        else:
            entry = SpecField(name, value, format_value(value), prefix, ": ")
        self.fields.append(entry)
        return entry

    def _child_indent(self) -> str:
        if self.is_root:
            return ""
        for entry in self.fields:
            if "\n" in entry.prefix:
                return entry.prefix.rsplit("\n", 1)[1]
        if "\n" in self.trailing:
            return self.trailing.rsplit("\n", 1)[1] + "  "
        return ""

    def _ensure_message(self, dotted_path: str) -> "SpecMessage":
        found = [f for f in self.find_fields(dotted_path) if isinstance(f.value, SpecMessage)]
        if found:
            return found[0].value
        parent_path, _, name = dotted_path.rpartition(".")
        parent = self._ensure_message(parent_path) if parent_path else self
        child = SpecMessage(source=self.source)
        parent.append_field(_plain_name(name, dotted_path), child)
        return child


def _reindent(message: SpecMessage, indent: str) -> None:
    """Give a message built in code (not parsed) the indentation of its new place."""
    if any(entry.line for entry in message.fields):
        return  # parsed text keeps its own layout
    inner = indent + "  "
    for entry in message.fields:
        entry.prefix = "\n" + inner
        if isinstance(entry.value, SpecMessage):
            _reindent(entry.value, inner)
    message.trailing = "\n" + indent


# ---- paths ----------------------------------------------------------------------------------------
@dataclass
class _Segment:
    name: str
    index: int | None = None
    key_field: str | None = None
    key_value: str | None = None

    def select(self, fields: list[SpecField]) -> list[SpecField]:
        if self.index is not None:
            return fields[self.index:self.index + 1] if -len(fields) <= self.index < len(fields) else []
        if self.key_field is not None:
            return [f for f in fields if isinstance(f.value, SpecMessage)
                    and str(f.value.get(self.key_field)) == self.key_value]
        return fields


_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(?:(-?\d+)|([A-Za-z_][A-Za-z0-9_]*)=(.*))\])?$")


def _parse_path(dotted_path: str) -> list[_Segment]:
    parts = split_path(dotted_path)
    segments = []
    for part in parts:
        match = _SEGMENT.match(part)
        if not match:
            raise SpecError(
                f"spec path '{dotted_path}': segment '{part}' is not a field name "
                "(use name, name[INDEX] or name[FIELD=VALUE])"
            )
        name, index, key_field, key_value = match.groups()
        segments.append(_Segment(name, int(index) if index else None, key_field,
                                 key_value.strip("\"'") if key_value is not None else None))
    return segments


def split_path(dotted_path: str) -> list[str]:
    """A dotted path's segments as written (``a``, ``b[1]``, ``c[key=x.y]``): split on dots outside
    [...] so selectors may hold dotted values."""
    parts, depth, current = [], 0, []
    for char in dotted_path:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "." and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _plain_name(name: str, dotted_path: str) -> str:
    if not _IDENT.fullmatch(name):
        raise SpecError(f"spec path '{dotted_path}': cannot create field '{name}' (a selector "
                        "matched nothing); create it by its plain name")
    return name


def _same_scalar(value: Scalar, other: Scalar) -> bool:
    if isinstance(value, bool) or isinstance(other, bool):
        return type(value) is type(other) and value == other
    return value == other


# ---- values ---------------------------------------------------------------------------------------
def format_value(value: Value, like: str | None = None) -> str:
    """Protobuf text for a scalar or list; ``like`` is the old raw text whose style is kept."""
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, bool):
        capital = bool(like) and like[:1] in ("T", "F")
        return ("True" if value else "False") if capital else ("true" if value else "false")
    if isinstance(value, Enum):
        if not _IDENT.fullmatch(value):
            raise SpecError(f"enum value '{value}' is not an identifier")
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".eE") else text + ".0"
    if isinstance(value, str):
        quote = "'" if like and like.startswith("'") else '"'
        return quote + _escape(value, quote) + quote
    raise SpecError(f"cannot write a {type(value).__name__} into a spec (value {value!r})")


def _escape(text: str, quote: str) -> str:
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == quote:
            out.append("\\" + quote)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):03o}")
        else:
            out.append(char)
    return "".join(out)


# ---- parsing --------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.pos = 0

    def error(self, expected: str, pos: int | None = None) -> SpecError:
        pos = self.pos if pos is None else pos
        line, column = self.line_column(pos)
        found = self.text[pos:pos + 12].split("\n")[0]
        found = f"'{found}'" if pos < len(self.text) else "end of file"
        return SpecError(f"{self.source}:{line}:{column}: expected {expected}, found {found}")

    def line_column(self, pos: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, pos) + 1
        return line, pos - (self.text.rfind("\n", 0, pos) + 1) + 1

    def trivia(self) -> str:
        match = _TRIVIA.match(self.text, self.pos)
        self.pos = match.end()
        return match.group()

    def peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def message_body(self, closing: str | None, opening: str = "{") -> SpecMessage:
        message = SpecMessage(opening=opening, source=self.source, is_root=closing is None)
        while True:
            prefix = self.trivia()
            char = self.peek()
            if not char or char == closing:
                if closing and not char:
                    raise self.error(f"'{closing}' to close the block")
                message.trailing = prefix
                self.pos += len(char)
                return message
            if char in "}>":
                raise self.error("a field name (unbalanced closing bracket)")
            message.fields.append(self.field(prefix))

    def field(self, prefix: str) -> SpecField:
        start = self.pos
        match = _IDENT.match(self.text, self.pos)
        if not match:
            raise self.error("a field name")
        self.pos = match.end()
        line, column = self.line_column(start)
        separator_start = self.pos
        self.trivia()
        has_colon = self.peek() == ":"
        if has_colon:
            self.pos += 1
            self.trivia()
        separator = self.text[separator_start:self.pos]
        char = self.peek()
        if char in _CLOSING:
            self.pos += 1
            value: Value = self.message_body(_CLOSING[char], opening=char)
            raw = None
        elif has_colon:
            value, raw = self.scalar_or_list(match.group())
        else:
            raise self.error(f"':' or '{{' after field name '{match.group()}'")
        entry = SpecField(match.group(), value, raw, prefix, separator, "", line, column)
        entry.terminator = self.terminator()
        return entry

    def terminator(self) -> str:
        saved = self.pos
        trivia = self.trivia()
        if self.peek() in (";", ","):
            self.pos += 1
            return trivia + self.text[self.pos - 1]
        self.pos = saved
        return ""

    def scalar_or_list(self, name: str) -> tuple[Value, str]:
        start = self.pos
        if self.peek() == "[":
            self.pos += 1
            items: list[Scalar] = []
            self.trivia()
            while self.peek() != "]":
                if self.peek() in _CLOSING:
                    raise self.error(f"a scalar in the list of '{name}' (lists of messages are not supported)")
                items.append(self.scalar(name))
                self.trivia()
                if self.peek() == ",":
                    self.pos += 1
                    self.trivia()
                elif self.peek() != "]":
                    raise self.error(f"',' or ']' in the list of '{name}'")
            self.pos += 1
            return items, self.text[start:self.pos]
        value = self.scalar(name)
        return value, self.text[start:self.pos]

    def scalar(self, name: str) -> Scalar:
        char = self.peek()
        if char in ("'", '"'):
            parts = [self.string()]
            while True:  # adjacent strings concatenate, as in C
                saved = self.pos
                self.trivia()
                if self.peek() in ("'", '"'):
                    parts.append(self.string())
                else:
                    self.pos = saved
                    return "".join(parts)
        match = _NUMBER_OR_WORD.match(self.text, self.pos)
        if not match:
            raise self.error(f"a value for field '{name}'")
        word = match.group()
        value = _decode_word(word)
        if value is None:
            raise self.error(f"a number, identifier or quoted string for field '{name}'")
        self.pos = match.end()
        return value

    def string(self) -> str:
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        out = bytearray()
        text = self.text
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise self.error(f"closing {quote} of the string started here", start)
            char = text[self.pos]
            if char == quote:
                self.pos += 1
                break
            if char == "\\":
                out += self.escape()
            else:
                out += char.encode("utf-8")
                self.pos += 1
        try:
            return out.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("a string whose escapes form valid UTF-8", start) from None

    def escape(self) -> bytes:
        start = self.pos
        char = self.text[self.pos + 1:self.pos + 2]
        if char in _SIMPLE_ESCAPES:
            self.pos += 2
            return _SIMPLE_ESCAPES[char]
        for pattern, base, width in ((r"[0-7]{1,3}", 8, 0), (r"[xX][0-9a-fA-F]{1,2}", 16, 1),
                                     (r"u[0-9a-fA-F]{4}", 16, 1), (r"U[0-9a-fA-F]{8}", 16, 1)):
            match = re.compile(pattern).match(self.text, self.pos + 1)
            if match:
                self.pos = match.end()
                number = int(match.group()[width:], base)
                if char in "uU":
                    return chr(number).encode("utf-8", "surrogatepass")
                if number > 255:
                    raise self.error("an octal escape below \\400", start)
                return bytes([number])
        raise self.error("a valid escape (\\n \\t \\\\ \\\" \\' \\NNN \\xHH \\uXXXX)", start)


def _decode_word(word: str) -> Scalar | None:
    if _INT.fullmatch(word):
        body = word.lstrip("-")
        if body.lower().startswith("0x"):
            number = int(body, 16)
        elif len(body) > 1 and body.startswith("0"):
            number = int(body, 8)
        else:
            number = int(body)
        return -number if word.startswith("-") else number
    if _FLOAT.fullmatch(word) and any(c.isdigit() for c in word):
        return float(word.rstrip("fF"))
    bare = word.lstrip("-")
    if bare.lower() in _SPECIAL_FLOATS:
        number = _SPECIAL_FLOATS[bare.lower()]
        return -number if word.startswith("-") else number
    if word in _BOOLS:
        return _BOOLS[word]
    if _IDENT.fullmatch(word):
        return Enum(word)
    return None


# ---- public entry points --------------------------------------------------------------------------
def parse_spec(text: str, source: str = "<spec>") -> SpecMessage:
    """Parse spec text; raise SpecError with file:line:column on malformed input."""
    return _Parser(text, source).message_body(None)


def load_spec(path: str | os.PathLike) -> SpecMessage:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found; check the path") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a folder; give the TAO experiment spec file (e.g. spec.txt)") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start}); is this really a spec file?") from None
    return parse_spec(text, str(path))


def dump_spec(message: SpecMessage) -> str:
    """The spec text: the original bytes wherever nothing was edited."""
    out: list[str] = []
    _dump_body(message, out)
    return "".join(out)


def _dump_body(message: SpecMessage, out: list[str]) -> None:
    for entry in message.fields:
        out.append(entry.prefix)
        out.append(entry.name)
        out.append(entry.separator)
        if isinstance(entry.value, SpecMessage):
            out.append(entry.value.opening)
            _dump_body(entry.value, out)
            out.append(_CLOSING[entry.value.opening])
        else:
            out.append(entry.raw if entry.raw is not None else format_value(entry.value))
        out.append(entry.terminator)
    out.append(message.trailing)


def save_spec(message: SpecMessage, path: str | os.PathLike, like: str | os.PathLike | None = None) -> None:
    """Write atomically (temporary file, then rename) with the permissions of ``like`` (default: the
    file replaced), else 0644: a spec may hold the model key (FasterRCNN's enc_key), and one the user
    keeps private (0600) must not become readable by every user when it is edited or copied."""
    source = like if like is not None else path
    try:
        mode = stat.S_IMODE(os.stat(source).st_mode)
    except FileNotFoundError:
        mode = 0o644
    atomic_write_text(path, dump_spec(message), mode)
