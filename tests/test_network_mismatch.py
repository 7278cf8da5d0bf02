"""--network must describe the model and the spec: a model or spec of another network is refused
before anything is written, because its outputs would go to the wrong DeepStream parser (garbage
boxes) and its labels would follow the wrong rule (background or not)."""

from __future__ import annotations

import itertools

import pytest

from cli_support import assert_clean_error, run_cli
from conftest import REAL_ETLT
from taostream.converter.model.etlt import read_etlt
from taostream.converter.registry import NETWORKS, get_network, model_network_mismatch, spec_network_mismatch
from taostream.converter.samples.write import make_sample_model
from taostream.converter.tao_spec import load_spec
from taostream.converter.trt_support import plugin_op
from taostream.converter.uff.reader import load_uff


def _summary(model):
    ops = {node.op_type for node in model.graph.node if plugin_op(node.op_type)}
    return [i.name for i in model.graph.input], [o.name for o in model.graph.output], ops


SAMPLES = {net.name: _summary(make_sample_model(net)) for net in NETWORKS}


@pytest.mark.parametrize("model_net,claimed", list(itertools.product(SAMPLES, [n.name for n in NETWORKS])))
def test_sample_exports_against_every_network(model_net, claimed):
    inputs, outputs, ops = SAMPLES[model_net]
    message = model_network_mismatch(get_network(claimed), inputs, outputs, ops, source="m.etlt")
    if get_network(model_net).output_layout == get_network(claimed).output_layout:
        assert message is None  # the same parser reads both (SSD/DSSD/RetinaNet/FasterRCNN, YOLOv3/v4)
    else:
        assert message is not None
        assert message.startswith("m.etlt: its outputs (")
        assert f"--network is {claimed}" in message
        # the fix names a network whose parser reads these outputs
        suggested = message.split("pass --network ")[1].split(",")[0]
        assert get_network(suggested).output_layout == get_network(model_net).output_layout


@pytest.mark.parametrize("name", sorted(REAL_ETLT))
def test_real_detectnet_v2_exports(models_dir, name):
    key = REAL_ETLT[name][0]
    uff = load_uff(read_etlt(models_dir / name, key).data)
    outputs = uff.outputs()
    assert sorted(outputs) == ["output_bbox/BiasAdd", "output_cov/Sigmoid"]
    inputs = [REAL_ETLT[name][1]]
    assert model_network_mismatch(get_network("detectnet_v2"), inputs, outputs) is None
    message = model_network_mismatch(get_network("yolo_v4"), inputs, outputs, source=name)
    assert "those of TAO's detectnet_v2 export" in message and "pass --network detectnet_v2" in message


def test_unfamiliar_outputs_are_not_judged():
    # A custom head TAO never exported: nothing to compare with, so no claim is refused.
    for net in NETWORKS:
        assert model_network_mismatch(net, ["images"], ["boxes", "scores"]) is None


SPECS = {  # real TAO/TLT specs (shared fixtures) -> the network they train
    "tao_detectnet_v2_default_spec.txt": "detectnet_v2",
    "facemask_detectnet_v2_train_resnet18_kitti.txt": "detectnet_v2",
    "tao_ssd_default_spec.txt": "dssd",  # NVIDIA's file carries dssd_config
    "tao_retinanet_default_spec.txt": "retinanet",
    "tao_yolo_v3_coco_tfrecords.txt": "yolo_v3",
    "tao_yolo_v4_yolo_v4_tiny_kitti.txt": "yolo_v4",
    "tao_mask_rcnn_default.txt": "mask_rcnn",
    "tao_efficientdet_default.txt": "efficientdet",
    "tao_makenet_default_spec.txt": "classification",
}


@pytest.mark.parametrize("spec_name,claimed", list(itertools.product(SPECS, [n.name for n in NETWORKS])))
def test_real_specs_against_every_network(fixtures_dir, spec_name, claimed):
    keys = load_spec(fixtures_dir / "specs" / spec_name).to_dict().keys()
    trained, net = get_network(SPECS[spec_name]), get_network(claimed)
    message = spec_network_mismatch(net, keys, spec_name)
    same_family = trained.output_layout == net.output_layout and trained.label_rule == net.label_rule
    if same_family or not trained.spec_blocks:
        # SSD/DSSD/RetinaNet specs are interchangeable for deployment; specs without an
        # architecture block of their own (classification, EfficientDet) are not judged.
        assert message is None
    else:
        assert message is not None and f"{spec_name}: this is a {trained.name} experiment spec" in message
        assert f"pass --network {trained.name}" in message


def test_labels_command_refuses_another_networks_spec(fixtures_dir):
    result = run_cli("labels", fixtures_dir / "specs/tao_yolo_v4_yolo_v4_tiny_kitti.txt", "--network", "ssd")
    assert_clean_error(result, "yolo_v4 experiment spec (it has yolov4_config)", "--network is ssd")
    assert result.stdout == ""


