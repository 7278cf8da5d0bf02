"""The real TensorRT Python bindings of several releases, importable on a machine without TensorRT.

NVIDIA publishes each release's Python bindings as a small wheel of its own (``tensorrt-bindings``,
``tensorrt-cu12-bindings``, ``tensorrt-cu13-bindings``); the libraries they call (libnvinfer,
libnvinfer_plugin, libnvonnxparser) come in a separate wheel that PyPI only points at. The bindings'
extension module needs a handful of C entry points from those libraries to load (``nm -D`` lists
them: createInferBuilder_INTERNAL, getPluginRegistry, ...), none of which runs at import. So a stub
library per missing soname, exporting those names, lets the real module import: every enum, class,
method and property it defines is then the release's own, and Python-side pieces (calibrator and
progress-monitor base classes, ``nptype``) are real. Anything that calls into TensorRT itself
(Builder, Runtime) must not be touched: the stubs return 0.

Wheels are downloaded once per release into ``$TAOSTREAM_TRT_BINDINGS_CACHE`` (default
``~/.cache/taostream/trt-bindings``) and reused. Nothing here is committed or redistributed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# TensorRT release -> PyPI distribution of its bindings. 10.3 is JetPack 6's TensorRT; 10.16 the last
# 10.x; 11.0 the first release without implicit INT8; 11.4 the newest published.
RELEASES = {
    "8.6.1": "tensorrt-bindings",
    "10.3.0": "tensorrt-cu12-bindings",
    "10.16.1.11": "tensorrt-cu12-bindings",
    "11.0.0.114": "tensorrt-cu13-bindings",
    "11.4.0.106": "tensorrt-cu13-bindings",
}

_ALIAS = "import sys\nimport tensorrt_bindings\n\nsys.modules[__name__] = tensorrt_bindings\n"


class BindingsUnavailable(RuntimeError):
    """The bindings of a release could not be prepared here (no network, no binutils, ...)."""


def cache_root() -> Path:
    default = Path.home() / ".cache" / "taostream" / "trt-bindings"
    return Path(os.environ.get("TAOSTREAM_TRT_BINDINGS_CACHE", default))


def _run(command: list[str], what: str, timeout: int = 300) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BindingsUnavailable(f"{what}: {exc}") from None
    if done.returncode != 0:
        raise BindingsUnavailable(f"{what} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    return done.stdout


def _download(release: str, folder: Path) -> Path:
    dist = RELEASES[release]
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
          f"{dist}=={release}", "-d", str(folder)], f"pip download {dist}=={release}")
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise BindingsUnavailable(f"pip download {dist}=={release} gave {len(wheels)} wheels")
    return wheels[0]


def _missing_libraries(extension: Path) -> tuple[list[str], list[str]]:
    """(sonames the extension needs from TensorRT, undefined symbols it expects from them)."""
    needed = [line.split("[", 1)[1].rstrip("]")
              for line in _run(["readelf", "-d", str(extension)], "readelf").splitlines() if "(NEEDED)" in line]
    trt_libs = [name for name in needed if name.startswith(("libnvinfer", "libnvonnxparser", "libnvparsers"))]
    symbols = []
    for line in _run(["nm", "-D", "--undefined-only", str(extension)], "nm").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U" and "@" not in parts[1] and not parts[1].startswith(("Py", "_Py")):
            symbols.append(parts[1])
    return trt_libs, symbols


def _build_stubs(extension: Path, folder: Path) -> None:
    libraries, symbols = _missing_libraries(extension)
    source = folder / "stub.c"
    source.write_text("".join(f'long stub{i}(void) __asm__("{name}");\nlong stub{i}(void) {{ return 0; }}\n'
                              for i, name in enumerate(symbols)))
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise BindingsUnavailable("no C compiler (gcc) to build the stub libraries")
    for soname in libraries:
        _run([compiler, "-shared", "-fPIC", "-o", str(folder / soname), f"-Wl,-soname,{soname}", str(source)],
             f"building stub {soname}")


def prepare(release: str) -> Path:
    """The cached folder of ``release``: site/ (tensorrt_bindings + a ``tensorrt`` alias) and stubs/."""
    if release not in RELEASES:
        raise KeyError(f"unknown TensorRT release {release}; known: {', '.join(RELEASES)}")
    target = cache_root() / release
    if (target / "ready").is_file():
        return target
    for tool in ("readelf", "nm"):
        if shutil.which(tool) is None:
            raise BindingsUnavailable(f"{tool} (binutils) is not installed")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Another pytest-xdist worker preparing this release now: wait for it and reuse its folder, never
    # replace the folder under its feet (its subprocess may be importing from it).
    with open(target.parent / f".{release}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "ready").is_file():
            return target
        return _prepare(release, target)


def _prepare(release: str, target: Path) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f".{release}-", dir=target.parent))
    try:
        wheel = _download(release, work / "download")
        site, stubs = work / "site", work / "stubs"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
        (site / "tensorrt").mkdir()
        (site / "tensorrt" / "__init__.py").write_text(_ALIAS)
        stubs.mkdir()
        _build_stubs(site / "tensorrt_bindings" / "tensorrt.so", stubs)
        shutil.rmtree(work / "download")
        (work / "ready").write_text(release + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def environment(release: str) -> dict[str, str]:
    """os.environ plus what makes ``import tensorrt`` load ``release``'s bindings in a subprocess."""
    folder = prepare(release)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder / "site"), env.get("PYTHONPATH")]))
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(folder / "stubs"), env.get("LD_LIBRARY_PATH")]))
    return env
