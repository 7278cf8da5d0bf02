"""`taostream bench`: throughput and latency of a bundle, the model alone and end to end.

Phases, each run for ``duration`` seconds by ``concurrency`` threads after every thread's warm-up
calls (not timed), in alternating slices (A B C A B C ...) so that a shared host's varying load
weighs on all of them alike:

- ``onnxruntime_bare`` (onnx backend): a plain ``onnxruntime.InferenceSession`` of the same graph with
  default options, fed the same preprocessed batch: the baseline the overheads are measured against;
- ``model``: the model alone through taostream's runner (ONNX Runtime or TensorRT), same batch;
- ``end_to_end``: JPEG/PNG bytes in memory -> OpenCV decode -> nvinfer-exact preprocessing -> the
  runner -> the parsers' post-processing -> boxes in frame pixels (``Detector.detect``, what
  ``taostream infer`` runs per batch);
- ``perf_analyzer`` (triton backend): Triton's own perf_analyzer drives the server with the same
  preprocessed tensor (no hand-written load loop); its throughput and p50/p90/p99 are reported.

Latency percentiles are per call (one call = one batch); throughput counts images per second.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import importlib.metadata
import itertools
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.model.preprocess import read_image_file
from taostream.converter.numeric_inputs import require_batch_size
from taostream.inference.backends.runners import OnnxRuntimeRunner, check_feed
from taostream.inference.backends.triton_runner import TritonRunner, triton_url
from taostream.inference.backends.triton_server import TritonServer
from taostream.inference.backends.trt_runner import TensorRTRunner
from taostream.inference.bundle_info import load_bundle
from taostream.inference.detector import Detector
from taostream.inference.infer_run import _engine_path
from taostream.inference.inputs import collect_inputs


@dataclass
class BenchRequest:
    bundle: Path
    backend: str = "onnx"
    onnx: Path | None = None
    engine: Path | None = None
    url: str | None = None
    model_name: str | None = None
    images: list = field(default_factory=list)
    batch_size: int = 1
    duration: float = 10.0
    warmup: int = 3
    concurrency: int = 1
    rounds: int = 5  # phases alternate in this many slices (see interleaved)
    stability: float = 10.0  # triton: perf_analyzer's --stability-percentage (its default)


@dataclass
class Phase:
    name: str
    batch_size: int
    concurrency: int
    seconds: float = 0.0
    latencies_ms: list = field(default_factory=list)
    source: str = "taostream"
    slice_means_ms: list = field(default_factory=list)  # one per round (see interleaved)

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_ms, np.float64)
        images = len(lat) * self.batch_size
        pct = (lambda q: float(np.percentile(lat, q))) if len(lat) else (lambda q: float("nan"))
        return {"source": self.source, "calls": int(len(lat)), "images": images, "seconds": round(self.seconds, 4),
                "throughput_images_per_s": images / self.seconds if self.seconds else 0.0,
                "latency_ms": {"mean": float(lat.mean()) if len(lat) else float("nan"), "p50": pct(50),
                               "p90": pct(90), "p99": pct(99)}}


def timed_loop(name: str, call: Callable[[int], object], duration: float, concurrency: int, warmup: int,
               batch_size: int) -> Phase:
    """``call(worker)`` repeatedly from ``concurrency`` threads for ``duration`` s after ``warmup``
    untimed calls per thread; latency of every timed call."""
    phase = Phase(name, batch_size, concurrency)
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)
    errors: list[BaseException] = []
    state = {"deadline": 0.0}

    def worker(index: int) -> None:
        try:
            for _ in range(warmup):
                call(index)
        except BaseException as exc:  # reported after the join
            errors.append(exc)
        ready.wait()
        ready.wait()  # the clock starts
        mine = []
        while not errors and time.perf_counter() < state["deadline"]:
            began = time.perf_counter()
            try:
                call(index)
            except BaseException as exc:
                errors.append(exc)
                break
            mine.append((time.perf_counter() - began) * 1000.0)
        with lock:
            phase.latencies_ms.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    state["deadline"] = began + duration
    ready.wait()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    if errors:
        exc = errors[0]
        raise exc if isinstance(exc, TaostreamError) else TaostreamError(f"bench {name}: {' '.join(str(exc).split())}") from None
    return phase


def interleaved(loops: list, request: "BenchRequest") -> dict[str, Phase]:
    """Each loop for ``duration`` seconds in all, in ``rounds`` alternating slices, the order mirrored
    every other round (A B C, C B A, A B C, ...): load that comes and goes on a shared host then weighs
    on every phase alike, and a steady drift does not favour the first one. Each phase keeps its mean
    latency per round, so that ratios can be taken round by round (see paired_overhead). Warm-up calls
    run once per loop, before its first slice."""
    out: dict[str, Phase] = {}
    rounds = max(1, request.rounds)
    for r in range(rounds):
        for name, call, source in (loops if r % 2 == 0 else loops[::-1]):
            part = timed_loop(name, call, request.duration / rounds, request.concurrency,
                              request.warmup if r == 0 else 0, request.batch_size)
            phase = out.setdefault(name, Phase(name, request.batch_size, request.concurrency, source=source))
            phase.seconds += part.seconds
            phase.latencies_ms.extend(part.latencies_ms)
            phase.slice_means_ms.append(float(np.mean(part.latencies_ms)) if part.latencies_ms else float("nan"))
    return out


def paired_overhead(phase: Phase, base: Phase) -> dict:
    """``phase`` over ``base`` (mean latency), round by round: each round's two slices ran seconds
    apart under the same host load, so their ratio holds where single runs swing by tens of percent.
    The median over the rounds is the figure; the quartiles and extremes show its spread."""
    ratios = np.asarray(phase.slice_means_ms, np.float64) / np.asarray(base.slice_means_ms, np.float64) - 1.0
    ratios = ratios[np.isfinite(ratios)]
    if not len(ratios):
        return {"median": float("nan"), "rounds": 0}
    q25, median, q75 = (float(v) for v in np.percentile(ratios, [25, 50, 75]))
    return {"median": median, "q25": q25, "q75": q75, "min": float(ratios.min()), "max": float(ratios.max()),
            "pooled": float(np.mean(phase.latencies_ms) / np.mean(base.latencies_ms) - 1.0), "rounds": int(len(ratios))}


# --- inputs ---------------------------------------------------------------------------------------


def sample_images(paths: list) -> list[bytes]:
    """Encoded images held in memory (decode is timed, disk reads are not). No paths: one generated
    1280x720 JPEG photo-like frame (gradients and noise)."""
    import cv2  # lazy: heavy

    if not paths:
        rng = np.random.default_rng(0)
        y, x = np.mgrid[0:720, 0:1280]
        frame = np.dstack([(x * 0.2) % 256, (y * 0.35) % 256, (x + y) * 0.1 % 256]).astype(np.uint8)
        frame = cv2.add(frame, rng.integers(0, 24, frame.shape, np.uint8))
        return [cv2.imencode(".jpg", frame)[1].tobytes()]
    items = [i for i in collect_inputs(paths) if i.kind == "image"]
    if not items:
        raise TaostreamError(f"{', '.join(map(str, paths))}: no images to benchmark with (videos are not used)")
    for item in items:  # a file OpenCV cannot decode is named here, not found mid-run
        read_image_file(item.path)
    return [Path(i.path).read_bytes() for i in items]


def decode(data: bytes):
    import cv2  # lazy: heavy

    frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise TaostreamError("OpenCV cannot decode one of the --images")
    return frame


# --- host and versions ----------------------------------------------------------------------------


def host_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"hostname": platform.node(), "platform": platform.platform(), "cpu": cpu, "cpus_usable": affinity,
            "python": platform.python_version()}


def versions(extra: dict | None = None) -> dict:
    out = {}
    for package in ("taostream", "onnxruntime", "numpy", "opencv-python-headless", "tritonclient", "tensorrt"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    out.update(extra or {})
    return out


# --- perf_analyzer --------------------------------------------------------------------------------


def find_perf_analyzer() -> str:
    found = shutil.which("perf_analyzer") or shutil.which("perf_analyzer", path=str(Path(sys.executable).parent))
    if found:
        return found
    try:
        installed = importlib.metadata.version("perf-analyzer")
    except importlib.metadata.PackageNotFoundError:
        raise TaostreamError("--backend triton drives the server with Triton's perf_analyzer, which is not installed: "
                             "pip install 'taostream[triton]' (it ships in PyPI tritonclient 2.50-2.51) or put "
                             "Triton's perf_analyzer on PATH") from None
    # Some indexes serve a placeholder perf-analyzer (0.1.0, no program): installing it again cannot help.
    raise TaostreamError(f"--backend triton drives the server with Triton's perf_analyzer, but the installed PyPI "
                         f"perf-analyzer {installed} has no perf_analyzer program (a placeholder release): "
                         "pip install 'taostream[triton]' (tritonclient 2.50-2.51 ships the program), or put "
                         "Triton's perf_analyzer on PATH (nvcr.io/nvidia/tritonserver:<yy.mm>-py3-sdk container)")


_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.MULTILINE)
_SYMBOL_VERSION = re.compile(r"version `([^']+)' not found")


def _pytriton_libraries() -> Path | None:
    """nvidia-pytriton's vendored shared libraries (auditwheel names them libNAME-HASH.so.VERSION)."""
    try:
        import pytriton  # lazy: optional (triton)
    except ImportError:
        return None
    folder = Path(pytriton.__file__).resolve().parent.parent / "nvidia_pytriton.libs"
    return folder if folder.is_dir() else None


