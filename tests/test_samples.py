"""Synthetic TAO samples: every registry network's folder decodes, checks and matches the facts.

Oracles are independent of the writer: the registry's facts (input/output names, shapes, dtypes,
plugin ops), FACTS.md section 2's label rules (re-implemented here from the rule text, reading the
written spec with the project's spec parser), the attribute names TAO's exporters set on each plugin
node (nvidia_tao_tf1 exporters) and the input/output shapes the TensorRT OSS plugin READMEs and
getOutputDimensions require.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from taostream.cli import main
from taostream.converter import trt_support
from taostream.converter.int8.calib_cache import read_calibration_cache
from taostream.deepstream_configs.versions import DEFAULT_DEEPSTREAM
from taostream.converter.model.etlt import read_etlt
from taostream.converter.registry import NETWORKS, get_network
from taostream.converter.samples.write import make_sample_model, write_sample
from taostream.converter.samples.onnx_graphs import plugin_schemas
from taostream.converter.tao_spec import load_spec

NAMES = [n.name for n in NETWORKS]
KEY = "nvidia_tlt"

# Attributes TAO's exporters set on each plugin node, with their ONNX attribute types
# (nvidia_tao_tf1/cv/{ssd,retinanet}/export/onnx_exporter.py, faster_rcnn/export/exporter.py,
# yolo_v3/export/yolov3_exporter.py, mask_rcnn/export/exporter.py, efficientdet/exporter/onnx_exporter.py).
A = onnx.AttributeProto
TAO_PLUGIN_ATTRIBUTES = {
    "NMSDynamic_TRT": {
        "shareLocation": A.INT, "varianceEncodedInTarget": A.INT, "backgroundLabelId": A.INT,
        "confidenceThreshold": A.FLOAT, "nmsThreshold": A.FLOAT, "topK": A.INT, "codeType": A.INT,
        "keepTopK": A.INT, "numClasses": A.INT, "inputOrder": A.INTS, "confSigmoid": A.INT,
        "isNormalized": A.INT, "scoreBits": A.INT,
    },
    "BatchedNMSDynamic_TRT": {
        "shareLocation": A.INT, "backgroundLabelId": A.INT, "scoreThreshold": A.FLOAT, "iouThreshold": A.FLOAT,
        "topK": A.INT, "keepTopK": A.INT, "numClasses": A.INT, "clipBoxes": A.INT, "isNormalized": A.INT,
        "scoreBits": A.INT,
    },
    "ProposalDynamic": {
        "input_height": A.INT, "input_width": A.INT, "rpn_stride": A.INT, "roi_min_size": A.FLOAT,
        "nms_iou_threshold": A.FLOAT, "pre_nms_top_n": A.INT, "post_nms_top_n": A.INT,
        "anchor_sizes": A.FLOATS, "anchor_ratios": A.FLOATS,
    },
    "CropAndResizeDynamic": {"crop_height": A.INT, "crop_width": A.INT},
    "ResizeNearest_TRT": {"scale": A.FLOAT},
    "BatchTilePlugin_TRT": {},
    "MultilevelProposeROI_TRT": {"prenms_topk": A.INT, "keep_topk": A.INT, "fg_threshold": A.FLOAT,
                                 "iou_threshold": A.FLOAT, "image_size": A.INTS},
    "MultilevelCropAndResize_TRT": {"pooled_size": A.INT, "image_size": A.INTS},
    "GenerateDetection_TRT": {"num_classes": A.INT, "keep_topk": A.INT, "score_threshold": A.FLOAT,
                              "iou_threshold": A.FLOAT, "image_size": A.INTS},
    "EfficientNMS_TRT": {"plugin_version": A.STRING, "background_class": A.INT, "max_output_boxes": A.INT,
                         "score_threshold": A.FLOAT, "iou_threshold": A.FLOAT, "score_activation": A.INT,
                         "box_coding": A.INT},
}

@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    return {name: write_sample(name, root / name) for name in NAMES}


def _decoded(info) -> onnx.ModelProto:
    payload = read_etlt(info.model, KEY)
    assert payload.format == "onnx" and payload.input_name is None
    return onnx.load_from_string(payload.data)


@pytest.fixture(scope="module")
def models(samples):
    with plugin_schemas():
        return {name: onnx.shape_inference.infer_shapes(_decoded(info), strict_mode=True)
                for name, info in samples.items()}


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def _shapes(model) -> dict[str, list]:
    graph = model.graph
    table = {v.name: _dims(v) for v in (*graph.input, *graph.output, *graph.value_info)}
    table.update({t.name: list(t.dims) for t in graph.initializer})
    return table


def _attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _plugin_nodes(model, op):
    return [n for n in model.graph.node if n.op_type == op]


# -- files and container ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_sample_writes_all_files_and_says_synthetic(samples, name):
    info = samples[name]
    expected = {"model.etlt", "spec.txt", "labels.txt", "cal.bin", "README.md"}
    expected |= {"classification": {"classmap.json"}, "mask_rcnn": {"instances_val.json"},
                 "efficientdet": {"instances_val.json"}, "lprnet": {"us_lp_characters.txt"}}.get(name, set())
    assert {p.name for p in info.directory.iterdir()} == expected
    readme = info.readme.read_text()
    assert "SYNTHETIC" in readme and "random" in readme and "`nvidia_tlt`" in readme


@pytest.mark.parametrize("name", NAMES)
def test_model_decodes_and_passes_onnx_checker(samples, name):
    model = _decoded(samples[name])
    with plugin_schemas():
        onnx.checker.check_model(model, full_check=True)
    assert all(n.domain == "" for n in model.graph.node)  # plugin nodes too, as TAO writes them
    assert len(samples[name].model.read_bytes()) < 1_000_000


def test_plugin_schemas_make_the_checker_check_plugin_attributes(models):
    model = onnx.ModelProto()
    model.CopyFrom(models["ssd"])
    nms = _plugin_nodes(model, "NMSDynamic_TRT")[0]
    for attribute in nms.attribute:
        if attribute.name == "numClasses":
            attribute.CopyFrom(helper.make_attribute("numClasses", 5.0))  # FLOAT where TensorRT reads kINT32
    with plugin_schemas(), pytest.raises(onnx.checker.ValidationError, match="numClasses"):
        onnx.checker.check_model(model)


def test_plugin_schemas_are_registered_only_inside_the_block(models):
    with plugin_schemas():
        assert onnx.defs.has("NMSDynamic_TRT")
        with plugin_schemas():  # re-entrant: the inner block must not undo the outer one
            pass
        assert onnx.defs.has("NMSDynamic_TRT")
    assert not onnx.defs.has("NMSDynamic_TRT") and not onnx.defs.has("BatchTilePlugin_TRT")
    with pytest.raises(onnx.checker.ValidationError, match="No Op registered for BatchTilePlugin_TRT"):
        onnx.checker.check_model(models["ssd"])  # why the samples need the schemas at all


# -- input / outputs / plugins against the registry ------------------------------------------------
def _expected_output_dims(net, name, dims, num_classes) -> list:
    _, h, w = net.default_dims
    # T: LPRNet's time steps, network width / 4 (NVIDIA's LPR parser: seq_len = width / 4)
    symbols = {"C": num_classes, "4C": 4 * num_classes, "K": net.keep_top_k, "GH": h // 16, "GW": w // 16, "T": w // 4}
    return ["N", *(symbols.get(d, d) for d in dims)]


@pytest.mark.parametrize("name", NAMES)
def test_inputs_outputs_and_plugins_match_registry(samples, models, name):
    net, model = get_network(name), models[name]
    (model_input,) = model.graph.input
    assert model_input.name == net.input_blob
    assert model_input.type.tensor_type.elem_type == TensorProto.FLOAT
    assert _dims(model_input) == ["N", *net.input_shape]
    labels = _label_names(samples[name])
    assert [o.name for o in model.graph.output] == list(net.outputs_onnx)
    for output, fact in zip(model.graph.output, net.outputs):
        dtype = {"FP32": TensorProto.FLOAT, "INT32": TensorProto.INT32}[fact.dtype]
        assert output.type.tensor_type.elem_type == dtype, output.name
        assert _dims(output) == _expected_output_dims(net, output.name, fact.dims, len(labels)), output.name
    found = {n.op_type for n in model.graph.node if n.op_type in trt_support.PLUGINS}
    assert found == set(net.plugins_onnx)


@pytest.mark.parametrize("name", NAMES)
def test_plugin_attributes_are_those_tao_sets(models, name):
    for node in models[name].graph.node:
        if node.op_type in TAO_PLUGIN_ATTRIBUTES:
            expected = TAO_PLUGIN_ATTRIBUTES[node.op_type]
            assert {a.name: a.type for a in node.attribute} == expected, node.name


@pytest.mark.parametrize("name", ["ssd", "dssd", "retinanet", "faster_rcnn"])
def test_nms_plugin_inputs_and_class_count(samples, models, name):
    net, model = get_network(name), models[name]
    shapes, labels = _shapes(model), samples[name].labels.read_text().splitlines()
    (nms,) = _plugin_nodes(model, "NMSDynamic_TRT")
    attrs = _attrs(nms)
    order = attrs["inputOrder"]
    loc, conf, prior = (shapes[nms.input[order[i]]] for i in range(3))
    priors = prior[2] // 4
    loc_classes = 1 if attrs["shareLocation"] else attrs["numClasses"]
    assert prior[:2] == ["N", 2] and prior[3] == 1
    assert loc == ["N", priors * loc_classes * 4, 1, 1]
    assert conf == ["N", priors * attrs["numClasses"], 1, 1]
    assert attrs["numClasses"] == len(labels) and attrs["keepTopK"] == net.keep_top_k
    background = labels.index("background")
    assert attrs["backgroundLabelId"] == background
    assert background == (0 if net.background_position == "first" else len(labels) - 1)
    assert attrs["confSigmoid"] == (1 if name == "retinanet" else 0)


@pytest.mark.parametrize("name", ["yolo_v3", "yolo_v4"])
def test_batched_nms_inputs_and_class_count(samples, models, name):
    model, labels = models[name], samples[name].labels.read_text().splitlines()
    shapes = _shapes(model)
    (nms,) = _plugin_nodes(model, "BatchedNMSDynamic_TRT")
    boxes, scores = shapes[nms.input[0]], shapes[nms.input[1]]
    attrs = _attrs(nms)
    assert boxes[0] == "N" and boxes[2:] == [1, 4] and attrs["shareLocation"] == 1
    assert scores == ["N", boxes[1], len(labels)] and attrs["numClasses"] == len(labels)
    assert attrs["backgroundLabelId"] == -1 and attrs["keepTopK"] == get_network(name).keep_top_k


@pytest.mark.parametrize("name", ["ssd", "retinanet", "yolo_v3"])
def test_batch_tile_tiles_a_one_batch_constant(models, name):
    model = models[name]
    shapes = _shapes(model)
    constants = {t.name for t in model.graph.initializer}
    for tile in _plugin_nodes(model, "BatchTilePlugin_TRT"):
        reference, data = tile.input
        assert len(shapes[reference]) == 4 and shapes[reference][0] == "N"
        assert data in constants and shapes[data][0] == 1 and len(shapes[data]) == 4
        assert shapes[tile.output[0]] == ["N", *shapes[data][1:]]


@pytest.mark.parametrize("name", ["yolo_v3", "mask_rcnn"])
def test_resize_nearest_doubles_height_and_width(models, name):
    shapes = _shapes(models[name])
    for node in _plugin_nodes(models[name], "ResizeNearest_TRT"):
        n, c, h, w = shapes[node.input[0]]
        scale = _attrs(node)["scale"]
        assert shapes[node.output[0]] == [n, c, int(h * scale), int(w * scale)]


def test_faster_rcnn_proposal_and_crop_shapes(models):
    model = models["faster_rcnn"]
    shapes = _shapes(model)
    (proposal,) = _plugin_nodes(model, "ProposalDynamic")
    p = _attrs(proposal)
    anchors = len(p["anchor_sizes"]) * len(p["anchor_ratios"])
    scores, deltas = shapes[proposal.input[0]], shapes[proposal.input[1]]
    grid = [math.ceil(p["input_height"] / p["rpn_stride"]), math.ceil(p["input_width"] / p["rpn_stride"])]
    assert scores == ["N", anchors, *grid] and deltas == ["N", 4 * anchors, *grid]
    assert shapes[proposal.output[0]] == ["N", p["post_nms_top_n"], 4, 1]
    (crop,) = _plugin_nodes(model, "CropAndResizeDynamic")
    feature = shapes[crop.input[0]]
    c = _attrs(crop)
    assert crop.input[1] == proposal.output[0]
    assert shapes[crop.output[0]] == ["N", p["post_nms_top_n"], feature[1], c["crop_height"], c["crop_width"]]


def test_mask_rcnn_plugin_chain_shapes(samples, models):
    model, labels = models["mask_rcnn"], samples["mask_rcnn"].labels.read_text().splitlines()
    shapes = _shapes(model)
    (propose,) = _plugin_nodes(model, "MultilevelProposeROI_TRT")
    image_c, image_h, image_w = _attrs(propose)["image_size"]
    assert len(propose.input) == 10
    for level, (delta, score) in zip(range(2, 7), zip(propose.input[::2], propose.input[1::2])):
        stride = 2 ** level  # the plugin generates 3 anchors per cell at y, x = stride/2, 3*stride/2, ...
        count = len(range(stride // 2, image_h, stride)) * len(range(stride // 2, image_w, stride)) * 3
        assert shapes[delta] == ["N", count, 4, 1] and shapes[score] == ["N", count, 1, 1]
    rois = _attrs(propose)["keep_topk"]
    assert shapes[propose.output[0]] == ["N", rois, 4]
    (generate,) = _plugin_nodes(model, "GenerateDetection_TRT")
    g = _attrs(generate)
    assert g["num_classes"] == len(labels)
    assert shapes[generate.input[0]] == ["N", rois, 4 * len(labels), 1, 1]
    assert shapes[generate.input[1]] == ["N", rois, len(labels), 1, 1]
    assert generate.input[2] == propose.output[0]
    for crop in _plugin_nodes(model, "MultilevelCropAndResize_TRT"):
        roi, *levels = crop.input
        assert len(levels) == 5 and len({shapes[f][1] for f in levels}) == 1
        size = _attrs(crop)["pooled_size"]
        assert shapes[crop.output[0]] == ["N", shapes[roi][1], shapes[levels[0]][1], size, size]


def test_efficientdet_nms_inputs(samples, models):
    model, labels = models["efficientdet"], samples["efficientdet"].labels.read_text().splitlines()
    shapes = _shapes(model)
    (nms,) = _plugin_nodes(model, "EfficientNMS_TRT")
    boxes, scores, anchors = (shapes[t] for t in nms.input)
    assert boxes == ["N", boxes[1], 4] and scores == ["N", boxes[1], len(labels)]
    assert anchors == [1, boxes[1], 4]
    assert _attrs(nms)["max_output_boxes"] == get_network("efficientdet").keep_top_k


@pytest.mark.parametrize("name", ["classification", "detectnet_v2"])
def test_plugin_free_samples_run_in_onnx_runtime(samples, models, name):
    import onnxruntime

    net = get_network(name)
    session = onnxruntime.InferenceSession(_decoded(samples[name]).SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).uniform(0, 1, (2, *net.input_shape)).astype(np.float32)
    results = session.run(None, {net.input_blob: image})
    for result, declared in zip(results, models[name].graph.output):
        assert list(result.shape) == [2, *_dims(declared)[1:]]
        assert np.isfinite(result).all()
    if name == "classification":
        np.testing.assert_allclose(results[0].sum(axis=1), 1.0, rtol=1e-5)


def _plugin_inputs_from_standard_ops(model) -> list[str]:
    """Plugin input tensors that ONNX Runtime can compute (no plugin node upstream)."""
    computable = {i.name for i in model.graph.input} | {t.name for t in model.graph.initializer}
    wanted = []
    for node in model.graph.node:  # nodes are in topological order
        if node.op_type in trt_support.PLUGINS:
            wanted += [t for t in node.input if t in computable and t not in wanted
                       and t not in {i.name for i in model.graph.initializer}]
        elif all(t in computable for t in node.input if t):
            computable.update(node.output)
    return wanted


@pytest.mark.parametrize("name", [n for n in NAMES if get_network(n).plugins_onnx])
def test_plugin_inputs_are_finite_and_decodable(samples, name):
    """With a preprocessed image the tensors feeding the plugins stay in a range where the plugins'
    decoding (exp of box deltas, sigmoid/softmax scores) is finite: the samples are usable as
    oracle inputs for numpy references of the plugins."""
    import onnxruntime

    net = get_network(name)
    model = _decoded(samples[name])
    wanted = _plugin_inputs_from_standard_ops(model)
    assert wanted
    sub = onnx.utils.Extractor(model).extract_model([net.input_blob], wanted)
    session = onnxruntime.InferenceSession(sub.SerializeToString(), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(1).uniform(0, 255, (2, *net.input_shape)).astype(np.float32)
    offsets = np.asarray(net.offsets or (0.0,), dtype=np.float32)
    offsets = offsets.reshape((1, -1, 1, 1) if net.input_order == "NCHW" else (1, 1, 1, -1))
    feed = ((image - offsets) * net.net_scale_factor).astype(np.float32)
    for tensor, value in zip(wanted, session.run(wanted, {net.input_blob: feed})):
        assert value.shape[0] == 2, tensor
        assert np.isfinite(value).all() and np.abs(value).max() < 30.0, tensor


# -- labels: FACTS.md section 2 rules, applied here to the written spec -----------------------------
def _label_names(info) -> list[str]:
    """labels.txt's classes: a detector's one per line, a classifier's on one line split at ';'."""
    text = info.labels.read_text()
    return text.strip().split(";") if ";" in text else text.splitlines()


