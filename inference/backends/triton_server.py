"""Start and stop a real Triton Inference Server on 127.0.0.1 for a model repository.

A system `tritonserver` (PATH or /opt/tritonserver/bin) is used when present: it has every backend.
Otherwise the `tritonserver` binary that the `nvidia-pytriton` wheel ships is used (FACTS.md section 6):
it has the Python backend only, needs the Python-backend stub of the running interpreter's version
next to the backend library, and takes its Python packages from the environment whose `bin` comes
first on PATH. That environment must have numpy<2: under numpy 2 the stub corrupts tensors.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy

from taostream.converter.errors import MissingDependencyError, TaostreamError

log = logging.getLogger(__name__)
SHM_PATTERN = "/dev/shm/triton_python_backend_shm_region_*"


@dataclass(frozen=True)
class TritonInstallation:
    binary: Path
    backend_directory: Path | None  # None: the server's default
    kind: str  # "system" | "pytriton"


def _pytriton_root() -> Path | None:
    try:
        import pytriton  # noqa: F401  # lazy: optional (triton); only its location is needed
    except ImportError:
        return None
    root = Path(pytriton.__file__).parent / "tritonserver"
    return root if (root / "bin" / "tritonserver").exists() else None


def _pytriton_backends(root: Path, cache_dir: Path) -> Path:
    """A backend folder whose python/ holds the package's backend library and utils plus the stub of
    this interpreter's version (built once, by links, outside the installed package)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = root / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.exists():
        raise TaostreamError(
            f"nvidia-pytriton ships no Python-backend stub for Python {version} ({stub} is missing); "
            "use a Python version it supports or install a full Triton server"
        )
    python_dir = cache_dir / f"pytriton-backends-{version}" / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    for source in (*(root / "backends" / "python").glob("*.so"), root / "backends" / "python" / "triton_python_backend_utils.py", stub):
        target = python_dir / source.name
        if not target.exists():
            tmp = python_dir / f".{source.name}.{os.getpid()}"
            os.symlink(source, tmp)
            os.replace(tmp, target)
    return python_dir.parent


def find_tritonserver(prefer_system: bool = True) -> TritonInstallation:
    if prefer_system:
        system = shutil.which("tritonserver") or (
            "/opt/tritonserver/bin/tritonserver" if os.path.exists("/opt/tritonserver/bin/tritonserver") else None
        )
        if system:
            return TritonInstallation(Path(system), None, "system")
    root = _pytriton_root()
    if root is None:
        raise MissingDependencyError("nvidia-pytriton", "triton", "serving a model repository with Triton")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "taostream"
    return TritonInstallation(root / "bin" / "tritonserver", _pytriton_backends(root, cache), "pytriton")


