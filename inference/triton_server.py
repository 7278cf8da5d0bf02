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
        import pytriton  # noqa: F401  (only its location is needed)
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_numpy_for_python_backend() -> None:
    import numpy

    if int(numpy.__version__.split(".")[0]) >= 2:
        raise TaostreamError(
            f"numpy {numpy.__version__} is installed, but Triton's Python-backend stub corrupts tensors "
            "under numpy 2; install numpy<2 in this environment (pip install 'numpy<2')"
        )


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
    ):
        self.model_repository = Path(model_repository).resolve()
        if not self.model_repository.is_dir():
            raise TaostreamError(f"{model_repository}: no such model repository folder")
        self.installation = installation or find_tritonserver()
        self.http_port = http_port or free_port()
        self.grpc_port = grpc_port or free_port()
        self.log_verbose = log_verbose
        self.startup_timeout = startup_timeout
        self.exit_timeout = exit_timeout
        self.process: subprocess.Popen | None = None
        self._shm_before: set[str] = set()
        self._log_file = None

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def command(self) -> list[str]:
        cmd = [
            str(self.installation.binary),
            f"--model-repository={self.model_repository}",
            "--http-address=127.0.0.1",
            f"--http-port={self.http_port}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--allow-metrics=false",
            f"--exit-timeout-secs={self.exit_timeout}",
            f"--log-verbose={self.log_verbose}",
        ]
        if self.installation.backend_directory:
            cmd.append(f"--backend-directory={self.installation.backend_directory}")
        return cmd

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The Python-backend stub takes its packages from the environment first on PATH.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        return env

    def start(self) -> "TritonServer":
        if self.installation.kind == "pytriton":
            check_numpy_for_python_backend()
        self._shm_before = set(glob.glob(SHM_PATTERN))
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
                raise TaostreamError(
                    f"tritonserver exited with code {self.process.returncode} while starting:\n{self.log_tail()}"
                )
            with contextlib.suppress(urllib.error.URLError, ConnectionError, OSError):
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            time.sleep(0.1)
        raise TaostreamError(f"tritonserver was not ready after {self.startup_timeout:.0f} s:\n{self.log_tail()}")

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
        for leftover in set(glob.glob(SHM_PATTERN)) - self._shm_before:
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        if self._log_file:
            self._log_file.close()
            with contextlib.suppress(OSError):
                os.unlink(self._log_file.name)
            self._log_file = None

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