def test_modernize_and_convert_refuse_another_networks_model(tmp_path):
    sample = tmp_path / "sample"
    assert run_cli("sample", "--network", "yolo_v4", "-o", sample).returncode == 0
    result = run_cli("modernize", sample / "model.etlt", "--key", "nvidia_tlt", "--network", "ssd",
                     "-o", tmp_path / "m.onnx")
    assert_clean_error(result, "are those of TAO's yolo_v4 export, but --network is ssd", "pass --network yolo_v4")
    assert not (tmp_path / "m.onnx").exists()
    result = run_cli("convert", sample / "model.etlt", "--key", "nvidia_tlt", "--network", "detectnet_v2",
                     "-o", tmp_path / "m.engine", "--trt-version", "10.3", "--dry-run")
    assert_clean_error(result, "--network is detectnet_v2", "pass --network yolo_v4")


@pytest.fixture(scope="module")
def ssd_and_yolo(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    for network in ("ssd", "yolo_v4"):
        assert run_cli("sample", "--network", network, "-o", root / network).returncode == 0
    return root / "ssd", root / "yolo_v4"


@pytest.mark.parametrize("model_of,spec_of,fragments", [
    # the spec fits --network yolo_v4, the model does not: its NMS outputs would reach the BatchedNMS parser
    ("ssd", "yolo_v4", ("its outputs (NMS, NMS_1) are those of TAO's", "but --network is yolo_v4")),
    # the model fits, the spec is SSD's: its labels would get a background line
    ("yolo_v4", "ssd", ("ssd experiment spec (it has ssd_config)", "pass --network ssd")),
])
def test_bundle_refuses_a_model_or_spec_of_another_network(ssd_and_yolo, tmp_path, model_of, spec_of, fragments):
    folders = dict(zip(("ssd", "yolo_v4"), ssd_and_yolo))
    out = tmp_path / "bundle"
    result = run_cli("bundle", folders[model_of] / "model.etlt", "--network", "yolo_v4", "--spec",
                     folders[spec_of] / "spec.txt", "--key", "nvidia_tlt", "-o", out)
    assert_clean_error(result, *fragments)
    assert not out.exists()


def test_an_inference_spec_for_another_network_names_the_block_the_file_has(fixtures_dir):
    # NVIDIA's face-mask DetectNet_v2 inference spec (inferencer_config + bbox_handler_config, no
    # cost_function_config): the message must name what the file holds
    spec = fixtures_dir / "specs/facemask_detectnet_v2_inference_kitti_etlt.txt"
    assert "cost_function_config" not in spec.read_text()
    result = run_cli("labels", spec, "--network", "ssd")
    assert_clean_error(result, f"{spec}: this is a detectnet_v2 experiment spec (it has inferencer_config)",
                       "--network is ssd", "pass --network detectnet_v2")


def test_bundle_with_ngc_labels_still_refuses_another_networks_spec(fixtures_dir, tmp_path):
    """The real LPDNet (DetectNet_v2) with its one-line labels.txt and, by mistake, TAO's DSSD spec:
    the labels file decides the class names, but the spec would decide the thresholds and clustering,
    so it is refused as it is without --labels (before: bundled with no word, pre-cluster-threshold 0.2
    instead of LPDNet's published 0.3)."""
    labels = tmp_path / "labels.txt"
    labels.write_text("lpd\n")
    out = tmp_path / "bundle"
    spec = fixtures_dir / "specs" / "tao_ssd_default_spec.txt"  # its architecture block is dssd_config
    result = run_cli("bundle", fixtures_dir / "models" / "lpd_usa_detectnet_v2_pruned.etlt", "--network", "lpdnet",
                     "--labels", labels, "--spec", spec, "--key", "nvidia_tlt", "-o", out)
    assert_clean_error(result, f"{spec}: this is a dssd experiment spec (it has dssd_config)",
                       "but --network is detectnet_v2", "pass --network dssd")
    assert result.returncode == 2 and not out.exists()


def test_migrate_names_the_config_whose_parser_disagrees_with_its_model(tmp_path):
    """NVIDIA's DeepStream 5 SSD config with a DetectNet_v2 model at its tlt-encoded-model path: the
    network came from the config's custom-lib-path, not from a --network the user typed, so the error
    names the config line and both ways out."""
    from migrate_support import config_tree

    sample = tmp_path / "sample"
    assert run_cli("sample", "--network", "detectnet_v2", "-o", sample).returncode == 0
    config = config_tree(tmp_path / "tree", "pgie_ssd_tlt_config.txt", sample / "model.etlt",
                         ["background", "car", "bicycle", "person", "road_sign"])
    out = tmp_path / "out"
    result = run_cli("migrate", config, "-o", out)
    assert_clean_error(result, f"{config}:52: [property] tlt-encoded-model: ", "detectnet_v2 export",
                       "custom-lib-path=libnvds_infercustomparser_ssd_tlt.so", "--network detectnet_v2")
    assert result.returncode == 2 and not out.exists()
    assert "--network is ssd" not in result.stderr  # the user gave no --network