def perf_analyzer_environment(binary: str, link_dir: Path) -> dict:
    """The environment perf_analyzer runs in. The perf_analyzer of PyPI tritonclient 2.50-2.51 links
    libb64.so.0d and libcudart.so.12 (no GPU is needed to drive a server over HTTP); nvidia-pytriton,
    in the same `triton` extra, ships both for its tritonserver. Those the host lacks are linked into
    ``link_dir`` under their sonames and put first on LD_LIBRARY_PATH, for perf_analyzer only."""
    env = dict(os.environ)
    ldd = shutil.which("ldd")
    if ldd is None:
        return env
    listing = subprocess.run([ldd, binary], capture_output=True, text=True, timeout=60)
    text = listing.stdout + listing.stderr
    symbols = sorted(set(_SYMBOL_VERSION.findall(text)))
    if symbols:  # newer releases are built on glibc 2.38 (manylinux_2_38)
        raise TaostreamError(f"{binary}: this perf_analyzer needs {', '.join(symbols)}, which this host's C library "
                             f"does not have (glibc {platform.libc_ver()[1] or 'unknown'}): pip install "
                             "'tritonclient[all]>=2.50,<2.52' (its perf_analyzer needs glibc 2.34), or use the one "
                             "in the nvcr.io/nvidia/tritonserver:<yy.mm>-py3-sdk container")
    missing = list(dict.fromkeys(_NOT_FOUND.findall(text)))
    vendored = _pytriton_libraries()
    for soname in missing:
        stem, _, version = soname.partition(".so")
        found = sorted(vendored.glob(f"{stem}-*.so{version}*")) if vendored else []
        if not found:
            raise TaostreamError(f"{binary}: perf_analyzer needs {soname}, which is not on this host"
                                 + ("" if vendored else " and nvidia-pytriton (which ships it) is not installed: "
                                                        "pip install 'taostream[triton]'"))
        link_dir.mkdir(parents=True, exist_ok=True)
        os.symlink(found[0], link_dir / soname)
    if missing:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(link_dir), env.get("LD_LIBRARY_PATH")) if p)
    return env


