"""`taostream bench`: a real timed run of a sample bundle (ONNX Runtime), Triton through Triton's own
perf_analyzer against a real server on 127.0.0.1 (where perf_analyzer is installed), perf_analyzer's
CSV report as Triton documents it, and clean errors."""

from __future__ import annotations

import importlib.metadata
import json
import shutil

import pytest

from cli_support import assert_clean_error, run_cli
from taostream.inference.bench import parse_perf_analyzer_csv, timed_loop


@pytest.fixture(scope="module")
def ssd_bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench_ssd")
    assert run_cli("sample", "--network", "ssd", "-o", root / "sample").returncode == 0
    result = run_cli("bundle", root / "sample/model.etlt", "--network", "ssd", "--spec", root / "sample/spec.txt",
                     "--key", "nvidia_tlt", "-o", root / "bundle")
    assert result.returncode == 0, result.stderr
    return root / "bundle"


def test_bench_onnx(ssd_bundle, tmp_path):
    result = run_cli("bench", ssd_bundle, "--duration", "1.5", "--batch-size", "2", "--concurrency", "2",
                     "--warmup", "1", "--json", tmp_path / "bench.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "bench.json").read_text())
    assert set(report["phases"]) == {"onnxruntime_bare", "model", "end_to_end"}
    for name, phase in report["phases"].items():
        lat = phase["latency_ms"]
        assert phase["calls"] >= 2, name  # two threads, each at least one timed call
        assert phase["images"] == 2 * phase["calls"]
        assert phase["throughput_images_per_s"] == pytest.approx(phase["images"] / phase["seconds"], rel=1e-3)
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"]
        assert phase["seconds"] >= 1.5
    overhead = report["overhead_vs_bare_onnxruntime"]
    assert overhead["end_to_end"] > overhead["model"]  # decode + preprocess + parse cost something
    assert report["versions"]["onnxruntime"] and report["host"]["cpus_usable"] >= 1
    assert report["backend"] == "onnx" and report["model"].endswith("model.onnx")
    assert "end_to_end" in result.stdout and "overhead vs a bare ONNX Runtime session" in result.stdout


def test_warm_up_calls_are_not_timed():
    calls = []
    phase = timed_loop("t", lambda w: calls.append(w), duration=0.2, concurrency=3, warmup=4, batch_size=1)
    assert len(calls) == len(phase.latencies_ms) + 3 * 4


def test_bench_triton_with_perf_analyzer(ssd_bundle, tmp_path):
    pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
    if shutil.which("perf_analyzer") is None:
        # No perf_analyzer here: a clean error before any server is started.
        try:  # a placeholder perf-analyzer (no program) is named as such; none at all names the extra
            expected = ("perf_analyzer", f"perf-analyzer {importlib.metadata.version('perf-analyzer')} has no")
        except importlib.metadata.PackageNotFoundError:
            expected = ("perf_analyzer", "taostream[triton]")
        assert_clean_error(run_cli("bench", ssd_bundle, "--backend", "triton"), *expected)
        pytest.skip("Triton's perf_analyzer is not installed (PyPI perf-analyzer); the error path was checked")
    result = run_cli("bench", ssd_bundle, "--backend", "triton", "--duration", "3", "--json", tmp_path / "b.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "b.json").read_text())
    pa = report["phases"]["perf_analyzer"]
    assert pa["source"] == "perf_analyzer" and pa["throughput_images_per_s"] > 0
    assert 0 < pa["latency_ms"]["p50"] <= pa["latency_ms"]["p99"]
    assert report["versions"]["perf_analyzer"] and report["phases"]["end_to_end"]["calls"] > 0


def test_perf_analyzer_csv_as_triton_documents_it(tmp_path):
    # The -f report layout of Triton's perf_analyzer documentation (latencies in microseconds).
    (tmp_path / "perf.csv").write_text(
        "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,"
        "Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n"
        "1,69.2,225,2148,64,206,11781,19,0,13891,18795,19753,21018\n")
    figures = parse_perf_analyzer_csv(tmp_path / "perf.csv", batch_size=1)
    assert figures["throughput_images_per_s"] == 69.2 and figures["concurrency"] == 1
    assert figures["latency_ms"] == {"mean": pytest.approx(14.443), "p50": 13.891, "p90": 18.795, "p99": 21.018}
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(Exception, match="not a perf_analyzer CSV report"):
        parse_perf_analyzer_csv(tmp_path / "bad.csv", 1)


def test_bad_requests(ssd_bundle, tmp_path):
    assert_clean_error(run_cli("bench", ssd_bundle, "--duration", "0"), "--duration 0")
    assert_clean_error(run_cli("bench", ssd_bundle, "--concurrency", "0"), "--concurrency 0")
    assert_clean_error(run_cli("bench", ssd_bundle, "--onnx", tmp_path / "nope.onnx"), "nope.onnx: no such ONNX model")
    assert_clean_error(run_cli("bench", tmp_path / "nobundle"), "no such bundle folder")
