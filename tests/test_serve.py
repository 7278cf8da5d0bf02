"""Integration: `taostream serve` (a subprocess running a real tritonserver) on a sample bundle's CPU
repository, queried with tritonclient over HTTP and gRPC, returns exactly the detections the
OnnxRuntimeRunner gives with the same post-processing."""

from __future__ import annotations

import time

import numpy as np
import pytest

tritonclient_http = pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
tritonclient_grpc = pytest.importorskip("tritonclient.grpc", reason="the `triton` extra is not installed")

from taostream.inference.bundle_info import load_bundle  # noqa: E402
from taostream.inference.detector import Detector, sort_and_cap, unpack_server_detections  # noqa: E402
from taostream.inference.backends.runners import OnnxRuntimeRunner  # noqa: E402
from taostream.inference.backends.triton_runner import TritonRunner  # noqa: E402
from taostream.inference.backends.triton_server import free_port  # noqa: E402
from test_infer_support import make_bundle, noise_images, start_serve, stop_serve  # noqa: E402


def _key(det) -> tuple:
    """A detection as float32 values: what both sides computed, without formatting noise."""
    return (det.class_id, *np.float32([det.left, det.top, det.right, det.bottom, det.confidence]).tolist())


@pytest.fixture(scope="module")
def served_ssd(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    bundle = make_bundle(root, "ssd", batch_size=4)
    http_port, grpc_port = free_port(), free_port()
    process, printed = start_serve(bundle, http_port, grpc_port)
    yield load_bundle(bundle), f"127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", "".join(printed)
    stop_serve(process, printed)
    time.sleep(0.2)  # let the reader thread take the last line
    assert "stopped" in "".join(printed)


@pytest.fixture(scope="module")
def frames():
    return noise_images(6, seed=11)


@pytest.fixture(scope="module")
def onnxruntime_results(served_ssd, frames):
    bundle = served_ssd[0]
    with OnnxRuntimeRunner(bundle.onnx_for_cpu()) as runner:
        return Detector(bundle, runner).detect(frames)


def test_serve_prints_urls_and_skips_the_gpu_model(served_ssd):
    bundle, http_url, grpc_url, printed = served_ssd
    assert f"http://{http_url}" in printed and grpc_url in printed
    assert f"serving {bundle.cpu_model_name}" in printed
    # The default bundle's GPU model is the onnx-trt one (model.onnx present): a CPU host skips it as a GPU model.
    assert f"not serving {bundle.triton_model}: a GPU model (instance_group KIND_GPU) and this host has no" in printed


def test_raw_http_response_equals_onnxruntime_decoding(served_ssd, frames):
    """Plain tritonclient over HTTP, no taostream runner: the server's packed detections are the
    reference decoding of ONNX Runtime's raw outputs, sorted by confidence, at most 100."""
    bundle, http_url, _, _ = served_ssd
    with OnnxRuntimeRunner(bundle.onnx_for_cpu()) as runner:
        detector = Detector(bundle, runner)
        batch, _ = detector.preprocess(frames[:4])
        expected = [sort_and_cap(d, 100) for d in detector.decode(runner.infer({bundle.input_name: batch}), 4)]
    client = tritonclient_http.InferenceServerClient(http_url)
    request = tritonclient_http.InferInput(bundle.input_name, list(batch.shape), "FP32")
    request.set_data_from_numpy(batch)
    response = client.infer(bundle.cpu_model_name, [request])
    client.close()
    counts, rows = response.as_numpy("num_detections"), response.as_numpy("detections")
    assert counts.shape == (4, 1) and rows.shape == (4, 100, 6)
    got = [unpack_server_detections(counts[i], rows[i]) for i in range(4)]
    assert sum(len(d) for d in expected) > 20
    assert [[_key(d) for d in image] for image in got] == [[_key(d) for d in image] for image in expected]


@pytest.mark.parametrize("protocol, shared_memory", [("http", False), ("grpc", False), ("grpc", True)])
def test_triton_runner_gives_the_onnxruntime_detections(served_ssd, frames, onnxruntime_results, protocol, shared_memory):
    bundle, http_url, grpc_url, _ = served_ssd
    url = http_url if protocol == "http" else grpc_url
    with TritonRunner(url, bundle.cpu_model_name, protocol=protocol, shared_memory=shared_memory) as runner:
        assert runner.max_batch_size == 4  # 6 frames: two requests (4 + 2)
        results = Detector(bundle, runner).detect(frames)
    assert [r.source for r in results] == [r.source for r in onnxruntime_results]
    for got, expected in zip(results, onnxruntime_results):
        assert [_key(d) for d in got.detections] == [_key(d) for d in expected.detections]


def test_async_requests_over_both_protocols(served_ssd, frames):
    bundle, http_url, grpc_url, _ = served_ssd
    with OnnxRuntimeRunner(bundle.onnx_for_cpu()) as runner:
        detector = Detector(bundle, runner)
        batch, _ = detector.preprocess(frames[:2])
        expected = runner.infer({bundle.input_name: batch})
    for protocol, url in (("http", http_url), ("grpc", grpc_url)):
        with TritonRunner(url, bundle.cpu_model_name, protocol=protocol) as runner:
            futures = [runner.infer_async({bundle.input_name: batch[i : i + 1]}) for i in range(2)]
            outputs = [f.result(timeout=30) for f in futures]
        for i, output in enumerate(outputs):
            want = sort_and_cap(detector.decode({k: v[i : i + 1] for k, v in expected.items()}, 1)[0], 100)
            got = unpack_server_detections(output["num_detections"][0], output["detections"][0])
            assert [_key(d) for d in got] == [_key(d) for d in want]


def test_serve_refuses_a_folder_without_models(tmp_path):
    from taostream.cli import main

    assert main(["serve", str(tmp_path)]) == 2


@pytest.mark.parametrize("given", ["ssd_cpu", "ssd_cpu/config.pbtxt"])
def test_serve_given_one_models_folder_names_the_repository_above_it(tmp_path, capsys, given):
    """`serve repo/ssd_cpu` (the model folder, or its config.pbtxt) said "not a bundle or a Triton model
    repository ... create one with `taostream bundle`"; it now gives the command that serves it."""
    from taostream.cli import main

    (tmp_path / "repo/ssd_cpu/1").mkdir(parents=True)
    (tmp_path / "repo/ssd_cpu/config.pbtxt").write_text('name: "ssd_cpu"\nbackend: "python"\n')
    assert main(["serve", str(tmp_path / "repo" / given)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.endswith(f"`taostream serve {tmp_path / 'repo'} --model ssd_cpu`"), err


def test_serve_stops_on_sigint_even_when_started_with_it_ignored(served_ssd):
    # CI runners and `cmd &` in scripts start processes with SIGINT ignored; `serve` must still stop on it.
    process, printed = start_serve(served_ssd[0].path, free_port(), free_port(), ignore_sigint=True)
    stop_serve(process, printed)
    time.sleep(0.2)  # let the reader thread take the last line
    assert "stopped" in "".join(printed)



@pytest.mark.parametrize("option, value", [("--port", "70000"), ("--grpc-port", "-1"), ("--port", "65536")])
def test_serve_refuses_a_port_outside_the_tcp_range(served_ssd, option, value):
    # Triton used to listen on 70000 mod 65536 = 4464 while `serve` printed a URL on 70000.
    from cli_support import assert_clean_error, run_cli

    other = "--grpc-port" if option == "--port" else "--port"
    result = run_cli("serve", served_ssd[0].path, option, value, other, str(free_port()), timeout=30)
    assert result.returncode == 2
    assert_clean_error(result, f"{option} {value}", "1-65535", "0 for any free port")


def test_serve_refuses_the_same_port_for_http_and_grpc(served_ssd):
    from cli_support import assert_clean_error, run_cli

    port = str(free_port())
    result = run_cli("serve", served_ssd[0].path, "--port", port, "--grpc-port", port, timeout=30)
    assert result.returncode == 2
    assert_clean_error(result, f"both {port}")


@pytest.mark.parametrize("option", ["--port", "--grpc-port"])
def test_a_port_another_server_holds_names_the_option_to_change(served_ssd, option):
    """The port of the server already running: with its HTTP port, `serve` printed "ready" (its
    probe reached the other server) and then died on tritonserver's own error; with its gRPC port, a
    gRPC error dump. It is refused before the start, naming the option that sets that port."""
    from cli_support import assert_clean_error, run_cli

    taken = served_ssd[1 if option == "--port" else 2].rsplit(":", 1)[1]
    other = "--grpc-port" if option == "--port" else "--port"
    result = run_cli("serve", served_ssd[0].path, option, taken, other, str(free_port()), timeout=120)
    assert result.returncode == 2
    assert_clean_error(result, f"127.0.0.1:{taken} (the {'HTTP' if option == '--port' else 'gRPC'} port) is in use",
                       f"a free one with {option}")
    assert "ready" not in result.stdout


def test_serve_infer_and_verify_work_for_a_bundle_path_with_spaces_and_non_ascii(served_ssd, frames, tmp_path):
    """A bundle under 'my bündle (copy)': serve, `infer --backend triton` without --url and `verify
    --backend triton` used to wait 60 s and say "not ready" (the Python stub died on the path)."""
    import json
    import shutil

    from cli_support import run_cli
    from test_infer_support import write_images

    bundle = tmp_path / "my bündle (copy)" / "ssd"
    shutil.copytree(served_ssd[0].path, bundle)
    images = write_images(tmp_path / "photos é", frames[:2])
    process, printed = start_serve(bundle, free_port(), free_port())
    stop_serve(process, printed)
    assert "ready" in "".join(printed)
    runs = {}
    for backend in ("triton", "ort"):
        result = run_cli("infer", bundle, *images, "-o", tmp_path / f"out {backend}", "--backend", backend,
                         "--no-progress", timeout=180)
        assert result.returncode == 0, result.stderr
        runs[backend] = json.loads((tmp_path / f"out {backend}" / "results.json").read_text())["images"]
    assert [r["detections"] for r in runs["triton"]] == [r["detections"] for r in runs["ort"]]
    assert any(r["detections"] for r in runs["ort"])
    verify = run_cli("verify", bundle, *images, "--backend", "triton", "--no-progress", timeout=180)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_infer_against_a_server_whose_config_was_edited_says_how_to_find_the_difference(served_ssd, frames, tmp_path):
    """The CPU model's config.pbtxt edited to other input dims (Triton's python backend still loads it):
    `infer --backend triton` fails every image; the one line says where the difference is and how to find it."""
    import shutil

    from cli_support import assert_clean_error, run_cli
    from test_infer_support import write_images

    bundle = tmp_path / "edited"
    shutil.copytree(served_ssd[0].path, bundle)
    config = bundle / "triton" / served_ssd[0].cpu_model_name / "config.pbtxt"
    text = config.read_text()
    c, h, w = served_ssd[0].dims
    assert f"dims: [{c}, {h}, {w}]" in text
    config.write_text(text.replace(f"dims: [{c}, {h}, {w}]", f"dims: [{c}, {h * 2}, {w * 2}]", 1))
    http_port = free_port()
    process, printed = start_serve(bundle, http_port, free_port())
    try:
        images = write_images(tmp_path / "photos", frames[:1])
        result = run_cli("infer", bundle, *images, "-o", tmp_path / "out", "--backend", "triton", "--url",
                         f"127.0.0.1:{http_port}", "--no-progress", timeout=180)
    finally:
        stop_serve(process, printed)
    assert_clean_error(result, f"has shape [1, {c}, {h}, {w}], the model expects [-1, {c}, {h * 2}, {w * 2}]",
                       "`taostream check BUNDLE`", "`taostream serve BUNDLE`")
    assert not (tmp_path / "out").exists()