def perf_analyzer_version(binary: str, env: dict) -> str:
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, env=env)
    match = re.search(r"Perf Analyzer Version (\S+)", result.stdout + result.stderr)
    if result.returncode != 0 or match is None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [f"exit {result.returncode}"]
        raise TaostreamError(f"{binary}: not a working perf_analyzer ({tail[0]})")
    return match.group(1)


def perf_analyzer_command(binary: str, url: str, model: str, input_dir: Path, shapes: dict, batch_size: int,
                          concurrency: int, duration: float, csv_path: Path, stability: float = 10.0) -> list[str]:
    interval_ms = max(int(duration * 1000 / 3), 500)  # perf_analyzer needs a few stable windows
    command = [binary, "-m", model, "-u", url, "-i", "http", "-b", str(batch_size),
               "--concurrency-range", f"{concurrency}:{concurrency}", "--measurement-interval", str(interval_ms),
               "--stability-percentage", f"{stability:g}",
               "--input-data", str(input_dir), "-f", str(csv_path)]
    for name, shape in shapes.items():
        command += ["--shape", f"{name}:{','.join(str(d) for d in shape)}"]
    return command


LATENCY_PARTS = ("Client Send", "Network+Server Send/Recv", "Server Queue", "Server Compute Input",
                 "Server Compute Infer", "Server Compute Output", "Server Compute", "Client Recv")


