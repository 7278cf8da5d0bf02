"""A real tritonserver on 127.0.0.1 serving a generated Python-backend model."""

from __future__ import annotations

import glob
import re
import textwrap

import numpy as np
import pytest

from taostream.converter.errors import TaostreamError

tritonclient_http = pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
from taostream.inference.backends.triton_runner import TritonRunner  # noqa: E402
from taostream.inference.backends.triton_server import SHM_PATTERN, TritonServer, find_tritonserver  # noqa: E402

MODEL = textwrap.dedent(
    """
    import numpy as np
    import triton_python_backend_utils as pb_utils

    class TritonPythonModel:
        def execute(self, requests):
            responses = []
            for request in requests:
                x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
                y = pb_utils.Tensor("Y", (x * 2 + 1).astype(np.float32))
                responses.append(pb_utils.InferenceResponse([y]))
            return responses
    """
)
CONFIG = """
name: "affine"
backend: "python"
max_batch_size: 8
input [{ name: "X", data_type: TYPE_FP32, dims: [4] }]
output [{ name: "Y", data_type: TYPE_FP32, dims: [4] }]
dynamic_batching {}
"""


@pytest.fixture()
def repository(tmp_path):
    version = tmp_path / "repo" / "affine" / "1"
    version.mkdir(parents=True)
    (version / "model.py").write_text(MODEL)
    (tmp_path / "repo" / "affine" / "config.pbtxt").write_text(CONFIG)
    return tmp_path / "repo"


def test_server_serves_and_cleans_up(repository):
    shm_before = set(glob.glob(SHM_PATTERN))
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    with TritonServer(repository) as server:
        assert server.http_url.startswith("127.0.0.1:")
        client = tritonclient_http.InferenceServerClient(server.http_url)
        assert client.is_model_ready("affine")
        request = tritonclient_http.InferInput("X", list(x.shape), "FP32")
        request.set_data_from_numpy(x)
        y = client.infer("affine", [request]).as_numpy("Y")
        client.close()  # an open connection holds the server's shutdown for its exit timeout
        # the URL as `taostream serve` prints it ("HTTP: http://127.0.0.1:8000") works too
        with TritonRunner(f"http://{server.http_url}/", "affine") as runner:
            y_runner = runner.infer({"X": x})["Y"]
        process = server.process
    np.testing.assert_array_equal(y, x * 2 + 1)
    np.testing.assert_array_equal(y_runner, x * 2 + 1)
    assert process.poll() is not None, "the server must be stopped on exit"
    assert set(glob.glob(SHM_PATTERN)) <= shm_before


def test_broken_model_reports_the_server_log(tmp_path, repository):
    (repository / "affine" / "1" / "model.py").write_text("this is not python(")
    server = TritonServer(repository, startup_timeout=30)
    with pytest.raises(TaostreamError) as info:
        server.start()
    assert server.process.poll() is not None
    assert "affine" in str(info.value)


def test_missing_repository_is_a_clear_error(tmp_path):
    with pytest.raises(TaostreamError, match="no such model repository"):
        TritonServer(tmp_path / "nope")


def test_installation_is_found():
    installation = find_tritonserver()
    assert installation.binary.exists()
    if installation.kind == "pytriton":
        assert (installation.backend_directory / "python" / "triton_python_backend_stub").exists()


def _model_folder(root, name, config, files=()):
    folder = root / name
    (folder / "1").mkdir(parents=True)
    (folder / "config.pbtxt").write_text(config)
    for file in files:
        (folder / "1" / file).write_text("x")


