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


@pytest.mark.parametrize("spec_name, field, where", [
    ("facemask_detectnet_v2_train_resnet18_kitti.txt", "dbscan_eps",
     "postprocessing_config.target_class_config[mask].clustering_config."),
    ("facemask_detectnet_v2_inference_kitti_tlt.txt", "dbscan_eps",
     "bbox_handler_config.classwise_bbox_handler_config[mask].clustering_config."),
    ("facemask_detectnet_v2_train_resnet18_kitti.txt", "minimum_bounding_box_height",
     "postprocessing_config.target_class_config[mask].clustering_config."),
])
def test_a_misspelled_clustering_field_is_refused_not_replaced_by_a_default(fixtures_dir, spec_name, field, where):
    """The real facemask specs with one clustering_config field misspelled: the bundle's DBSCAN eps became
    the parser's default 0.3 (the spec says 0.2 / 0.15) without a word; TAO's protobuf reader refuses such
    a spec. Now a SpecError names the file, the field path and the right name."""
    from taostream.converter.errors import SpecError
    from taostream.deepstream_configs.specs.inference_spec import as_training_spec
    from taostream.deepstream_configs.specs.settings import cluster_settings_from_spec

    text = (fixtures_dir / "specs" / spec_name).read_text()
    assert f"{field}:" in text
    network = get_network("detectnet_v2")
    good = parse_spec(text, source=spec_name)
    assert cluster_settings_from_spec(network, as_training_spec(good, spec_name), ["mask", "no-mask"]).parser_settings
    bad = parse_spec(text.replace(f"{field}:", f"{field}s:", 1), source=spec_name)
    with pytest.raises(SpecError) as raised:
        cluster_settings_from_spec(network, as_training_spec(bad, spec_name), ["mask", "no-mask"])
    assert str(raised.value) == (f"{spec_name}: {where}{field}s: no such field in TAO's DetectNet_v2 clustering_config "
                                 f"(TAO refuses the spec too); did you mean '{field}'?")