def parse_perf_analyzer_csv(path: Path, batch_size: int) -> dict:
    """perf_analyzer's -f CSV (one row per concurrency; latencies in microseconds). The mean is its
    "Avg latency" column where written, else the sum of its average latency breakdown."""
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except OSError as exc:
        raise TaostreamError(f"perf_analyzer wrote no report ({exc.strerror})") from None
    if not rows or "Inferences/Second" not in rows[-1] or "p50 latency" not in rows[-1]:
        raise TaostreamError(f"{path.name}: not a perf_analyzer CSV report (no Inferences/Second, p50 latency columns)")
    row = rows[-1]

    def ms(key: str) -> float:
        value = row.get(key)
        return float(value) / 1000.0 if value not in (None, "") else float("nan")

    mean = ms("Avg latency")
    if np.isnan(mean):
        mean = sum(ms(k) for k in LATENCY_PARTS if row.get(k) not in (None, ""))
    # perf_analyzer counts inferences: requests x batch size, i.e. images
    return {"source": "perf_analyzer", "concurrency": int(row["Concurrency"]),
            "throughput_images_per_s": float(row["Inferences/Second"]), "batch_size": batch_size,
            "latency_ms": {"mean": mean, "p50": ms("p50 latency"), "p90": ms("p90 latency"), "p99": ms("p99 latency")},
            "server_queue_ms": ms("Server Queue"), "server_compute_infer_ms": ms("Server Compute Infer")}


@dataclass
class PerfAnalyzer:
    """A perf_analyzer checked to run here, before any server is started for it."""
    binary: str
    env: dict
    version: str

    @classmethod
    def prepare(cls, link_dir: Path) -> "PerfAnalyzer":
        binary = find_perf_analyzer()
        env = perf_analyzer_environment(binary, link_dir)
        return cls(binary, env, perf_analyzer_version(binary, env))

    def run(self, url: str, model: str, feed: dict[str, np.ndarray], batch_size: int, concurrency: int,
            duration: float, stability: float = 10.0) -> dict:
        with tempfile.TemporaryDirectory(prefix="taostream-perf-") as tmp:
            input_dir = Path(tmp) / "inputs"
            input_dir.mkdir()
            shapes = {}
            for name, array in feed.items():
                one = np.ascontiguousarray(array[0])  # perf_analyzer batches it itself (-b)
                (input_dir / name).write_bytes(one.tobytes())
                shapes[name] = one.shape
            csv_path = Path(tmp) / "report.csv"
            command = perf_analyzer_command(self.binary, url, model, input_dir, shapes, batch_size, concurrency,
                                            duration, csv_path, stability)
            result = subprocess.run(command, capture_output=True, text=True, timeout=max(120, duration * 20),
                                    env=self.env)
            if result.returncode != 0:
                tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
                hint = ""
                if "stable measurement" in result.stdout + result.stderr:
                    hint = (f"; its last 3 windows of {duration / 3:g} s varied by more than --stability "
                            f"{stability:g}%: give a longer --duration or a larger --stability (a busy host)")
                raise TaostreamError(f"perf_analyzer failed (exit {result.returncode}): {' | '.join(tail)}{hint}")
            figures = parse_perf_analyzer_csv(csv_path, batch_size)
            figures["command"] = " ".join(command[:1] + [c if "/" not in c else Path(c).name for c in command[1:]])
            figures["csv"] = csv_path.read_text(encoding="utf-8")  # all of its columns, as it wrote them
            return figures


