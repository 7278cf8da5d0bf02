"""Triton load test, full size: >= 8 concurrent clients x 200 single-image requests each against a real
tritonserver on 127.0.0.1 serving a sample bundle's CPU model, without and with dynamic batching.

Every response is compared with the ONNX Runtime detections of the same image (same post-processing);
the run fails (exit 1) on any error or mismatch. Prints throughput and p50/p99 latency per
configuration and the dynamic-batching/no-batching throughput ratio (same process, same workload).

    python benchmarks/bench_triton_load.py [--network ssd] [--clients 8] [--requests 200] [--protocol http]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from taostream.converter.samples.write import SAMPLE_KEY, write_sample
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.inference.bundle_info import load_bundle
from taostream.inference.detector import Detector, sort_and_cap, unpack_server_detections
from taostream.inference.load_test import load_test_repository, run_load
from taostream.inference.backends.runners import OnnxRuntimeRunner
from taostream.inference.backends.triton_server import TritonServer


def _key(det) -> tuple:
    return (det.class_id, *np.float32([det.left, det.top, det.right, det.bottom, det.confidence]).tolist())


def workload(root: Path, network: str, images: int, max_batch: int):
    sample = write_sample(network, root / "sample")
    bundle_dir = root / "bundle"
    create_bundle(BundleRequest(model=sample.model, network=network, output=bundle_dir, spec=sample.spec,
                                key=SAMPLE_KEY, precision="fp32", batch_size=max_batch))
    bundle = load_bundle(bundle_dir)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(images)]
    with OnnxRuntimeRunner(bundle.onnx_for_cpu()) as runner:
        detector = Detector(bundle, runner)
        batch, _ = detector.preprocess(frames)
        feeds = [{bundle.input_name: batch[i : i + 1]} for i in range(images)]
        expected = [[_key(d) for d in sort_and_cap(detector.decode(runner.infer(f), 1)[0], 100)] for f in feeds]
    return bundle, feeds, expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="ssd")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="requests per client")
    parser.add_argument("--protocol", choices=("http", "grpc"), default="http")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--queue-delay-us", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_triton_load_") as tmp:
        root = Path(tmp)
        bundle, feeds, expected = workload(root, args.network, 16, args.max_batch)

        def check(index, outputs):
            got = unpack_server_detections(outputs["num_detections"][0], outputs["detections"][0])
            return [_key(d) for d in got] == expected[index]

        reports = {}
        for dynamic in (False, True):
            label = "dynamic batching" if dynamic else "no dynamic batching"
            repository = load_test_repository(bundle.cpu_model_dir(), root / f"dyn{int(dynamic)}", args.max_batch,
                                              dynamic, queue_delay_us=args.queue_delay_us)
            with TritonServer(repository) as server:
                url = server.http_url if args.protocol == "http" else server.grpc_url
                run_load(url, bundle.cpu_model_name, feeds, check, clients=2, requests_per_client=5,
                         protocol=args.protocol)  # warm-up: model load, first-call allocations
                reports[label] = run_load(url, bundle.cpu_model_name, feeds, check, clients=args.clients,
                                          requests_per_client=args.requests, protocol=args.protocol)
            print(f"{args.network} {args.protocol} {label:>20}: {reports[label].summary()}")
    base, dyn = reports["no dynamic batching"], reports["dynamic batching"]
    print(f"throughput ratio dynamic/no batching: {dyn.throughput / base.throughput:.2f}x; "
          f"p99 ratio: {dyn.percentile(99) / base.percentile(99):.2f}x")
    failed = any(r.errors or r.mismatches or r.completed != args.clients * args.requests for r in reports.values())
    for report in reports.values():
        for error in report.errors[:5]:
            print("error:", error, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
