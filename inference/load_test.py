"""A bounded Triton load test on the loopback interface: N concurrent clients, each sending M
single-image requests, every response checked against the expected detections.

Used by tests/test_load.py (small) and benchmarks/bench_triton_load.py (>= 8 x 200, with and without
dynamic batching). Each client has its own tritonclient connection (tritonclient clients are not
shared across threads).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.inference.backends.triton_runner import TritonRunner


@dataclass
class LoadReport:
    clients: int
    requests_per_client: int
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    mismatches: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def summary(self) -> str:
        return (f"{self.clients} clients x {self.requests_per_client} requests: {self.completed} done in "
                f"{self.seconds:.2f} s, {self.throughput:.1f} req/s, p50 {self.percentile(50):.1f} ms, "
                f"p99 {self.percentile(99):.1f} ms, errors {len(self.errors)}, mismatches {self.mismatches}")


def load_test_repository(cpu_model_dir: Path, destination: Path, max_batch_size: int, dynamic_batching: bool,
                         queue_delay_us: int = 1000, instances: int = 1) -> Path:
    """A copy of a bundle's CPU Triton model in a new repository, with its batch size, instance count
    and dynamic batching set for the run (the bundle itself is left alone)."""
    repository = destination / "repository"
    model_dir = repository / cpu_model_dir.name
    shutil.copytree(cpu_model_dir, model_dir)
    config = model_dir / "config.pbtxt"
    text = config.read_text(encoding="utf-8")
    text, found = re.subn(r"^max_batch_size:\s*\d+", f"max_batch_size: {max_batch_size}", text, flags=re.M)
    if not found:
        raise TaostreamError(f"{config}: no max_batch_size line; recreate the bundle")
    text = re.sub(r"count:\s*\d+", f"count: {instances}", text, count=1)
    if dynamic_batching:
        text += f"dynamic_batching {{\n  max_queue_delay_microseconds: {queue_delay_us}\n}}\n"
    config.write_text(text, encoding="utf-8")
    return repository


def run_load(url: str, model_name: str, feeds: Sequence[dict[str, np.ndarray]], check: Callable[[int, dict], bool],
             clients: int = 8, requests_per_client: int = 25, protocol: str = "http") -> LoadReport:
    """Every client sends requests_per_client requests, cycling through ``feeds`` from its own offset;
    ``check(feed_index, outputs)`` says whether a response is right."""
    report = LoadReport(clients, requests_per_client)
    lock = threading.Lock()
    start_barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        latencies, errors, mismatches = [], [], 0
        try:
            runner = TritonRunner(url, model_name, protocol=protocol, concurrency=1).activate()
        except Exception as exc:
            errors.append(f"client {index}: {exc}")
            runner = None
        start_barrier.wait()
        for n in range(requests_per_client if runner else 0):
            feed_index = (index + n) % len(feeds)
            began = time.perf_counter()
            try:
                outputs = runner.infer(feeds[feed_index])
            except Exception as exc:
                errors.append(f"client {index} request {n}: {exc}")
                continue
            latencies.append((time.perf_counter() - began) * 1000.0)
            mismatches += 0 if check(feed_index, outputs) else 1
        if runner:
            runner.deactivate()
        with lock:
            report.latencies_ms.extend(latencies)
            report.errors.extend(errors)
            report.mismatches += mismatches

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    report.seconds = time.perf_counter() - began
    return report