def check_port(port: int, option: str = "--port") -> int:
    """A TCP port a user gave: 1-65535, or 0 for a free one (returned as given)."""
    if not 0 <= int(port) <= 65535:
        raise TaostreamError(f"{option} {port}: not a TCP port; use 1-65535, or 0 for any free port")
    return int(port)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    """True when a process listens on 127.0.0.1:``port`` (SO_REUSEADDR: a closed connection's
    TIME_WAIT does not count, as it does not stop tritonserver either)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_numpy_for_python_backend() -> None:
    if int(numpy.__version__.split(".")[0]) >= 2:
        raise TaostreamError(
            f"numpy {numpy.__version__} is installed, but Triton's Python-backend stub corrupts tensors "
            "under numpy 2; install numpy<2 in this environment (pip install 'numpy<2')"
        )


_SAFE_PATH = re.compile(r"[A-Za-z0-9._/+-]+")


def safe_path(path: str | os.PathLike) -> bool:
    """True for a path Triton's Python backend can take: its stub is handed the model path on a
    command line that breaks on spaces and non-ASCII characters (`std::invalid_argument stol`)."""
    return bool(_SAFE_PATH.fullmatch(os.fspath(path)))


def private_link(target: Path) -> tuple[Path, Path]:
    """(a folder of our own with a safe name, the link inside it that points at ``target``)."""
    base = tempfile.gettempdir()
    folder = Path(tempfile.mkdtemp(prefix="taostream-triton-", dir=base if safe_path(base) else "/tmp"))
    link = folder / "repository"
    os.symlink(target, link, target_is_directory=True)
    return folder, link


# Lines of a tritonserver log that mean the start has failed, even while the process lives on (a
# Python-backend stub that died leaves its model "loading" until the stub timeout); the ones that
# name the model first.
_FATAL_LINES = (re.compile(r"failed to load", re.IGNORECASE),
                re.compile(r"terminate called after throwing"),
                re.compile(r"Stub process .*(unhealthy|not healthy|failed)|failed to start|Address already in use"
                           r"|error: creating server|Failed to initialize", re.IGNORECASE))
_LOG_PREFIX = re.compile(r'^[EWI]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] +')


_PROTO_ERROR = re.compile(r"Error parsing text-format inference\.ModelConfig: (.*)")
_PROTO_FILE = re.compile(r"failed to read text proto from (\S+?)\"?$")


def fatal_log_line(text: str) -> str | None:
    """The server's own error line that means it will not become ready (with the exception text of a
    C++ terminate), or None. A config.pbtxt Triton cannot parse is named with protobuf's line:column and
    reason (the server's last line says only "failed to load all models")."""
    lines = text.splitlines()
    parse_error = _PROTO_ERROR.search(text)
    if parse_error:
        config = next((m.group(1) for m in map(_PROTO_FILE.search, lines) if m), None)
        return (f"{config or 'a config.pbtxt'}: not a Triton ModelConfig ({parse_error.group(1).strip()}); fix it "
                "(`taostream check BUNDLE` names the field) or re-create the bundle")
    for pattern in _FATAL_LINES:
        for index, line in enumerate(lines):
            if pattern.search(line):
                message = _LOG_PREFIX.sub("", line.strip()).strip('"')
                # the Python backend appends the model's stack as escaped text ("...\\n\\nAt:\\n  model.py(123)")
                message = re.split(r"(?:\\n)+At:\\n", message, maxsplit=1)[0].replace("\\n", " ").strip()
                follow = lines[index + 1].strip() if index + 1 < len(lines) else ""
                if follow.startswith("what():"):
                    message += f" ({follow})"
                return message
    return None


@dataclass(frozen=True)
class RepositoryModel:
    name: str
    backend: str  # "python", "onnxruntime", "tensorrt", ... (platform mapped to its backend)
    has_model_file: bool  # a version folder holds the file the backend loads
    gpu: bool = False  # instance_group kind KIND_GPU
    versions: tuple[str, ...] = ()  # the numbered version folders
    other_folders: tuple[str, ...] = ()  # folders that are not versions ("v1", "x")
    model_files: tuple[str, ...] = ()  # the file names the backend loads from a version folder

    def missing_file_reason(self) -> str:
        """Why the model cannot load: no numbered version folder, or no model file in the ones there."""
        wanted = " or ".join(self.model_files) or "the model file"
        if not self.versions:
            found = (f"; found {', '.join(f + '/' for f in self.other_folders)}, but version folders are numbers"
                     if self.other_folders else "")
            return (f"no model file: no version folder (Triton loads {self.name}/1/{wanted}{found}); "
                    f"put the model in {self.name}/1/")
        hint = (" (a tensorrt_plan model needs model.plan, built on the serving GPU host with `taostream convert`)"
                if self.backend == "tensorrt" else "")
        return f"no model file: {wanted} is not in its version folder {', '.join(v + '/' for v in self.versions)}{hint}"


_PLATFORM_BACKENDS = {"tensorrt_plan": "tensorrt", "onnxruntime_onnx": "onnxruntime", "pytorch_libtorch": "pytorch",
                      "tensorflow_savedmodel": "tensorflow", "tensorflow_graphdef": "tensorflow"}
_MODEL_FILES = {"tensorrt": ("model.plan",), "python": ("model.py",), "onnxruntime": ("model.onnx",),
                "pytorch": ("model.pt",)}


def _config_value(text: str, key: str) -> str | None:
    match = re.search(rf'^\s*{key}\s*:\s*"([^"]*)"', text, re.M)
    return match.group(1) if match else None


def repository_models(repository: str | os.PathLike) -> list[RepositoryModel]:
    """Every model folder (with config.pbtxt) of a Triton repository, with its backend and whether
    a version folder holds the model file."""
    found = []
    for config in sorted(Path(repository).glob("*/config.pbtxt")):
        text = config.read_text(encoding="utf-8", errors="replace")
        platform = _config_value(text, "platform")
        backend = _config_value(text, "backend") or _PLATFORM_BACKENDS.get(platform or "", platform or "unknown")
        filename = _config_value(text, "default_model_filename")
        names = (filename,) if filename else _MODEL_FILES.get(backend, ())
        folders = sorted(p for p in config.parent.iterdir() if p.is_dir() and p.name != "__pycache__")
        versions = [p for p in folders if p.name.isdigit()]
        has_file = any((v / n).exists() for v in versions for n in names) if names else bool(versions)
        found.append(RepositoryModel(config.parent.name, backend, has_file, "KIND_GPU" in text,
                                     tuple(v.name for v in versions),
                                     tuple(f.name for f in folders if not f.name.isdigit()), tuple(names)))
    return found


def gpu_visible() -> bool:
    """Does this host show an NVIDIA GPU (the device node the driver creates)?"""
    return any(Path("/dev").glob("nvidia[0-9]*"))


def servable_models(repository: str | os.PathLike, installation: TritonInstallation) -> tuple[list[str], list[str]]:
    """(models to load, reasons for the others): a model needs its file, and nvidia-pytriton's server
    has the Python backend only."""
    load, skipped = [], []
    for model in repository_models(repository):
        if model.gpu and not gpu_visible():
            skipped.append(f"{model.name}: a GPU model (instance_group KIND_GPU) and this host has no NVIDIA GPU; "
                           "serve it on a GPU host (the bundle's README.md gives the Triton container)")
        elif not model.has_model_file:
            skipped.append(f"{model.name}: {model.missing_file_reason()}")
        elif installation.kind == "pytriton" and model.backend != "python":
            skipped.append(f"{model.name}: backend '{model.backend}' is not in nvidia-pytriton's server (Python "
                           "backend only); install a full Triton server to serve it")
        else:
            load.append(model.name)
    return load, skipped


class TritonServer:
    """A running tritonserver on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        model_repository: str | os.PathLike,
        *,
        http_port: int | None = None,
        grpc_port: int | None = None,
        installation: TritonInstallation | None = None,
        log_verbose: int = 0,
        startup_timeout: float = 60.0,
        exit_timeout: int = 10,
        models: Sequence[str] | None = None,
    ):
        self.model_repository = Path(model_repository).resolve()
        if not self.model_repository.is_dir():
            raise TaostreamError(f"{model_repository}: no such model repository folder")
        self.installation = installation or find_tritonserver()
        self.http_port = check_port(http_port or 0, "http_port") or free_port()
        self.grpc_port = check_port(grpc_port or 0, "grpc_port") or free_port()
        if self.http_port == self.grpc_port:
            raise TaostreamError(f"HTTP and gRPC port are both {self.http_port}; give them different ports")
        for port, protocol, option in ((self.http_port, "HTTP", "--port"), (self.grpc_port, "gRPC", "--grpc-port")):
            # Before anything starts: with the HTTP port taken, the readiness probe reached the other
            # process's server and `serve` said "ready" for a server that was about to exit.
            if port_in_use(port):
                raise TaostreamError(f"127.0.0.1:{port} (the {protocol} port) is in use by another process; "
                                     f"give `taostream serve` a free one with {option} (0 = any free port), "
                                     "or stop that process")
        self.log_verbose = log_verbose
        self.startup_timeout = startup_timeout
        self.exit_timeout = exit_timeout
        # None: every model of the repository; otherwise only these (explicit model control), e.g.
        # the CPU models of a bundle on a host whose Triton has no TensorRT backend.
        self.models = list(models) if models is not None else None
        self.process: subprocess.Popen | None = None
        # A prefix of its own for the Python backend's shared-memory regions, so that servers running
        # side by side (tests, several bundles) never share or delete each other's regions.
        self.shm_prefix = f"taostream_{os.getpid()}_{self.http_port}_"
        self._shm_before: set[str] = set()
        self._log_file = None
        self._link_folder: Path | None = None
        self._served_repository = self.model_repository  # a private link when the path is unsafe

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def command(self) -> list[str]:
        cmd = [
            str(self.installation.binary),
            f"--model-repository={self._served_repository}",
            "--http-address=127.0.0.1",
            f"--http-port={self.http_port}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--allow-metrics=false",
            f"--exit-timeout-secs={self.exit_timeout}",
            f"--log-verbose={self.log_verbose}",
        ]
        if self.models is not None:
            cmd.append("--model-control-mode=explicit")
            cmd.extend(f"--load-model={name}" for name in self.models)
        if self.installation.backend_directory:
            cmd.append(f"--backend-directory={self.installation.backend_directory}")
        cmd.append(f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}")
        return cmd

    def _shm_regions(self) -> set[str]:
        return set(glob.glob(SHM_PATTERN)) | set(glob.glob(f"/dev/shm/{self.shm_prefix}*"))

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The Python-backend stub takes its packages from the environment first on PATH.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        return env

    def _require_servable(self) -> None:
        """Each requested model exists and this server can load it (a GPU model on a host without one, a
        backend pytriton's server lacks): the reason in one line, instead of the server's exit."""
        load, skipped = servable_models(self.model_repository, self.installation)
        known = sorted(m.name for m in repository_models(self.model_repository))
        for name in self.models or ():
            if name in load:
                continue
            if name not in known:
                raise TaostreamError(f"{self.model_repository}: no model '{name}' (its models: {', '.join(known)}); "
                                     "give --model-name one of them")
            raise TaostreamError(f"{self.model_repository}: cannot serve "
                                 + next(r for r in skipped if r.startswith(f"{name}: ")))

    def start(self) -> "TritonServer":
        if self.installation.kind == "pytriton":
            check_numpy_for_python_backend()
        if self.models is not None:
            self._require_servable()
        self._shm_before = self._shm_regions()
        if not safe_path(self.model_repository):
            # Spaces or non-ASCII in the path kill the Python backend's stub: serve through a link.
            self._link_folder, self._served_repository = private_link(self.model_repository)
            log.info("serving %s through %s", self.model_repository, self._served_repository)
        self._log_file = tempfile.NamedTemporaryFile(prefix="tritonserver-", suffix=".log", delete=False)
        log.info("starting %s", " ".join(self.command()))
        self.process = subprocess.Popen(
            self.command(), stdout=self._log_file, stderr=subprocess.STDOUT, env=self.environment(), start_new_session=True
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"http://{self.http_url}/v2/health/ready"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                line = fatal_log_line(self.log_text()) or self.last_log_line()
                raise TaostreamError(f"tritonserver exited with code {self.process.returncode} while starting: {line}")
            if fatal_log_line(self.log_text()) is not None:
                # The line naming the model ("failed to load '<model>' ...") may follow a moment later.
                settle = time.monotonic() + 3
                while (time.monotonic() < settle and self.process.poll() is None
                       and not _FATAL_LINES[0].search(self.log_text())):
                    time.sleep(0.1)
                raise TaostreamError(f"tritonserver cannot serve {self.model_repository}: "
                                     f"{fatal_log_line(self.log_text())}")
            with contextlib.suppress(urllib.error.URLError, ConnectionError, OSError):
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            time.sleep(0.1)
        raise TaostreamError(f"tritonserver was not ready after {self.startup_timeout:.0f} s; its last log line: "
                             f"{self.last_log_line()}")

    def log_text(self) -> str:
        if not self._log_file:
            return ""
        return Path(self._log_file.name).read_text(errors="replace")

    def last_log_line(self) -> str:
        lines = [line for line in self.log_text().splitlines() if line.strip()]
        return lines[-1].strip() if lines else "(no output)"

    def log_tail(self, lines: int = 30) -> str:
        if not self._log_file:
            return ""
        text = Path(self._log_file.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=self.exit_timeout + 5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # A server killed mid-flight can leave the Python backend's shared-memory regions behind.
        for leftover in self._shm_regions() - self._shm_before:
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        if self._log_file:
            self._log_file.close()
            with contextlib.suppress(OSError):
                os.unlink(self._log_file.name)
            self._log_file = None
        if self._link_folder is not None:
            shutil.rmtree(self._link_folder, ignore_errors=True)  # the link only, never its target
            self._link_folder, self._served_repository = None, self.model_repository

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