# --- the command ----------------------------------------------------------------------------------


def run_bench(request: BenchRequest) -> dict:
    require_batch_size(request.batch_size)
    if not request.duration > 0:
        raise TaostreamError(f"--duration {request.duration}: give a number of seconds above 0")
    if request.concurrency < 1:
        raise TaostreamError(f"--concurrency {request.concurrency}: give 1 or more")
    if request.rounds < 1:
        raise TaostreamError(f"--rounds {request.rounds}: give 1 or more")
    if request.warmup < 0:
        raise TaostreamError(f"--warmup {request.warmup}: give 0 or more calls")
    if not 0 < request.stability <= 1000:
        raise TaostreamError(f"--stability {request.stability:g}: give a percentage above 0 (perf_analyzer's default 10)")
    if request.backend == "triton" and request.url is not None:  # perf_analyzer drives the HTTP endpoint
        request = dataclasses.replace(request, url=triton_url(
            request.url, "http", "bench drives Triton's HTTP endpoint (perf_analyzer -i http): give its URL"))
    bundle = load_bundle(request.bundle)
    with tempfile.TemporaryDirectory(prefix="taostream-bench-") as tmp:
        # perf_analyzer is found and run once before a server is started for nothing
        analyzer = PerfAnalyzer.prepare(Path(tmp) / "lib") if request.backend == "triton" else None
        return _bench(bundle, request, analyzer)


def _bench(bundle, request: BenchRequest, analyzer: PerfAnalyzer | None) -> dict:
    encoded = sample_images(request.images)
    frames = [decode(data) for data in encoded]
    report = {"bundle": str(bundle.path), "network": bundle.network.name, "backend": request.backend,
              "batch_size": request.batch_size, "concurrency": request.concurrency, "duration_s": request.duration,
              "warmup_calls_per_thread": request.warmup, "images": len(encoded),
              "image_size": [int(frames[0].shape[1]), int(frames[0].shape[0])], "host": host_info(), "phases": {}}
    batch_frames = [frames[i % len(frames)] for i in range(request.batch_size)]

    counter = itertools.count()

    def encoded_batch(worker: int) -> list:
        start = next(counter) * request.batch_size  # itertools.count: one step per call, thread-safe
        return [encoded[(start + k) % len(encoded)] for k in range(request.batch_size)]

    with _runner(bundle, request) as (runner, description, server_url, model_name):
        detector = Detector(bundle, runner)
        batch, _ = detector.preprocess(batch_frames)
        feed = {bundle.input_name: batch}
        # --onnx/--model-name of another model: the runner's one line, before the bare session's own
        check_feed(feed, runner.input_metadata(), runner.name, runner.mismatch_fix)
        report["model"] = description
        extra_versions = {}
        phases = report["phases"]
        loops: list[tuple[str, Callable, str]] = []
        session = None
        if request.backend == "onnx":
            import onnxruntime  # lazy: heavy

            session = onnxruntime.InferenceSession(str(runner.model), providers=["CPUExecutionProvider"])
            loops.append(("onnxruntime_bare", lambda w: session.run(None, feed),
                          "onnxruntime.InferenceSession.run (default options)"))
        if request.backend == "triton":
            figures = analyzer.run(server_url, model_name, feed, request.batch_size, request.concurrency,
                                   request.duration, request.stability)
            extra_versions["perf_analyzer"] = analyzer.version
            phases["perf_analyzer"] = figures
        else:
            loops.append(("model", lambda w: runner.infer(feed), f"taostream {runner.name} runner"))
        loops.append(("end_to_end", lambda w: detector.detect([decode(d) for d in encoded_batch(w)]),
                      "decode + preprocess + infer + parse (Detector.detect)"))
        timed = interleaved(loops, request)
        for name, phase in timed.items():
            phases[name] = phase.summary()
        session = None  # the baseline session goes before the runner is closed
    report["rounds"] = request.rounds
    report["versions"] = versions(extra_versions)
    if "onnxruntime_bare" in timed:
        base = timed["onnxruntime_bare"]
        report["overhead_vs_bare_onnxruntime"] = {name: paired_overhead(timed[name], base)
                                                  for name in ("model", "end_to_end")}
        # taostream's own work per call (decode + preprocess + parse) over the same runner's session
        report["end_to_end_over_model"] = paired_overhead(timed["end_to_end"], timed["model"])
    return report


