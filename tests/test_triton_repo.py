"""Triton repositories: config.pbtxt parses with Triton's own model_config protobuf; the CPU
python-backend model returns the boxes the parsers' reference defines, in-process and under a real
tritonserver."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import onnx
import pytest

from deepstream_fixtures import make_onnx
from taostream.converter.errors import TaostreamError
from taostream.converter.registry import NETWORKS, get_network
from taostream.deepstream_configs.triton.pbtxt import format_pbtxt
from taostream.deepstream_configs.triton.repository import (
    TritonModelOptions, cpu_model_config, gpu_model_config, write_triton_repository)

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="the `triton` extra is not installed")
from google.protobuf import text_format  # noqa: E402


def parse_model_config(text: str):
    return text_format.Parse(text, model_config_pb2.ModelConfig())


@pytest.mark.parametrize("net", NETWORKS, ids=lambda n: n.name)
def test_gpu_and_cpu_configs_parse_with_tritons_protobuf(net):
    options = TritonModelOptions(net, "model", net.default_dims, num_classes=5, max_batch_size=4, instance_count=2)
    gpu = parse_model_config(format_pbtxt(gpu_model_config(options)))
    assert (gpu.name, gpu.platform, gpu.max_batch_size) == ("model", "tensorrt_plan", 4)
    assert gpu.HasField("dynamic_batching")
    assert gpu.instance_group[0].count == 2 and gpu.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
    assert [o.name for o in gpu.output] == list(net.outputs_onnx)
    assert gpu.input[0].name == net.input_blob
    c, h, w = net.default_dims
    assert list(gpu.input[0].dims) == ([h, w, c] if net.input_order == "NHWC" else [c, h, w])
    cpu = parse_model_config(format_pbtxt(cpu_model_config(options)))
    assert (cpu.name, cpu.backend) == ("model_cpu", "python")
    assert cpu.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_CPU
    assert cpu.parameters["output_layout"].string_value == net.output_layout


def test_registry_symbols_become_concrete_dims():
    net = get_network("detectnet_v2")
    config = parse_model_config(format_pbtxt(gpu_model_config(TritonModelOptions(net, "dn", (3, 544, 960), 3))))
    # grid = ceil(544/16) x ceil(960/16); bbox has 4 planes per class
    assert [list(o.dims) for o in config.output] == [[3, 34, 60], [12, 34, 60]]
    assert [o.name for o in config.output] == ["output_cov/Sigmoid:0", "output_bbox/BiasAdd:0"]
    yolo = parse_model_config(format_pbtxt(gpu_model_config(TritonModelOptions(get_network("yolov4"), "y", (3, 384, 1248), 3))))
    assert [list(o.dims) for o in yolo.output] == [[1], [200, 4], [200], [200]]
    assert yolo.output[0].data_type == model_config_pb2.TYPE_INT32


def test_model_outputs_override_registry_dims():
    net = get_network("ssd")
    options = TritonModelOptions(net, "s", (3, 300, 300), 4, model_outputs={"NMS": (1, 50, 7), "NMS_1": (1, 1, 1)})
    config = parse_model_config(format_pbtxt(gpu_model_config(options)))
    assert [list(o.dims) for o in config.output] == [[1, 50, 7], [1, 1, 1]]


def test_bad_batch_size_is_rejected():
    with pytest.raises(TaostreamError, match="max_batch_size"):
        gpu_model_config(TritonModelOptions(get_network("ssd"), "s", (3, 300, 300), 4, max_batch_size=0))


def _ssd_model(tmp_path):
    """SSD-layout model whose NMS output holds two known detections (keep count 2 as int32 bits)."""
    rows = np.zeros((1, 1, 10, 7), np.float32)
    rows[0, 0, 0] = (0, 2, 0.9, 0.1, 0.2, 0.5, 0.6)
    rows[0, 0, 1] = (0, 1, 0.2, 0.0, 0.0, 0.3, 0.3)  # below the 0.3 pre-cluster threshold
    keep = np.array([2], np.int32).view(np.float32).reshape(1, 1, 1, 1)
    model = make_onnx("Input", (1, 3, 300, 300), {"NMS": (1, 1, 10, 7), "NMS_1": (1, 1, 1, 1)},
                      values={"NMS": rows, "NMS_1": keep})
    path = tmp_path / "ssd.onnx"
    onnx.save(model, path)
    return path


def _cpu_repository(tmp_path):
    net = get_network("ssd")
    options = TritonModelOptions(net, "ssd", (3, 300, 300), 4, max_batch_size=1, input_name="Input",
                                 model_outputs={"NMS": (1, 10, 7), "NMS_1": (1, 1, 1)})
    root = tmp_path / "repo"
    written = write_triton_repository(root, options, onnx_model=_ssd_model(tmp_path), gpu=False)
    assert (root / "ssd_cpu" / "1" / "taostream_reference.py") in written
    return root


EXPECTED_BOX = [30.0, 60.0, 150.0, 180.0, 0.9, 2.0]  # (0.1,0.2,0.5,0.6) x 300, score, class


def test_cpu_model_decodes_in_process(tmp_path):
    root = _cpu_repository(tmp_path)
    version = root / "ssd_cpu" / "1"
    spec = importlib.util.spec_from_file_location("tao_cpu_model", version / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = text_format.Parse((root / "ssd_cpu" / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    from google.protobuf.json_format import MessageToDict

    model = module.TritonPythonModel()
    model.initialize({"model_config": json.dumps(MessageToDict(config, preserving_proto_field_name=True)),
                      "model_repository": str(root / "ssd_cpu"), "model_version": "1"})
    raw = dict(zip(model.output_names, model.session.run(None, {"Input": np.zeros((1, 3, 300, 300), np.float32)})))
    result = model.postprocess(raw)
    assert result["num_detections"].tolist() == [[1]]
    np.testing.assert_allclose(result["detections"][0, 0], EXPECTED_BOX, atol=1e-4)
    assert not result["detections"][0, 1:].any()
    sys.modules.pop("taostream_reference", None)


def test_cpu_model_under_real_tritonserver(tmp_path):
    http = pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
    from taostream.inference.backends.triton_server import TritonServer, find_tritonserver

    try:
        find_tritonserver()
    except TaostreamError as exc:
        pytest.skip(f"no tritonserver here: {exc}")
    root = _cpu_repository(tmp_path)
    with TritonServer(root) as server:
        client = http.InferenceServerClient(server.http_url)
        request = http.InferInput("Input", [1, 3, 300, 300], "FP32")
        request.set_data_from_numpy(np.zeros((1, 3, 300, 300), np.float32))
        reply = client.infer("ssd_cpu", [request])
        client.close()  # an open connection holds the server's shutdown for its exit timeout
        assert reply.as_numpy("num_detections").tolist() == [[1]]
        np.testing.assert_allclose(reply.as_numpy("detections")[0, 0], EXPECTED_BOX, atol=1e-4)


def test_instance_segmentation_cpu_model_declares_masks_in_the_models_resolution():
    net = get_network("mask_rcnn")
    outputs = {"generate_detections": (100, 6), "mask_fcn_logits/BiasAdd": (100, 4, 14, 14)}
    config = parse_model_config(format_pbtxt(cpu_model_config(
        TritonModelOptions(net, "m", (3, 832, 1344), 4, model_outputs=outputs))))
    assert {o.name: list(o.dims) for o in config.output} == {"num_detections": [1], "detections": [100, 6],
                                                             "masks": [100, 14, 14]}
    registry = parse_model_config(format_pbtxt(cpu_model_config(TritonModelOptions(net, "m", (3, 832, 1344), 4))))
    assert [list(o.dims) for o in registry.output if o.name == "masks"] == [[100, 28, 28]]  # FACTS.md: 28 x 28
    ssd = parse_model_config(format_pbtxt(cpu_model_config(TritonModelOptions(get_network("ssd"), "s", (3, 300, 300), 4))))
    assert [o.name for o in ssd.output] == ["num_detections", "detections"]


def test_masks_are_packed_in_the_order_of_the_detection_rows(tmp_path):
    from taostream.deepstream_configs.triton.repository import python_model_source
    from taostream.parsers.reference import Detection

    (tmp_path / "model.py").write_text(python_model_source())  # as the repository writer copies it
    spec = importlib.util.spec_from_file_location("tao_cpu_model_packing", tmp_path / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    masks = [np.full((2, 3), value, np.float32) for value in (1, 2, 3)]
    found = [Detection(1, 0, 0, 1, 1, 0.5, mask=masks[0]), Detection(2, 0, 0, 1, 1, 0.9, mask=masks[1]),
             Detection(1, 0, 0, 1, 1, 0.5, mask=masks[2])]
    count, rows = module.pack_detections(found, 2)
    packed = module.pack_masks(found, 2, (2, 3))
    assert count.tolist() == [2] and rows[:, 4].tolist() == pytest.approx([0.9, 0.5])
    assert packed.shape == (2, 2, 3) and packed[:, 0, 0].tolist() == [2, 1]  # equal scores keep their order