def _mapping_values(spec) -> list[str]:
    return [str(v) for v in spec.get_all("dataset_config.target_class_mapping.value")]


def _expected_labels(name, info) -> list[str]:
    spec = load_spec(info.spec)
    if name == "detectnet_v2":
        return [str(n) for n in spec.get_all("cost_function_config.target_classes.name")]
    if name in ("ssd", "dssd", "retinanet"):
        return ["background", *sorted({v.lower() for v in _mapping_values(spec)})]
    if name in ("yolo_v3", "yolo_v4"):
        tfrecords = bool(spec.get_all("dataset_config.data_sources.tfrecords_path"))
        values = _mapping_values(spec)
        return sorted(set(values)) if tfrecords else sorted({v.lower() for v in values})
    if name == "faster_rcnn":
        return [*sorted(set(_mapping_values(spec))), "background"]
    if name == "classification":
        classmap = json.loads(info.extra["classmap.json"].read_text())
        return [k for k, _ in sorted(classmap.items(), key=lambda item: item[1])]
    if name == "lprnet":  # dataset_config.characters_list_file, one character per line
        path = str(spec.get("dataset_config.characters_list_file"))
        assert path == str(info.extra["us_lp_characters.txt"])
        return Path(path).read_text().split()
    categories = json.loads(info.extra["instances_val.json"].read_text())["categories"]
    by_id = {c["id"]: c["name"] for c in categories}
    if name == "mask_rcnn":
        assert int(spec.get("data_config.num_classes")) == len(by_id) + 1
        return ["BG", *(by_id[i] for i in sorted(by_id))]
    return [by_id.get(i, f"unused_{i}") for i in range(1, max(by_id) + 1)]  # efficientdet