def test_servable_models_skip_what_the_server_cannot_load(tmp_path):
    from taostream.inference.backends.triton_server import TritonInstallation, repository_models, servable_models

    _model_folder(tmp_path, "plan_missing", 'name: "plan_missing"\nplatform: "tensorrt_plan"\n')
    _model_folder(tmp_path, "plan_present", 'name: "plan_present"\nplatform: "tensorrt_plan"\n', ["model.plan"])
    _model_folder(tmp_path, "python_model", 'name: "python_model"\nbackend: "python"\n', ["model.py"])
    _model_folder(tmp_path, "onnx_model", 'name: "onnx_model"\nplatform: "onnxruntime_onnx"\n', ["model.onnx"])
    assert [(m.name, m.backend, m.has_model_file) for m in repository_models(tmp_path)] == [
        ("onnx_model", "onnxruntime", True), ("plan_missing", "tensorrt", False),
        ("plan_present", "tensorrt", True), ("python_model", "python", True)]
    pytriton = TritonInstallation(tmp_path / "tritonserver", tmp_path, "pytriton")
    load, skipped = servable_models(tmp_path, pytriton)
    assert load == ["python_model"]
    assert any(s.startswith("plan_missing: no model file") for s in skipped)
    assert any(s.startswith("plan_present: backend 'tensorrt' is not in nvidia-pytriton") for s in skipped)
    system = TritonInstallation(tmp_path / "tritonserver", None, "system")
    assert servable_models(tmp_path, system)[0] == ["onnx_model", "plan_present", "python_model"]


def test_a_model_without_its_version_folder_is_named_as_such(tmp_path):
    """A repository copied by hand with the version folder renamed ("v1") or left out: serve said "no model
    file in its version folder (a tensorrt_plan model needs model.plan ...)" of a Python model that has
    no version folder at all. Now it says which folder Triton loads and what it found instead."""
    from taostream.inference.backends.triton_server import TritonInstallation, servable_models

    folder = tmp_path / "ssd_cpu"
    (folder / "v1").mkdir(parents=True)
    (folder / "config.pbtxt").write_text('name: "ssd_cpu"\nbackend: "python"\n')
    (folder / "v1" / "model.py").write_text("x")
    pytriton = TritonInstallation(tmp_path / "tritonserver", tmp_path, "pytriton")
    assert servable_models(tmp_path, pytriton) == ([], [
        "ssd_cpu: no model file: no version folder (Triton loads ssd_cpu/1/model.py; found v1/, but version "
        "folders are numbers); put the model in ssd_cpu/1/"])
    (folder / "2").mkdir()
    assert servable_models(tmp_path, pytriton)[1] == ["ssd_cpu: no model file: model.py is not in its version folder 2/"]
    (folder / "v1").rename(folder / "1")
    assert servable_models(tmp_path, pytriton) == (["ssd_cpu"], [])


@pytest.mark.parametrize("command", [
    ["infer", "b", "x.jpg", "-o", "out", "--backend", "triton"],
    ["verify", "b", "x.jpg", "--backend", "triton"],
    ["evaluate", "ds", "--bundle", "b", "--backend", "triton"],
    ["bench", "b", "--backend", "triton"]])
@pytest.mark.parametrize("url,fragment", [
    ("https://127.0.0.1:8000", "plain HTTP or gRPC"),
    ("127.0.0.1", "HOST:PORT"),
    ("grpc://127.0.0.1:8001", "a grpc address, but the protocol is http")])
