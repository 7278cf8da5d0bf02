"""`taostream check`: validate nvinfer and deepstream-app configs, generated or hand-written.

Every finding names the file, the line, the group and key, what is wrong and how to fix it. Errors
are what makes DeepStream fail or silently misbehave; warnings are legacy or doubtful settings.
A deepstream-app config also validates the nvinfer configs its GIE groups reference.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from taostream.deepstream_configs.config_schema import KeySpec
from taostream.deepstream_configs.elf_symbols import ElfError
from taostream.deepstream_configs.ini import IniFile, IniGroup, read_ini
from taostream.deepstream_configs.bundle.jetson_library import PLATFORM_MACHINES, host_machine, library_machine
from taostream.deepstream_configs.bundle.manifest import MANIFEST_FILE, manifest_or_none
from taostream.deepstream_configs.nvinfer import DEFAULT_DEEPSTREAM, PARSER_LIBRARY_NAME, deepstream_major

ERROR, WARNING = "error", "warning"
# Paths inside a DeepStream installation exist only on the deployment host.
DEEPSTREAM_INSTALL_PREFIX = "/opt/nvidia/deepstream"


@dataclass(frozen=True)
class Finding:
    severity: str
    path: Path
    line: int | None
    group: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        what = f"[{self.group}] " if self.group else ""
        what += f"{self.key}: " if self.key else ""
        return f"{where}: {self.severity}: {what}{self.message}"


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


def unreadable_finding(path: str | os.PathLike) -> Finding:
    """The finding for a file this user may not read (a root-owned copy, umask 077)."""
    path = Path(os.path.normpath(path))
    return Finding(ERROR, path, None, None, None, f"cannot read it (permission denied): give yourself read access "
                                                  f"(chmod a+r {path}) or run as the file's owner")


def note_unreadable(report: CheckReport, path: str | os.PathLike) -> None:
    """Report ``path`` as unreadable once, however many checks meet it."""
    finding = unreadable_finding(path)
    if finding not in report.findings:
        report.findings.append(finding)


def is_readable(path: str | os.PathLike) -> bool:
    """False when opening ``path`` is refused (permission denied); True otherwise (also when absent:
    the missing-file checks report that)."""
    try:
        with open(path, "rb"):
            return True
    except PermissionError:
        return False
    except OSError:
        return True


def nearest(word: str, candidates) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


@dataclass
class ModelFacts:
    """What the validator needs from an ONNX model."""

    path: Path
    inputs: dict[str, tuple]
    outputs: list[str]
    quantized: bool  # has QuantizeLinear/DequantizeLinear nodes (explicit INT8)
    layers: frozenset[str] = frozenset()  # node names (TensorRT's layer names for an ONNX network)
    classes: object = None  # converter.model_classes.ModelClasses: the class ids the graph outputs, if it says
    proto: object | None = None  # the onnx.ModelProto (no external data): which ops TensorRT must parse
    # an .etlt's payload as ONNX (UFF translated; proto stays None): the tensor names a cache names
    translation: object | None = None


class UnreadableModel(ValueError):
    """An .onnx file that does not parse (truncated copy, another file renamed), or that this user may
    not read. ``fix``: what to do (callers word it for a damaged file unless it is set)."""

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.fix = fix


def read_model_facts(path: str | os.PathLike) -> ModelFacts | None:
    """Facts of an ONNX model, or None when the file is not ONNX (an engine, an .etlt) or absent.
    Raises UnreadableModel for an .onnx file that does not parse."""
    path = Path(path)
    if path.suffix.lower() != ".onnx" or not path.is_file():
        return None
    import onnx  # lazy: heavy (loaded only when a config names an ONNX model)

    try:
        model = onnx.load(str(path), load_external_data=False)
    except PermissionError:
        raise UnreadableModel(f"{path}: cannot read it (permission denied)", "give yourself read access "
                              f"(chmod a+r {path}) or run as the file's owner") from None
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others for a damaged file
        raise UnreadableModel(f"{path}: not a readable ONNX model ({type(exc).__name__}: {str(exc)[:120]})") from None
    return _model_facts_of(path, model)


def read_etlt_model_facts(path: str | os.PathLike, key: str) -> ModelFacts | None:
    """Facts of the model in an .etlt (a config's tlt-encoded-model decoded with its tlt-model-key), or
    None when the file is absent. ``proto`` is None: DeepStream parses the payload (UFF for TLT 2/3), not
    taostream's ONNX translation of it. Raises EtltError for a wrong key or a damaged file."""
    path = Path(path)
    if not path.is_file():
        return None
    # lazy: heavy (onnx, the UFF translator), loaded only for a config naming an .etlt
    from taostream.converter.model.loader import load_onnx_model, open_model

    # layers: the UFF's node names are TensorRT's layer names there, not the translation's
    model = load_onnx_model(open_model(path, key))
    return replace(_model_facts_of(path, model), proto=None, layers=frozenset(), translation=model)


def _model_facts_of(path: Path, model) -> ModelFacts:
    from taostream.converter.model.inspection import graph_inputs  # lazy: heavy (with onnx, as above)

    inputs = {}
    for value in graph_inputs(model):
        dims = value.type.tensor_type.shape.dim
        inputs[value.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
    quantized = any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node)
    layers = frozenset(n.name or n.output[0] for n in model.graph.node)
    from taostream.converter.model.classes import model_classes  # lazy: heavy (imports onnx at its top)

    return ModelFacts(path, inputs, [o.name for o in model.graph.output], quantized, layers, model_classes(model),
                      proto=model)


class _Checker:
    """Collects the findings for one config file."""

    def __init__(self, ini: IniFile, major: int, report: CheckReport, version: tuple[int, int] | None = None,
                 deepstream: str | None = None):
        self.ini, self.major, self.report = ini, major, report
        self.version = version or (major, 0)  # (major, minor): some keys came and went in minor releases
        # The release as given ('6.1.1'): its TensorRT (versions.py) differs even within a minor.
        self.deepstream = deepstream or ".".join(map(str, self.version))
        self.folder = ini.path.parent

    def add(self, severity: str, group: IniGroup | None, key: str | None, message: str, line: int | None = None):
        if line is None and group is not None:
            entry = group.entry(key) if key else None
            line = entry.line if entry else group.line
        self.report.findings.append(Finding(severity, self.ini.path, line, group.name if group else None, key, message))

    def resolve(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.folder / path

    def check_keys(self, group: IniGroup, known: dict[str, KeySpec]) -> dict[str, object]:
        """Unknown keys, duplicates and types; returns the parsed values of the known keys."""
        values: dict[str, object] = {}
        seen: set[str] = set()
        for entry in group.entries:
            if entry.key in seen:
                self.add(WARNING, group, entry.key, "set twice; the last value wins: delete one", entry.line)
            seen.add(entry.key)
            spec = known.get(entry.key)
            if spec is None:
                hint = nearest(entry.key, known)
                fix = f"did you mean '{hint}'?" if hint else "delete it (see the DeepStream plugin manual for valid keys)"
                self.add(ERROR, group, entry.key, f"unknown key, ignored by DeepStream; {fix}", entry.line)
                continue
            parsed, problem = parse_value(spec, entry.value)
            if problem:
                self.add(ERROR, group, entry.key, f"{problem} (got '{entry.value}')", entry.line)
                continue
            values[entry.key] = parsed
        return values

    def check_file(self, group: IniGroup, key: str, value: object, severity: str = ERROR, why: str = "") -> bool:
        text = str(value)
        if text.startswith(DEEPSTREAM_INSTALL_PREFIX):
            return True
        path = self.resolve(text)
        relative = "" if Path(text).is_absolute() else f" (relative to the config's folder {self.folder})"
        if path.is_dir():  # nvinfer / deepstream-app cannot open a folder as the file
            self.add(severity, group, key, f"{path}{relative} is a folder; name the file in it (or fix the path)")
            return False
        if path.exists():
            return True
        self.add(severity, group, key, f"file not found: {path}{relative}{why}; fix the path or create the file")
        return False


def bundle_manifest(config_path: Path) -> tuple[Path, dict] | None:
    """The manifest.json of the `taostream bundle` folder a config belongs to (beside it, or one
    folder up from bundle/deepstream/), if any: it says which platform the bundle targets. A
    manifest.json that load_manifest refuses is some other file (or a broken bundle, which
    `taostream check BUNDLE` reports): passed over, as a config outside any bundle."""
    for folder in (config_path.parent, config_path.parent.parent):
        path = folder / MANIFEST_FILE
        manifest = manifest_or_none(path)
        if manifest is not None and "platform" in manifest:
            return path, manifest
    return None


def library_built_on_device(config_path: Path, library: Path) -> str | None:
    """The warning for a missing custom library that a Jetson bundle made on x86 without the aarch64
    cross compiler is meant to lack: its manifest says platform=jetson with no parser_library, and
    the library is built on the device with scripts/jetson_build.sh. None in every other case."""
    bundle = bundle_manifest(config_path) or bundle_manifest(Path(library))  # a pipeline's config is outside the bundle
    if bundle is None:
        return None
    manifest_path, manifest = bundle
    if manifest.get("platform") != "jetson" or manifest.get("parser_library"):
        return None
    expected = manifest_path.parent / "lib" / PARSER_LIBRARY_NAME
    if os.path.normpath(os.path.abspath(library)) != os.path.normpath(os.path.abspath(expected)):
        return None
    return (f"{library} is not built yet: this Jetson bundle was made without the aarch64 cross compiler, so "
            f"the parser library is built on the device: run scripts/jetson_build.sh --bundle "
            f"{manifest_path.parent} on the Jetson (docs/jetson.md) before starting DeepStream")


_MACHINE_FIX = {
    "aarch64": "rebuild it for the Jetson: on the device run scripts/jetson_build.sh --bundle <bundle folder>, or "
               "re-run `taostream bundle --platform jetson` on a host with the aarch64 cross compiler "
               "(apt-get install g++-aarch64-linux-gnu libc6-dev-arm64-cross)",
    "x86_64": "rebuild it on an x86-64 host (cmake -S <taostream> -B build && cmake --build build) or re-run "
              "`taostream bundle --platform x86`",
}


def library_machine_finding(config_path: Path, library: Path) -> tuple[str, str] | None:
    """(severity, message) when a config's custom library is built for another CPU: dlopen() refuses
    it. An error when the bundle's manifest.json names the other platform; outside a bundle a warning
    when it is not this host's machine (the config may be meant for another device); None otherwise
    (or when the file is no readable ELF: the export check reports that)."""
    try:
        machine = library_machine(library)
    except ElfError:
        return None
    bundle = bundle_manifest(config_path) or bundle_manifest(Path(library))  # a pipeline's config is outside the bundle
    if bundle is not None:
        manifest_path, manifest = bundle
        expected = PLATFORM_MACHINES.get(str(manifest["platform"]))
        if expected is None or machine == expected:
            return None
        return ERROR, (f"{library} is an {machine} library but {manifest_path} says platform={manifest['platform']} "
                       f"({expected}): DeepStream there cannot load it; {_MACHINE_FIX.get(expected, 'rebuild it for ' + expected)}")
    host = host_machine()
    if machine == host:
        return None
    return WARNING, (f"{library} is an {machine} library and this host is {host}: fine if the config is for an "
                     f"{machine} device, otherwise {_MACHINE_FIX.get(host, 'rebuild it for ' + host)}")


def parse_value(spec: KeySpec, raw: str) -> tuple[object, str | None]:
    """(value, None) or (None, problem)."""
    text = raw.strip()
    if " #" in text or "\t#" in text:
        return None, "inline comment: GKeyFile keeps it as part of the value; move the comment to its own line"
    kind = spec.type
    try:
        if kind in ("int", "uint"):
            value = int(text)
        elif kind == "double":
            value = float(text)
        elif kind in ("int_list", "uint_list"):
            value = [int(v) for v in text.rstrip(";").split(";") if v.strip() != ""]
        elif kind == "double_list":
            value = [float(v) for v in text.rstrip(";").split(";") if v.strip() != ""]
        elif kind == "string_list":
            value = [v.strip() for v in text.rstrip(";").split(";") if v.strip()]
        else:
            if not text:
                return None, "empty value: give a value or delete the key"
            return text, None
    except ValueError:
        expected = {"int": "an integer", "uint": "a non-negative integer", "double": "a number",
                    "int_list": "integers separated by ';'", "uint_list": "integers separated by ';'",
                    "double_list": "numbers separated by ';'"}[kind]
        return None, f"expected {expected}"
    items = value if isinstance(value, list) else [value]
    if kind in ("uint", "uint_list") and any(v < 0 for v in items):
        return None, "must not be negative"
    if spec.minimum is not None and any(v < spec.minimum for v in items):
        return None, f"must be at least {spec.minimum:g}"
    if spec.maximum is not None and any(v > spec.maximum for v in items):
        return None, f"must be at most {spec.maximum:g}"
    if spec.above is not None and any(v <= spec.above for v in items):
        return None, f"must be greater than {spec.above:g}"
    if spec.allowed is not None and value not in spec.allowed:
        return None, f"must be one of {', '.join(str(a) for a in spec.allowed)}"
    return value, None


def deepstream_version(version: str) -> tuple[int, int]:
    """'6.2' -> (6, 2); the major is validated by deepstream_major, a missing minor is 0."""
    major = deepstream_major(version)
    parts = str(version).strip().split(".")
    return major, int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def config_kind(ini: IniFile) -> str:
    names = {g.name for g in ini.groups}
    if "property" in names:
        return "nvinfer"
    if names & {"application", "streammux", "primary-gie"} or any(re.fullmatch(r"source\d+", n) for n in names):
        return "deepstream-app"
    return "unknown"


def check_configs(paths, deepstream: str = DEFAULT_DEEPSTREAM, model: str | os.PathLike | None = None) -> CheckReport:
    """Validate each config (nvinfer or deepstream-app; nvinferserver .pbtxt text is checked for its
    files) and return all findings."""
    # lazy: cycle (deepstream_configs.check.nvinfer imports this one)
    from taostream.deepstream_configs.check.nvinfer import check_nvinfer
    # lazy: cycle (deepstream_configs.check.app imports this one)
    from taostream.deepstream_configs.check.app import check_app

    major = deepstream_major(deepstream)
    report = CheckReport()
    done: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.resolve() in done:
            continue
        done.add(path.resolve())
        if path.suffix in (".pbtxt",) or _looks_like_protobuf_text(path):
            # lazy: cycle (deepstream_configs.check.nvinferserver imports this one)
            from taostream.deepstream_configs.check.nvinferserver import check_nvinferserver

            check_nvinferserver(path, report, major)
            continue
        ini = read_ini(path)
        kind = config_kind(ini)
        checker = _Checker(ini, major, report, deepstream_version(deepstream), deepstream)
        for line, problem in ini.problems:
            checker.add(ERROR, None, None, problem, line)
        if kind == "nvinfer":
            check_nvinfer(checker, model)
        elif kind == "deepstream-app":
            check_app(checker, model, done)
        else:
            checker.add(ERROR, None, None, "neither an nvinfer config ([property] group) nor a deepstream-app "
                        "config ([application]/[streammux]/[primary-gie]); check the file")
    return report


def _looks_like_protobuf_text(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return bool(re.search(r"^\s*infer_config\s*\{", head, re.MULTILINE))