@pytest.mark.parametrize("name", NAMES)
def test_labels_follow_the_network_rule(samples, name):
    info = samples[name]
    assert _label_names(info) == _expected_labels(name, info)
    if get_network(name).network_type == 1:  # nvinfer's classifier form: one ';'-separated line
        assert info.labels.read_text() == ";".join(_expected_labels(name, info)) + "\n"


def test_label_rules_matter_for_these_specs(samples):
    """The chosen classes make the rules disagree with a naive list of the mapping values."""
    spec = load_spec(samples["ssd"].spec)
    values = _mapping_values(spec)
    assert len(values) > len(set(values)) and values != sorted(set(values))  # duplicates, unsorted
    detectnet = samples["detectnet_v2"].labels.read_text().splitlines()
    assert detectnet != sorted(detectnet)
    ssd, frcnn = (samples[n].labels.read_text().splitlines() for n in ("ssd", "faster_rcnn"))
    assert ssd[0] == frcnn[-1] == "background" and ssd[1:] == frcnn[:-1]
    assert "unused_3" in samples["efficientdet"].labels.read_text().splitlines()


@pytest.mark.parametrize("name", NAMES)
def test_samples_are_clean_examples_without_label_warnings(samples, name):
    """No sample spec triggers taostream's own mixed-case "rename ... and retrain" warning: the
    README's first command bundles a sample and must not tell the user to retrain it."""
    from taostream.deepstream_configs.labels import LabelSources, labels_from_spec_file

    info = samples[name]
    sources = LabelSources(classmap=info.extra.get("classmap.json"), coco_annotations=info.extra.get("instances_val.json"))
    labels = labels_from_spec_file(info.spec, name, sources)
    assert labels.warnings == []
    assert labels.names == _label_names(info)


