"""NVIDIA's TAO specs (shared fixtures) through a whole bundle: the NMS settings a real spec gives
(nms_config.clustering_iou_threshold and top_k, values read off the files by hand below) reach every
copy of the post-processing the bundle writes: the nvinfer config, the nvinferserver config, the CPU
Triton model's parameters, and the decode settings `infer` and `verify` use. The model is the network's
synthetic sample built at the spec's input size and class count (a user's export has them)."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from taostream.converter.registry import get_network
from taostream.converter.samples import write as samples
from taostream.converter.samples.onnx_graphs import GraphBuilder
from taostream.converter.tao_spec import load_spec, parse_spec
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.labels import labels_for_network
from taostream.deepstream_configs.specs.access import as_spec_dict, spec_value
from taostream.inference.bundle_info import cpu_model_parameters, load_bundle
from taostream.parsers.reference import NvinferClustering

# network, spec file, (C, H, W) of augmentation_config, clustering_iou_threshold, top_k: as the files say
CASES = [
    ("dssd", "tao_ssd_default_spec.txt", (3, 300, 300), 0.8, 200),  # NVIDIA's "ssd" spec carries dssd_config
    ("retinanet", "tao_retinanet_default_spec.txt", (3, 512, 512), 0.8, 200),
    ("yolo_v3", "tao_yolo_v3_coco_tfrecords.txt", (3, 384, 1248), 0.5, 200),
    ("yolo_v4", "tao_yolo_v4_yolo_v4_tiny_kitti.txt", (3, 384, 1248), 0.5, 200),
]


def _model_for(network: str, dims, classes: int) -> onnx.ModelProto:
    """The sample graph of ``network`` at the spec's size and class count (make_sample_model's recipe)."""
    net = get_network(network)
    builder = GraphBuilder(samples._seed(net.name), input_gain=1.0 / samples._input_amax(net))
    model_input = helper.make_tensor_value_info(net.input_blob, TensorProto.FLOAT, ["N", *dims])
    outputs = samples._BUILDERS[net.name](builder, net.input_blob, dims, classes)
    return onnx.shape_inference.infer_shapes(builder.model(f"spec_{network}", [model_input], outputs, doc="test model"))


@pytest.mark.parametrize("network, spec_name, dims, iou, top_k", CASES, ids=[c[0] for c in CASES])
def test_real_spec_nms_settings_reach_every_post_processing_copy(fixtures_dir, tmp_path, network, spec_name, dims, iou, top_k):
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle

    spec = fixtures_dir / "specs" / spec_name
    classes = len(labels_for_network(network, load_spec(spec)))
    model = tmp_path / "model.onnx"
    onnx.save(_model_for(network, dims, classes), str(model))
    bundle = tmp_path / "bundle"
    create_bundle(BundleRequest(model=model, network=network, output=bundle, spec=spec, precision="fp32"))
    net = get_network(network)

    config = read_ini(bundle / "deepstream" / "config_infer_primary.txt")
    common = config.group("class-attrs-all")
    assert (float(common.get("nms-iou-threshold")), int(common.get("topk"))) == (iou, top_k)
    assert int(config.group("property").get("num-detected-classes")) == classes
    assert config.group("property").get("infer-dims") == ";".join(map(str, dims))
    # nms_config.confidence_threshold is TAO's evaluation threshold (0.01 / 0.001): the deployment one stays
    assert float(common.get("pre-cluster-threshold")) == net.pre_cluster_threshold

    server_path = bundle / "deepstream" / "config_infer_primary_nvinferserver.txt"
    server = as_spec_dict(parse_spec(server_path.read_text(encoding="utf-8"), source=str(server_path)))
    nms = "infer_config.postprocess.detection.nms."
    assert (float(spec_value(server, nms + "iou_threshold")), int(spec_value(server, nms + "topk"))) == (iou, top_k)
    assert float(spec_value(server, nms + "confidence_threshold")) == net.pre_cluster_threshold

    cpu = load_bundle(bundle).cpu_model_dir()
    parameters = cpu_model_parameters((cpu / "config.pbtxt").read_text(encoding="utf-8"))
    assert float(parameters["nms_iou_threshold"]) == iou
    assert float(parameters["confidence_threshold"]) == net.pre_cluster_threshold
    served = NvinferClustering.from_text(parameters["nvinfer_clustering"])
    assert set(served.nms_iou) == {iou} and set(served.top_k) == {top_k}

    params = load_bundle(bundle).decode_params()  # what infer and verify decode with
    assert params.nvinfer == served and params.num_classes == classes
    assert set(params.pre_cluster_threshold) == {net.pre_cluster_threshold}