class _runner:
    """(runner, description, server URL, model name) for the backend; Triton: a server started on
    the bundle (or --url) for the run."""

    def __init__(self, bundle, request: BenchRequest):
        self.bundle, self.request = bundle, request
        self.stack = None

    def __enter__(self):
        request, bundle = self.request, self.bundle
        self.stack = contextlib.ExitStack()
        if request.backend == "onnx":
            path = Path(request.onnx or bundle.onnx_for_cpu())  # the graph `infer` runs
            if not path.is_file():
                raise TaostreamError(f"{path}: no such ONNX model (--onnx)")
            runner = self.stack.enter_context(OnnxRuntimeRunner(path))
            return runner, str(path), None, None
        if request.backend == "trt":
            engine = _engine_path(bundle, request.engine)
            return self.stack.enter_context(TensorRTRunner(engine)), str(engine), None, None
        if request.backend == "triton":
            model = request.model_name or bundle.cpu_model_name
            url = request.url
            if url is None:
                server = self.stack.enter_context(TritonServer(bundle.triton_repository, models=[model]))
                url = server.http_url
            runner = self.stack.enter_context(TritonRunner(url, model, protocol="http"))
            return runner, f"Triton model {model} at {url}", url, model
        raise TaostreamError(f"--backend {request.backend}: use onnx, trt or triton")

    def __exit__(self, *exc):
        if self.stack is not None:
            self.stack.close()


def report_lines(report: dict) -> list[str]:
    out = [f"{report['model']} ({report['backend']}), batch {report['batch_size']}, concurrency "
           f"{report['concurrency']}, {report['duration_s']:g} s per phase in {report['rounds']} alternating slices after "
           f"{report['warmup_calls_per_thread']} warm-up calls; host {report['host']['cpu'] or report['host']['platform']} ({report['host']['cpus_usable']} CPUs)",
           f"{'phase':<18}{'images/s':>10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}  source"]
    for name, phase in report["phases"].items():
        lat = phase["latency_ms"]
        out.append(f"{name:<18}{phase['throughput_images_per_s']:>10.2f}{lat['p50']:>10.2f}{lat['p90']:>10.2f}"
                   f"{lat['p99']:>10.2f}{lat['mean']:>10.2f}  {phase['source']}")
    overhead = report.get("overhead_vs_bare_onnxruntime")
    if overhead:
        def figure(o: dict) -> str:
            if not o["rounds"]:
                return "n/a"
            return (f"{o['median'] * 100:+.1f}% (quartiles {o['q25'] * 100:+.1f}% to {o['q75'] * 100:+.1f}%, "
                    f"range {o['min'] * 100:+.1f}% to {o['max'] * 100:+.1f}%)")

        out.append(f"overhead vs a bare ONNX Runtime session, median of {overhead['model']['rounds']} paired rounds "
                   f"(mean latency per round): model {figure(overhead['model'])}")
        out.append(f"  end to end (decode + preprocess + infer + parse, what `infer` runs) {figure(overhead['end_to_end'])}")
        out.append(f"  end to end over the model phase (taostream's own work per call) "
                   f"{figure(report['end_to_end_over_model'])}")
    out.append("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    return out