# -- calibration cache ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_calibration_cache_names_graph_tensors(samples, models, name):
    cache = read_calibration_cache(samples[name].calibration)
    assert cache.header == "TRT-8601-EntropyCalibration2"
    graph = models[name].graph
    tensors = {i.name for i in graph.input} | {o for n in graph.node for o in n.output}
    assert cache.scales and set(cache.scales) <= tensors
    assert get_network(name).input_blob in cache.scales
    assert all(0 < s < 10 for s in cache.scales.values())


# -- determinism, aliases, batch ------------------------------------------------------------------
def test_same_network_gives_same_onnx_bytes(samples, tmp_path):
    first = make_sample_model("mask_rcnn").SerializeToString()
    assert make_sample_model("mask_rcnn").SerializeToString() == first
    again = write_sample("mask_rcnn", tmp_path / "again")
    assert read_etlt(again.model, KEY).data == read_etlt(samples["mask_rcnn"].model, KEY).data == first
    assert again.model.read_bytes() != samples["mask_rcnn"].model.read_bytes()  # fresh nonce


def test_aliases_and_fixed_batch(tmp_path):
    assert write_sample("frcnn", tmp_path / "frcnn").network == "faster_rcnn"
    model = make_sample_model("yolov4", batch=4)
    assert _dims(model.graph.input[0]) == [4, 3, 384, 1248]
    assert _dims(model.graph.output[1]) == [4, 200, 4]


