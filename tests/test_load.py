"""Bounded load test on 127.0.0.1 (CI size): 8 concurrent clients x 25 requests against a real
tritonserver serving a sample bundle's CPU model, with and without dynamic batching; zero errors and
every response equal to the ONNX Runtime detections. The full run is benchmarks/bench_triton_load.py."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")

from taostream.inference.bundle_info import load_bundle  # noqa: E402
from taostream.inference.detector import Detector, sort_and_cap, unpack_server_detections  # noqa: E402
from taostream.inference.load_test import load_test_repository, run_load  # noqa: E402
from taostream.inference.backends.runners import OnnxRuntimeRunner  # noqa: E402
from taostream.inference.backends.triton_server import TritonServer  # noqa: E402
from test_infer_support import make_bundle, noise_images  # noqa: E402


def _key(det) -> tuple:
    return (det.class_id, *np.float32([det.left, det.top, det.right, det.bottom, det.confidence]).tolist())


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    root = tmp_path_factory.mktemp("load")
    bundle = load_bundle(make_bundle(root, "ssd", batch_size=8))
    with OnnxRuntimeRunner(bundle.onnx_for_cpu()) as runner:
        detector = Detector(bundle, runner)
        batch, _ = detector.preprocess(noise_images(8, seed=21))
        feeds = [{bundle.input_name: batch[i : i + 1]} for i in range(len(batch))]
        expected = [[_key(d) for d in sort_and_cap(detector.decode(runner.infer(feed), 1)[0], 100)] for feed in feeds]
    return root, bundle, feeds, expected


@pytest.fixture(scope="module", params=[False, True], ids=["no-dynamic-batching", "dynamic-batching"])
def server(request, workload):
    root, bundle, _, _ = workload
    repository = load_test_repository(bundle.cpu_model_dir(), root / f"dyn{int(request.param)}", 8, request.param)
    with TritonServer(repository) as running:
        yield running


def test_load_zero_errors_zero_mismatches(workload, server):
    root, bundle, feeds, expected = workload

    def check(index, outputs):
        got = unpack_server_detections(outputs["num_detections"][0], outputs["detections"][0])
        return [_key(d) for d in got] == expected[index]

    report = run_load(server.http_url, bundle.cpu_model_name, feeds, check, clients=8, requests_per_client=25)
    assert report.errors == []
    assert report.mismatches == 0
    assert report.completed == 200
    assert sum(len(e) for e in expected) > 50, "the workload must have detections to compare"


def test_a_wrong_answer_is_counted(workload, server):
    """The check is live: comparing against another image's detections counts mismatches."""
    root, bundle, feeds, expected = workload

    def wrong(index, outputs):
        got = unpack_server_detections(outputs["num_detections"][0], outputs["detections"][0])
        return [_key(d) for d in got] == expected[(index + 1) % len(expected)]

    report = run_load(server.http_url, bundle.cpu_model_name, feeds, wrong, clients=2, requests_per_client=4)
    assert report.errors == [] and report.mismatches == 8


def test_repository_variant_settings(workload, tmp_path):
    _, bundle, _, _ = workload
    text = (load_test_repository(bundle.cpu_model_dir(), tmp_path, 16, True, queue_delay_us=250, instances=2)
            / bundle.cpu_model_name / "config.pbtxt").read_text()
    assert "max_batch_size: 16" in text and "count: 2" in text
    assert "max_queue_delay_microseconds: 250" in text
    assert (bundle.cpu_model_dir() / "config.pbtxt").read_text().count("dynamic_batching") == 0