def test_a_url_tritonclient_cannot_take_is_one_line(tmp_path, monkeypatch, capsys, command, url, fragment):
    """--url http://127.0.0.1:8000 (what serve prints) made tritonclient's constructor fail and all four
    commands end in a traceback (AttributeError: ... '_closed'); it is now taken as HOST:PORT, and a
    URL that cannot be used is one line, before any bundle or model is read."""
    from taostream.cli import main

    monkeypatch.chdir(tmp_path)
    assert main([*command, "--url", url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"taostream: error: --url {url}") and fragment in err, err


def test_a_requested_model_the_server_cannot_load_is_named_before_it_starts(repository):
    """`infer/verify/evaluate/bench --backend triton --model-name` of the bundle's GPU model (or a misspelt
    name) started the server, which exited with "failed to load ... unable to find backend library for
    backend 'onnxruntime'" (or "failed to load all models"); now the reason serve gives, before a start."""
    _model_folder(repository, "gpu_model", 'name: "gpu_model"\nplatform: "onnxruntime_onnx"\n'
                  'instance_group [{ kind: KIND_GPU }]\n', ["model.onnx"])
    _model_folder(repository, "plan_missing", 'name: "plan_missing"\nplatform: "tensorrt_plan"\n')
    for name, fragment in (("nosuch", "no model 'nosuch' (its models: affine, gpu_model, plan_missing)"),
                           ("plan_missing", "cannot serve plan_missing: no model file"),
                           ("gpu_model", "cannot serve gpu_model: ")):  # no GPU here, or no onnxruntime backend
        server = TritonServer(repository, models=[name], installation=find_tritonserver(prefer_system=False))
        with pytest.raises(TaostreamError, match=re.escape(fragment)):
            server.start()
        assert server.process is None, "nothing was started"


def test_explicit_model_list_goes_on_the_command_line(repository):
    server = TritonServer(repository, models=["affine"])
    command = server.command()
    assert "--model-control-mode=explicit" in command and "--load-model=affine" in command
    assert not any(arg.startswith("--load-model") for arg in TritonServer(repository).command())


@pytest.mark.parametrize("ports", [{"http_port": 70000}, {"grpc_port": 65536}, {"http_port": -5}])
def test_a_port_outside_the_tcp_range_is_refused(repository, ports):
    with pytest.raises(TaostreamError, match="1-65535, or 0 for any free port"):
        TritonServer(repository, **ports)


def _affine_repository(root):
    version = root / "affine" / "1"
    version.mkdir(parents=True)
    (version / "model.py").write_text(MODEL)
    (root / "affine" / "config.pbtxt").write_text(CONFIG)
    return root


@pytest.mark.parametrize("folder", ["models with spaces", "modèles", "Модели и пробелы"])
def test_a_repository_path_with_spaces_or_non_ascii_is_served(tmp_path, folder):
    # The Python backend's stub died on such paths (std::invalid_argument stol) and the start hung.
    repository = _affine_repository(tmp_path / folder / "triton")
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    with TritonServer(repository, models=["affine"], startup_timeout=60) as server:
        client = tritonclient_http.InferenceServerClient(server.http_url)
        request = tritonclient_http.InferInput("X", list(x.shape), "FP32")
        request.set_data_from_numpy(x)
        y = client.infer("affine", [request]).as_numpy("Y")
        client.close()
        link_folder = server._link_folder
        assert link_folder is not None and link_folder.is_dir()
    np.testing.assert_array_equal(y, x * 2 + 1)
    assert not link_folder.exists(), "the private link folder is removed on stop"
    assert (repository / "affine" / "1" / "model.py").is_file(), "the repository itself is untouched"


def test_a_dead_python_stub_is_reported_at_once_with_the_servers_error(tmp_path, monkeypatch):
    """Without the private link (safe_path forced to say yes) the stub really dies on the space; the
    server lives on with the model 'loading'. The start must fail at once, quoting the server's line,
    not after the whole startup timeout."""
    import time

    from taostream.inference.backends import triton_server

    repository = _affine_repository(tmp_path / "with space" / "repo")
    monkeypatch.setattr(triton_server, "safe_path", lambda path: True)
    server = TritonServer(repository, models=["affine"], startup_timeout=120)
    started = time.monotonic()
    with pytest.raises(TaostreamError) as info:
        server.start()
    assert time.monotonic() - started < 60
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert "terminate called after throwing an instance of 'std::invalid_argument' (what():  stol)" in message, message
    assert server.process.poll() is not None, "the server is stopped"


def test_a_config_triton_cannot_parse_is_named_with_the_field(repository):
    """A config.pbtxt edited by hand ("max_batch_sizee"): the start ended with the server's last line,
    "error: creating server: Internal - failed to load all models", naming neither the file nor the field."""
    config = repository / "affine" / "config.pbtxt"
    config.write_text(config.read_text().replace("max_batch_size:", "max_batch_sizee:"))
    with pytest.raises(TaostreamError) as info:
        TritonServer(repository, models=["affine"], startup_timeout=120).start()
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert f"{config}: not a Triton ModelConfig (" in message and 'no field named "max_batch_sizee"' in message, message


def test_a_model_that_fails_to_load_is_reported_with_the_servers_line(repository):
    (repository / "affine" / "1" / "model.py").write_text(
        "class TritonPythonModel:\n    def initialize(self, args):\n        raise RuntimeError('weights are missing')\n")
    server = TritonServer(repository, models=["affine"], startup_timeout=120)
    with pytest.raises(TaostreamError) as info:
        server.start()
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert "failed to load 'affine'" in message and "weights are missing" in message, message
    # the Python backend's stack of model.py ("\\n\\nAt:\\n  .../model.py(3): initialize") is not part of the line
    assert "At:" not in message and "model.py(" not in message and "\\n" not in message, message