# -- the command line -----------------------------------------------------------------------------
def test_cli_writes_sample(tmp_path, capsys):
    out = tmp_path / "ssd"
    assert main(["sample", "--network", "ssd", "-o", str(out)]) == 0
    assert (out / "model.etlt").is_file() and (out / "cal.bin").is_file()
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed and "NMSDynamic_TRT" in printed


def test_cli_unknown_network_is_one_line_exit_2(tmp_path, capsys):
    out = tmp_path / "nope"
    assert main(["sample", "--network", "yolo_v9", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown network 'yolo_v9'" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_existing_folder_needs_force(tmp_path, capsys):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["sample", "--network", "detectnet_v2", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert main(["sample", "--network", "detectnet_v2", "-o", str(out), "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "model.etlt").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["existing"]  # no temporary folder left behind


def test_a_public_key_faster_rcnn_sample_spec_names_that_key(samples):
    assert "enc_key: 'nvidia_tlt'\n" in samples["faster_rcnn"].spec.read_text()


@pytest.mark.parametrize("network", ["classification", "faster_rcnn"])
def test_cli_custom_key_is_used_and_never_written(tmp_path, capsys, network):
    """FasterRCNN's spec can hold the model key (enc_key): the sample spec named the public key
    nvidia_tlt even for a model encrypted with the user's key; now it names no key at all."""
    out, secret = tmp_path / "keyed", "s3cret-key-42"
    assert main(["sample", "--network", network, "-o", str(out), "--key", secret]) == 0
    assert "enc_key" not in (out / "spec.txt").read_text()
    assert read_etlt(out / "model.etlt", secret).format in ("onnx", "uff")
    assert secret not in capsys.readouterr().out
    for path in out.iterdir():
        assert secret.encode() not in path.read_bytes(), path.name


@pytest.mark.parametrize("name", NAMES)
def test_inspect_lists_plugins_and_trt11_removals(samples, name, capsys):
    assert main(["inspect", str(samples[name].model), "--key", KEY, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    net = get_network(name)
    assert {p["op"] for p in report["plugins"]} == set(net.plugins_onnx)
    removed = {p["op"] for p in report["plugins"] if p["trt"]["11"] == "removed"}
    assert removed == {op for op in net.plugins_onnx if not trt_support.PLUGINS[op].shipped_in("11")}


SPEC_SIZE_FIELDS = {  # where each network's TAO spec states the network input size
    "ssd": ("augmentation_config.output_height", "augmentation_config.output_width"),
    "detectnet_v2": ("augmentation_config.preprocessing.output_image_height",
                     "augmentation_config.preprocessing.output_image_width"),
    "faster_rcnn": ("model_config.input_image_config.size_height_width.height",
                    "model_config.input_image_config.size_height_width.width"),
}


@pytest.mark.parametrize("name", NAMES)
def test_spec_parses_and_states_the_model_input_size(samples, name):
    spec = load_spec(samples[name].spec)
    _, h, w = get_network(name).default_dims
    if name == "classification":
        assert spec.get("model_config.input_image_size") == f"3,{h},{w}"
    elif name == "mask_rcnn":
        assert spec.get("data_config.image_size") == f"({h}, {w})"
    elif name == "efficientdet":
        assert spec.get("dataset_config.image_size") == f"{h},{w}"
    else:
        fields = SPEC_SIZE_FIELDS.get(name, SPEC_SIZE_FIELDS["ssd"])
        assert [spec.get(f) for f in fields] == [h, w]


def test_readme_first_command_prints_no_warning(tmp_path):
    """README "Set up" step 1 after the install: sample, bundle, check, as a user types them."""
    from cli_support import run_cli

    sample, bundle = tmp_path / "taostream-sample", tmp_path / "taostream-bundle"
    steps = (("sample", "--network", "yolo_v4", "-o", sample, "--force"),
             ("bundle", sample / "model.etlt", "--network", "yolo_v4", "--spec", sample / "spec.txt",
              "--key", "nvidia_tlt", "-o", bundle, "--force"),
             ("check", bundle))
    for step in steps:
        result = run_cli(*step)
        assert result.returncode == 0, (step, result.stdout, result.stderr)
        assert "warning" not in result.stderr.lower() and "retrain" not in result.stderr, (step, result.stderr)
    assert result.stdout.strip().endswith(
        f"0 error(s), 0 warning(s) in 4 config(s) and 1 bundle(s) (DeepStream {DEFAULT_DEEPSTREAM})")
