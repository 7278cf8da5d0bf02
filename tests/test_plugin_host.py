"""The plugins' C++ host implementations (plugins/, libtaostream_plugins_host.so through
plugins/host.py) against the numpy references, bit for bit, and the CPU runner using them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from taostream.converter import native_build
from taostream.plugins import host as plugin_host
from taostream.plugins import maskrcnn as mrcnn
from taostream.plugins.reference import implementation_for, reference_for

from plugin_support import sanitized_plugin_host_env

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="CMake builds the plugin host library")


@pytest.fixture(scope="module")
def library():
    return plugin_host.load_plugin_host(str(plugin_host.build_plugin_host_library()))


def _proposal_inputs(rng, height, width, batch=1, delta_scale=0.3, ties=False, zero_every=0):
    inputs = []
    for anchors in mrcnn.pyramid_anchors(height, width):
        delta = (rng.standard_normal((batch, len(anchors), 4, 1)) * delta_scale).astype(np.float32)
        score = rng.random((batch, len(anchors), 1, 1)).astype(np.float32)
        if ties:
            score = (np.round(score * 8) / 8).astype(np.float32)
        if zero_every:
            score[:, ::zero_every] = 0
        inputs += [delta, score]
    return inputs


def _attrs(height, width, prenms_topk, keep_topk, fg_threshold=0.0, iou_threshold=0.7):
    return {"prenms_topk": prenms_topk, "keep_topk": keep_topk, "fg_threshold": fg_threshold,
            "iou_threshold": iou_threshold, "image_size": [3, height, width]}


def _assert_same_bits(host, reference):
    assert host.shape == reference.shape and host.dtype == reference.dtype
    np.testing.assert_array_equal(host.view(np.int32), reference.view(np.int32))


CASES = {
    # name: (height, width, batch, input options, attribute options)
    "ties at the prenms cut": (128, 96, 1, {"ties": True}, {"prenms_topk": 50, "keep_topk": 30}),
    # more than 512 kept candidates with equal scores: TopKGather orders them in CUB's blocked order
    "ties in the blocked order": (256, 192, 1, {"ties": True}, {"prenms_topk": 4096, "keep_topk": 1000,
                                                              "iou_threshold": 0.95}),
    "keep_topk over the candidates (zero rows)": (64, 64, 1, {}, {"prenms_topk": 7, "keep_topk": 1000}),
    "fg_threshold drops most": (96, 160, 1, {"zero_every": 3}, {"prenms_topk": 300, "keep_topk": 100,
                                                                 "fg_threshold": 0.9}),
    "fg_threshold drops all (empty)": (64, 64, 1, {}, {"prenms_topk": 100, "keep_topk": 10, "fg_threshold": 2.0}),
    "heavy overlap, low iou": (256, 192, 1, {"delta_scale": 0.05}, {"prenms_topk": 4096, "keep_topk": 1000,
                                                                    "iou_threshold": 0.3}),
    "large deltas (clip, exp cap)": (128, 128, 1, {"delta_scale": 8.0}, {"prenms_topk": 500, "keep_topk": 200}),
    "iou threshold 0": (96, 96, 1, {}, {"prenms_topk": 200, "keep_topk": 50, "iou_threshold": 0.0}),
    "batch of 2": (128, 96, 2, {"ties": True}, {"prenms_topk": 300, "keep_topk": 100}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_multilevel_propose_roi_host_equals_the_numpy_reference(library, name):
    height, width, batch, input_options, attr_options = CASES[name]
    inputs = _proposal_inputs(np.random.default_rng(len(name)), height, width, batch, **input_options)
    attrs = _attrs(height, width, **attr_options)
    reference = mrcnn.propose_rois_reference(attrs, inputs)[0]
    host = plugin_host.propose_rois_host(attrs, inputs, library)[0]
    _assert_same_bits(host, reference)
    if "empty" in name:
        assert not host.any()
    if "batch" in name:
        assert not np.array_equal(host[0], host[1])


def test_multilevel_propose_roi_host_on_the_mask_rcnn_sample(library):
    """The sample's own RPN outputs (832x1344, prenms_topk 4096, keep_topk 1000): thin wide boxes on P2."""
    from taostream.plugins.pipeline_compile import compile_plugin_pipeline
    from taostream.converter.samples.write import make_sample_model

    captured = {}

    def capture(attrs, inputs):
        captured["call"] = attrs, inputs
        return mrcnn.propose_rois_reference(attrs, inputs)

    def lookup(op):
        return capture if op.startswith("MultilevelProposeROI") else reference_for(op)

    pipeline = compile_plugin_pipeline(make_sample_model("mask_rcnn"), lookup)
    pipeline.run({"Input": np.random.default_rng(0).standard_normal((1, 3, 832, 1344)).astype(np.float32)})
    attrs, inputs = captured["call"]
    host = plugin_host.propose_rois_host(attrs, inputs, library)[0]
    _assert_same_bits(host, mrcnn.propose_rois_reference(attrs, inputs)[0])
    assert (host.any(axis=-1)).sum() == 1000


def test_non_finite_inputs_run_the_numpy_reference(library):
    inputs = _proposal_inputs(np.random.default_rng(1), 64, 64)
    inputs[1][0, 5] = np.nan
    inputs[2][0, 3, 2] = np.inf
    attrs = _attrs(64, 64, 50, 20)
    _assert_same_bits(plugin_host.propose_rois_host(attrs, inputs, library)[0],
                      mrcnn.propose_rois_reference(attrs, inputs)[0])


def test_host_rejects_what_the_reference_rejects(library):
    inputs = _proposal_inputs(np.random.default_rng(2), 64, 64)
    with pytest.raises(ValueError, match="anchors"):
        plugin_host.propose_rois_host(_attrs(128, 128, 10, 5), inputs, library)
    with pytest.raises(ValueError, match="prenms_topk"):
        plugin_host.propose_rois_host(_attrs(64, 64, 5000, 5), inputs, library)
    with pytest.raises(ValueError, match="inputs"):
        plugin_host.propose_rois_host(_attrs(64, 64, 10, 5), inputs[:8], library)


def test_the_cpu_runner_uses_the_host_library_and_falls_back_without_it(library, monkeypatch):
    assert implementation_for("MultilevelProposeROI_TRT") is plugin_host.propose_rois_host
    assert reference_for("MultilevelProposeROI_TRT") is mrcnn.propose_rois_reference
    assert implementation_for("SpecialSlice_TRT") is plugin_host.special_slice_host
    monkeypatch.setattr(plugin_host, "find_plugin_host_library", lambda build_dir=None: None)
    plugin_host.load_plugin_host.cache_clear()
    try:
        assert implementation_for("MultilevelProposeROI_TRT") is mrcnn.propose_rois_reference
        assert implementation_for("SpecialSlice_TRT") is mrcnn.special_slice_reference
    finally:
        monkeypatch.undo()
        plugin_host.load_plugin_host.cache_clear()


def test_infer_on_the_mask_rcnn_sample_gives_the_numpy_references_outputs(library):
    from taostream.plugins.pipeline_compile import compile_plugin_pipeline
    from taostream.converter.samples.write import make_sample_model
    from taostream.inference.backends.runners import PluginReferenceRunner

    model = make_sample_model("mask_rcnn")
    image = np.random.default_rng(4).standard_normal((1, 3, 832, 1344)).astype(np.float32)
    runner = PluginReferenceRunner(model)
    with runner:
        assert runner.pipeline.reference_for("MultilevelProposeROI_TRT") is plugin_host.propose_rois_host
        outputs = runner.infer({"Input": image})
    expected = compile_plugin_pipeline(model, reference_for).run({"Input": image})
    assert set(outputs) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(outputs[name], expected[name])


def test_a_missing_library_named_in_the_environment_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(plugin_host.LIBRARY_ENV, str(tmp_path / "nope.so"))
    with pytest.raises(plugin_host.TaostreamError, match=plugin_host.LIBRARY_ENV):
        plugin_host.find_plugin_host_library()


# ----------------------------------------------------------------------------- BatchedNMS

import modernize_graphs as mg  # noqa: E402  (the modernize tests' model and input builders)
from taostream.plugins import reference as pluginref  # noqa: E402


def _batched_cases():
    """The inputs and fields of tests/test_modernize_batched_nms.py's cases."""
    rng = np.random.default_rng(2)
    for share in (1, 0):
        yield (f"random shareLocation {share}, keepTopK 20 < candidates", mg.yolo_batched_nms_attrs(3, 20, shareLocation=share, topK=30),
               mg.batched_nms_feeds(3, 80, 3, rng, share_location=bool(share)))
    for clip in (1, 0):
        feeds = mg.batched_nms_feeds(2, 50, 4, rng)
        feeds["boxes"] = feeds["boxes"] * np.float32(1.5) - np.float32(0.2)
        yield f"clipBoxes {clip}, background 2", mg.yolo_batched_nms_attrs(4, 15, clipBoxes=clip, backgroundLabelId=2), feeds
    feeds = mg.batched_nms_feeds(2, 60, 3, rng, scale=400.0)
    feeds["scores"] = (rng.integers(0, 4, size=feeds["scores"].shape) / 3).astype(np.float32)
    feeds["scores"][1] = 0.1
    yield ("ties, an image with nothing above the threshold, pixel boxes",
           mg.yolo_batched_nms_attrs(3, 25, isNormalized=0, clipBoxes=0, topK=40), feeds)
    feeds = mg.batched_nms_feeds(2, 60, 2, rng, scale=20.0)  # 1..10 pixel boxes: Caffe's +1 decides overlaps
    yield "small pixel boxes (Caffe +1)", mg.yolo_batched_nms_attrs(2, 100, isNormalized=0, clipBoxes=0, topK=100), feeds
    boxes = np.array([[[[0.0, 0.0, 0.4, 0.4]], [[0.0, 0.05, 0.4, 0.45]], [[0.5, 0.5, 1.3, 0.9]]]], np.float32)
    scores = np.array([[[0.9, 0.1], [0.8, 0.2], [0.6, 0.6]]], np.float32)
    yield "hand-worked: class tie, overlap", mg.yolo_batched_nms_attrs(2, 4, topK=4), {"boxes": boxes, "scores": scores}


@pytest.mark.parametrize("static", [False, True])
def test_batched_nms_host_equals_the_reference_on_the_modernize_cases(library, static):
    for name, attrs, feeds in _batched_cases():
        inputs = [feeds["boxes"], feeds["scores"]]
        reference = pluginref.batched_nms_reference(attrs, inputs, static)
        host = plugin_host.batched_nms_host(attrs, inputs, static, library)
        assert len(host) == 4, name
        for got, expected in zip(host, reference):
            assert got.shape == expected.shape and got.dtype == expected.dtype, name
            np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32), err_msg=name)


def test_batched_nms_host_refuses_and_falls_back_like_the_reference(library):
    feeds = mg.batched_nms_feeds(1, 10, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="keepTopK"):
        plugin_host.batched_nms_host(mg.yolo_batched_nms_attrs(2, 5, topK=4), [feeds["boxes"], feeds["scores"]])
    feeds["scores"][0, 3, 1] = np.nan  # not finite: the reference's answer
    attrs = mg.yolo_batched_nms_attrs(2, 5)
    for got, expected in zip(plugin_host.batched_nms_host(attrs, [feeds["boxes"], feeds["scores"]], library=library),
                             pluginref.batched_nms_reference(attrs, [feeds["boxes"], feeds["scores"]])):
        np.testing.assert_array_equal(got, expected)


def test_the_cpu_runner_runs_batched_nms_on_the_host(library):
    assert implementation_for("BatchedNMS_TRT") is plugin_host.static_batched_nms_host
    assert implementation_for("BatchedNMSDynamic_TRT") is plugin_host.batched_nms_host
    assert implementation_for("NMS_TRT") is implementation_for("NMSDynamic_TRT") is plugin_host.nms_host


# ----------------------------------------------------------------------------- taostream plugins check

def test_plugins_check_has_a_row_per_plugin_and_check(library, tmp_path):
    import json

    from cli_support import run_cli
    from taostream.plugins.checks import PLUGIN_FOLDERS

    report = tmp_path / "report.json"
    result = run_cli("plugins", "check", "--json", report)
    assert result.returncode == 0, result.stderr
    rows = json.loads(report.read_text())["rows"]
    assert {r["plugin"] for r in rows} == set(PLUGIN_FOLDERS)
    checked = [r for r in rows if r["plugin"] in ("BatchedNMS", "NMS", "MultilevelProposeROI")]
    assert len(checked) >= 20 and all(r["result"] == "equal" for r in checked)
    assert {r["result"] for r in rows} == {"equal"}  # every plugin folder has a host implementation now
    assert {r["plugin"] for r in rows if "Proposal" in r["check"] or "CropAndResize:" in r["check"]} >= {
        "Proposal", "CropAndResize"}
    assert any("shareLocation 0" in r["check"] for r in checked) and any("background" in r["check"] for r in checked)
    assert "BatchedNMS_TRT: static plugin count [N]" in result.stdout and ", 0 differ" in result.stdout


def test_plugins_check_reports_a_host_implementation_that_differs(library, monkeypatch, capsys):
    from taostream.cli import main

    def off_by_one_box(attrs, inputs):
        outputs = plugin_host.batched_nms_host(attrs, inputs)
        outputs[1][0, 0, 0] += np.float32(1e-6)
        return outputs

    monkeypatch.setitem(plugin_host.HOST_IMPLEMENTATIONS, "BatchedNMSDynamic_TRT", off_by_one_box)
    assert main(["plugins", "check"]) == 1
    out = capsys.readouterr().out
    lines = {line.split("  ")[0] + "|" + " ".join(line.split()[1:]) for line in out.splitlines()}
    assert ("BatchedNMS|BatchedNMSDynamic_TRT: shareLocation 0, batch 3 DIFFERS (output 1 at [0, 0, 0]: 1e-06 vs the "
            "reference's 0.0)") in lines
    assert "MultilevelProposeROI|MultilevelProposeROI_TRT: batch of 2 equal" in lines


# ----------------------------------------------------------------------------- NMS (SSD DetectionOutput)

def _nms_inputs(feeds, attrs):
    """The plugin's inputs in its inputOrder (positions of loc, conf, priors)."""
    inputs = [None, None, None]
    for role, position in zip(("loc", "conf", "prior"), attrs["inputOrder"]):
        inputs[position] = feeds[role]
    return inputs


def _nms_cases():
    """The inputs and fields of tests/test_modernize_nms.py's cases."""
    for share in (1, 0):
        for background in (0, -1, 3):
            rng = np.random.default_rng(10 * share + background + 1)
            yield (f"shareLocation {share}, background {background}",
                   mg.ssd_nms_attrs(4, 12, shareLocation=share, backgroundLabelId=background),
                   mg.nms_feeds(3, 60, 4, rng, share_location=bool(share)))
    for code_type in (0, 1, 2, 3):
        for variance_in_target in (0, 1):
            yield (f"codeType {code_type}, varianceEncodedInTarget {variance_in_target}",
                   mg.ssd_nms_attrs(3, 10, codeType=code_type, varianceEncodedInTarget=variance_in_target),
                   mg.nms_feeds(2, 40, 3, np.random.default_rng(code_type)))
    rng = np.random.default_rng(7)
    feeds = mg.nms_feeds(2, 50, 4, rng)
    feeds["conf"] = (rng.integers(0, 5, size=feeds["conf"].shape) / 4).astype(np.float32)
    yield "ties on a 0.25 grid", mg.ssd_nms_attrs(4, 30, confidenceThreshold=0.3, topK=40), feeds
    yield ("nothing above the threshold", mg.ssd_nms_attrs(3, 8, confidenceThreshold=0.999),
           mg.nms_feeds(2, 30, 3, np.random.default_rng(3)))
    yield ("confSigmoid, pixel boxes (Caffe IoU)", mg.ssd_nms_attrs(3, 10, confSigmoid=1, isNormalized=0,
                                                                    confidenceThreshold=0.5),
           mg.nms_feeds(2, 40, 3, np.random.default_rng(5), normalized=False, softmax=False))
    feeds = mg.nms_feeds(3, 30, 3, np.random.default_rng(9))
    feeds["prior"] = feeds["prior"][:1]
    yield "one prior set for a batch of 3", mg.ssd_nms_attrs(3, 10), feeds
    feeds = mg.nms_feeds(2, 3, 2, np.random.default_rng(13))
    feeds["conf"][:] = 0.6
    yield ("keepTopK above all candidates", mg.ssd_nms_attrs(2, 8, topK=8, backgroundLabelId=-1, nmsThreshold=1.0),
           feeds)


def test_nms_host_equals_the_reference_on_the_modernize_cases(library):
    names = []
    for name, attrs, feeds in _nms_cases():
        inputs = _nms_inputs(feeds, attrs)
        reference = pluginref.nms_reference(attrs, inputs)
        host = plugin_host.nms_host(attrs, inputs, library)
        for got, expected in zip(host, reference):
            assert got.shape == expected.shape and got.dtype == expected.dtype, name
            np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32), err_msg=name)
        assert len(host) == 2
        names.append(name)
    assert len(names) == 19


def test_nms_decode_rounds_exp_from_double():
    # exp(6e-8) rounds to 1.00000012 in float32; numpy's float32 exp gives 1.0 (no growth)
    loc, prior = np.float32([[0, 0, 5.9604645e-08, 0]]), np.float32([[0, 0, 1000, 1000]])
    box = pluginref.decode_ssd_boxes(loc, prior, np.ones((1, 4), np.float32), pluginref.CENTER_SIZE, False)[0]
    assert box[0] < 0 and box[2] > 1000  # the width grew
    assert box[1] == 0 and box[3] == 1000


# ----------------------------------------------------------------------------- GenerateDetection

@pytest.mark.parametrize("seed, batch, rois, classes, keep, ties, threshold, iou", [
    (1, 1, 1000, 4, 100, False, 0.0, 0.5),  # TAO's sample layout
    (2, 2, 100, 4, 100, True, 0.0, 0.3),  # equal maxima across classes (the warp reduce) and rois (NMS, gather)
    (3, 1, 300, 40, 100, True, 0.0, 0.5),  # two argmax groups: a later group must be strictly greater
    (4, 2, 100, 2, 5, False, 0.9, 0.7),  # most under the threshold; keep_topk 5
    (5, 1, 2048, 3, 100, False, 0.0, 0.5),  # the plugin's roi limit
    (6, 1, 10, 3, 50, False, 0.0, 0.5),  # keep_topk above the candidates: padding rows
])
def test_generate_detection_host_equals_the_reference(library, seed, batch, rois, classes, keep, ties, threshold, iou):
    from taostream.plugins.checks import detection_inputs

    inputs = detection_inputs(seed, batch, rois, classes, ties)
    attrs = {"num_classes": classes, "keep_topk": keep, "score_threshold": threshold, "iou_threshold": iou,
             "image_size": [3, 200, 220]}
    host = plugin_host.generate_detection_host(attrs, inputs, library)[0]
    _assert_same_bits(host, mrcnn.generate_detection_reference(attrs, inputs)[0])
    if rois == 10:  # 10 rois, at most 10 detections: the rest is padding
        assert (host[0, 10:] == np.float32([0, 0, 0, 0, -1, 0])).all()


def test_generate_detection_host_on_the_mask_rcnn_sample(library):
    from taostream.plugins.pipeline_compile import compile_plugin_pipeline
    from taostream.converter.samples.write import make_sample_model

    captured = {}

    def capture(attrs, inputs):
        captured["call"] = attrs, inputs
        return mrcnn.generate_detection_reference(attrs, inputs)

    pipeline = compile_plugin_pipeline(make_sample_model("mask_rcnn"),
                                       lambda op: capture if op.startswith("GenerateDetection") else implementation_for(op))
    pipeline.run({"Input": np.random.default_rng(1).standard_normal((1, 3, 832, 1344)).astype(np.float32)})
    attrs, inputs = captured["call"]
    host = plugin_host.generate_detection_host(attrs, inputs, library)[0]
    _assert_same_bits(host, mrcnn.generate_detection_reference(attrs, inputs)[0])
    assert (host[0, :, 4] >= 1).sum() > 0


def test_generate_detection_refusals_are_the_references(library):
    from taostream.plugins.checks import detection_inputs

    inputs = detection_inputs(0, 1, 10, 1, False)
    with pytest.raises(ValueError, match="num_classes >= 2"):
        plugin_host.generate_detection_host({"num_classes": 1, "keep_topk": 5}, inputs, library)
    with pytest.raises(ValueError, match="lacks"):
        plugin_host.generate_detection_host({"num_classes": 2}, inputs, library)


def test_a_library_from_older_sources_is_not_used(tmp_path, monkeypatch, caplog):
    """A build/ left from an earlier checkout (older ABI): a warning says to rebuild, numpy runs."""
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("a C++ compiler builds the stale library")
    source = tmp_path / "old.cpp"
    source.write_text('extern "C" int taostream_plugins_host_abi_version(void) { return 1; }\n')
    old = tmp_path / "libtaostream_plugins_host.so"
    import subprocess

    subprocess.run([compiler, "-shared", "-fPIC", str(source), "-o", str(old)], check=True)
    monkeypatch.setenv(plugin_host.LIBRARY_ENV, str(old))
    plugin_host.load_plugin_host.cache_clear()
    try:
        assert implementation_for("MultilevelProposeROI_TRT") is mrcnn.propose_rois_reference
        assert "Rebuild it: cmake --build build --target taostream_plugins_host" in caplog.text
        assert "ABI 1" in caplog.text
    finally:
        monkeypatch.undo()
        plugin_host.load_plugin_host.cache_clear()


def test_plugins_check_under_address_and_undefined_behaviour_sanitizers():
    """The host library built with ASan + UBSan (-fno-sanitize-recover: any report aborts) through every
    `plugins check` case, loaded into Python with the sanitizer runtimes preloaded."""
    import subprocess
    import sys

    env = sanitized_plugin_host_env()
    result = subprocess.run([sys.executable, "-m", "taostream", "plugins", "check"], capture_output=True, text=True,
                            env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "ERROR: AddressSanitizer" not in result.stderr and "runtime error" not in result.stderr
    assert ", 0 differ" in result.stdout and "build-plugins-sanitize" in result.stdout


# ----------------------------------------------------------------------------- MultilevelCropAndResize

@pytest.mark.parametrize("seed, batch, rois, channels, pooled, options", [
    (1, 1, 300, 8, 7, {}),  # rois of every size: every level
    (2, 2, 100, 4, 14, {"integral": True}),  # whole-pixel rois: bin centres on sample points (fraction 0)
    (3, 2, 100, 3, 7, {"outside": True}),  # rois past the image: not valid, left zero
    (4, 1, 50, 2, 1, {}),
])
def test_multilevel_crop_and_resize_host_equals_the_reference(library, seed, batch, rois, channels, pooled, options):
    from taostream.plugins.checks import roi_align_inputs

    inputs = roi_align_inputs(seed, batch, rois, channels, 832, 1344, **options)
    attrs = {"pooled_size": pooled, "image_size": [3, 832, 1344]}
    host = plugin_host.crop_and_resize_host(attrs, inputs, library)[0]
    _assert_same_bits(host, mrcnn.crop_and_resize_reference(attrs, inputs)[0])
    if rois >= 100:  # the rois reach every level
        assert set(mrcnn.roi_levels(inputs[0].reshape(-1, 4)).tolist()) == {2, 3, 4, 5, 6}
    if options.get("outside"):
        assert not host.reshape(batch * rois, -1).any(axis=1).all()  # some rows not written


def test_multilevel_crop_and_resize_host_on_the_mask_rcnn_sample(library):
    """Both of the sample's ROI aligns (pooled 7 for the boxes, 14 for the masks) on its own inputs."""
    from taostream.plugins.pipeline_compile import compile_plugin_pipeline
    from taostream.converter.samples.write import make_sample_model

    calls = []

    def capture(attrs, inputs):
        calls.append((attrs, inputs))
        return mrcnn.crop_and_resize_reference(attrs, inputs)

    pipeline = compile_plugin_pipeline(make_sample_model("mask_rcnn"),
                                       lambda op: capture if op.startswith("MultilevelCropAndResize") else implementation_for(op))
    pipeline.run({"Input": np.random.default_rng(2).standard_normal((1, 3, 832, 1344)).astype(np.float32)})
    assert sorted(int(mrcnn._scalar(attrs["pooled_size"])) for attrs, _ in calls) == [7, 14]
    for attrs, inputs in calls:
        _assert_same_bits(plugin_host.crop_and_resize_host(attrs, inputs, library)[0],
                          mrcnn.crop_and_resize_reference(attrs, inputs)[0])


def test_a_build_older_than_the_sources_is_brought_up_to_date_before_it_is_loaded(library, monkeypatch):
    """A checkout updated after its last build: the library under build/plugins/ older than its objects
    (and here damaged) is rebuilt incrementally by the first lookup of the process, before anything loads
    it; before, the old library was loaded and, missing newer functions, silently not used."""
    import os

    from taostream.deepstream_configs.elf_symbols import exported_functions

    monkeypatch.delenv(plugin_host.LIBRARY_ENV, raising=False)
    path = plugin_host.find_plugin_host_library()
    assert path is not None
    damaged = path.with_name(path.name + ".damaged")  # renamed over it: this process's loaded copy stays intact
    damaged.write_bytes(path.read_bytes()[:4096])
    os.utime(damaged, (0, 0))
    os.replace(damaged, path)
    monkeypatch.setattr(native_build, "_UP_TO_DATE", set())  # a new process: nothing brought up to date yet
    assert plugin_host.find_plugin_host_library() == path
    assert set(plugin_host._FUNCTIONS) | {"taostream_plugins_host_abi_version"} <= exported_functions(path)


# ----------------------------------------------------------------------------- BatchTile, ResizeNearest, SpecialSlice

def _assert_same(host: list, reference: list):
    """Equal outputs: count, dtypes, shapes and bytes (NaN payloads included)."""
    assert len(host) == len(reference)
    for got, expected in zip(host, reference):
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("batch, shape, dtype, items", [
    (1, (2, 8, 1), np.float32, 1), (3, (2, 8, 1), np.float32, 1),  # tests/test_modernize_basic.py's rewrite cases
    (2, (3, 2, 2), np.float32, 2),  # a source of two items: only the first is repeated
    (3, (2, 1200, 1), np.float32, 1),  # SSD's priors [1, 2, P*4, 1]
    (2, (5,), np.int64, 1), (4, (3, 3), np.float16, 1),
])
def test_batch_tile_host_equals_the_reference(library, batch, shape, dtype, items):
    rng = np.random.default_rng(batch)
    image = rng.normal(size=(batch, 3, 4, 4)).astype(np.float32)
    source = (rng.normal(size=(items, *shape)) * 50).astype(dtype)
    host = plugin_host.batch_tile_host({}, [image, source], library)
    _assert_same(host, pluginref.batch_tile_reference({}, [image, source]))
    assert host[0].shape == (batch, *shape) and all((host[0][b] == source[0]).all() for b in range(batch))


def test_batch_tile_host_the_readme_example(library):
    a = np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2)
    b = np.arange(16, 28, dtype=np.float32).reshape(1, 3, 2, 2)
    (out,) = plugin_host.batch_tile_host({}, [a, b], library)
    np.testing.assert_array_equal(out, np.stack([b[0], b[0]]))


@pytest.mark.parametrize("scale", [2.0, 1.5, 3.0, 0.5, 1.0, 2.5])
def test_resize_nearest_host_equals_the_reference(library, scale):
    x = np.random.default_rng(0).normal(size=(2, 4, 5, 7)).astype(np.float32)  # test_modernize_basic's shape
    host = plugin_host.resize_nearest_host({"scale": scale}, [x], library)
    _assert_same(host, pluginref.resize_nearest_reference({"scale": scale}, [x]))
    assert host[0].shape == (2, 4, int(5 * scale), int(7 * scale))


def test_resize_nearest_host_by_hand_and_on_odd_inputs(library):
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    (odd,) = plugin_host.resize_nearest_host({"scale": 1.5}, [x], library)  # int(2*1.5)=3, int(3*1.5)=4
    np.testing.assert_array_equal(odd[0, 0], [[0, 0, 1, 2], [0, 0, 1, 2], [3, 3, 4, 5]])
    (default,) = plugin_host.resize_nearest_host({}, [x], library)  # scale 2 when the attribute is missing
    np.testing.assert_array_equal(default[0, 0, 1], [0, 0, 1, 1, 2, 2])
    special = np.array([[np.nan, -np.inf], [np.inf, -0.0]], np.float32).reshape(1, 1, 2, 2)
    _assert_same(plugin_host.resize_nearest_host({"scale": 2.0}, [special], library),
                 pluginref.resize_nearest_reference({"scale": 2.0}, [special]))  # copied as they are
    ints = np.arange(24, dtype=np.int32).reshape(2, 3, 4)  # rank 3, int32: the last two axes, the dtype kept
    _assert_same(plugin_host.resize_nearest_host({"scale": 2.0}, [ints], library),
                 pluginref.resize_nearest_reference({"scale": 2.0}, [ints]))
    for scale in (0.0, -2.0):  # no rows: the reference's empty answer
        _assert_same(plugin_host.resize_nearest_host({"scale": scale}, [x], library),
                     pluginref.resize_nearest_reference({"scale": scale}, [x]))


@pytest.mark.parametrize("batch, rois, keep", [(1, 1000, 100), (2, 100, 100), (1, 10, 50)])
def test_special_slice_host_equals_the_reference(library, batch, rois, keep):
    from taostream.plugins.checks import detection_inputs

    attrs = {"num_classes": 4, "keep_topk": keep, "image_size": [3, 200, 220]}
    (detections,) = mrcnn.generate_detection_reference(attrs, detection_inputs(batch, batch, rois, 4))
    host = plugin_host.special_slice_host({}, [detections], library)
    _assert_same(host, mrcnn.special_slice_reference({}, [detections]))
    np.testing.assert_array_equal(host[0], detections[..., :4])
    detections[0, 0, 1], detections[0, 1, 3] = np.nan, np.inf
    _assert_same(plugin_host.special_slice_host({}, [detections], library),
                 mrcnn.special_slice_reference({}, [detections]))


def test_special_slice_host_refuses_what_the_reference_refuses(library):
    with pytest.raises(ValueError):
        plugin_host.special_slice_host({}, [np.zeros((2, 5, 5), np.float32)], library)


# ----------------------------------------------------------------------------- CropAndResize (FasterRCNN)

from taostream.plugins import frcnn as pluginref_frcnn  # noqa: E402


@pytest.mark.parametrize("op, crop, batch, rois, size", [
    ("CropAndResizeDynamic", (7, 7), 2, 8, (5, 9, 11)),  # tests/test_modernize_frcnn.py's rewrite cases
    ("CropAndResize", (1, 3), 1, 8, (5, 9, 11)),
    ("CropAndResizeDynamic", (4, 1), 3, 8, (5, 9, 11)),
    ("CropAndResize", (2, 2), 2, 5, (3, 6, 6)),
    ("CropAndResize", (7, 7), 1, 300, (32, 24, 78)),  # TAO's FasterRCNN: 300 rois on a 24x78 map
])
def test_crop_and_resize_host_equals_the_reference(library, op, crop, batch, rois, size):
    from taostream.plugins.checks import crop_inputs

    fmap, boxes = crop_inputs(sum(crop) + batch, batch, *size, rois)
    attrs = {"crop_height": crop[0], "crop_width": crop[1]}
    host = plugin_host.frcnn_crop_and_resize_host(attrs, [fmap, boxes], library, op)
    reference = pluginref_frcnn.crop_and_resize_reference(fmap, boxes, crop_height=crop[0], crop_width=crop[1])
    _assert_same(host, [reference])
    assert not host[0][:, 3].any() and not host[0][:, 4].any()  # wholly outside, NaN: the extrapolation value
    assert host[0][:, 0].any()


def test_crop_and_resize_host_ramp_by_hand(library):
    # feature value = x: the whole-image roi sampled at 5 columns gives linspace(0, W-1, 5); a roi past
    # the right edge gives the extrapolation value 0 there (tests/test_modernize_frcnn.py's ramp)
    fmap = np.tile(np.arange(9, dtype=np.float32), (1, 2, 4, 1))
    rois = np.array([[[0, 0, 1, 1], [0, 0.5, 1, 1.5]]], np.float32)  # rank 3: [N, R, 4]
    (out,) = plugin_host.frcnn_crop_and_resize_host({"crop_height": 3, "crop_width": 5}, [fmap, rois], library)
    np.testing.assert_array_equal(out[0, 0, 1, 2], [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(out[0, 1, 0, 0], [4, 6, 8, 0, 0])


def test_crop_and_resize_host_on_proposal_rois_touching_the_border(library):
    """Rois normalized by (H_in - 1, W_in - 1) as Proposal writes them: y2 = x2 = 1.0 puts the last
    sample exactly on the map's edge, which EDGE_TOLERANCE keeps inside."""
    rng = np.random.default_rng(3)
    fmap = rng.standard_normal((2, 4, 24, 78)).astype(np.float32)
    pixels = np.sort(rng.uniform(0, 383, (2, 40, 2, 2)), axis=2).astype(np.float32)  # [N, R, (lo, hi), (y, x)]
    pixels[:, :10, 1] = [383, 1247]
    rois = np.stack([pixels[:, :, 0, 0] / np.float32(383), pixels[:, :, 0, 1] / np.float32(1247),
                     pixels[:, :, 1, 0] / np.float32(383), pixels[:, :, 1, 1] / np.float32(1247)], -1)[..., None]
    attrs = {"crop_height": 7, "crop_width": 7}
    host = plugin_host.frcnn_crop_and_resize_host(attrs, [fmap, rois], library)
    _assert_same(host, [pluginref_frcnn.crop_and_resize_reference(fmap, rois, crop_height=7, crop_width=7)])
    assert host[0][:, :10, :, -1, -1].all()  # the edge sample is read, not extrapolated


def test_crop_and_resize_host_falls_back_and_refuses_like_the_reference(library):
    from taostream.plugins.checks import crop_inputs

    fmap, rois = crop_inputs(5, 1, 3, 6, 6, 6)
    fmap[0, 1, 2, 3] = np.nan  # a non-finite feature: the reference's answer, NaN where it is read
    attrs = {"crop_height": 3, "crop_width": 3}
    host = plugin_host.frcnn_crop_and_resize_host(attrs, [fmap, rois], library)
    _assert_same(host, [pluginref_frcnn.crop_and_resize_reference(fmap, rois, crop_height=3, crop_width=3)])
    assert np.isnan(host[0]).any()
    with pytest.raises(ValueError, match="crop_width"):
        plugin_host.frcnn_crop_and_resize_host({"crop_height": 3}, [fmap, rois], library)
    assert implementation_for("CropAndResize") is implementation_for("CropAndResizeDynamic") is \
        plugin_host.frcnn_crop_and_resize_host


# ----------------------------------------------------------------------------- Proposal (FasterRCNN)

def _proposal_cases():
    """tests/test_modernize_frcnn.py's Proposal cases: (name, fields, scores, deltas)."""
    from taostream.plugins.checks import PROPOSAL_FIELDS, TAO_PROPOSAL_FIELDS, rpn_inputs

    for batch in (1, 3):
        yield f"random, batch {batch}", PROPOSAL_FIELDS, *rpn_inputs(batch, batch, 6, 4, 6, delta_scale=0.4)
    scores, deltas = rpn_inputs(7, 2, 6, 4, 6, equal_scores=True)
    deltas = np.random.default_rng(7).uniform(-3, 3, deltas.shape).astype(np.float32)
    yield "equal scores: anchor order; boxes over the borders", PROPOSAL_FIELDS, scores, deltas
    yield ("every box under roi_min_size", dict(PROPOSAL_FIELDS, roi_min_size=500.0),
           *rpn_inputs(3, 2, 6, 4, 6, delta_scale=1.0))
    yield "overflowing deltas", PROPOSAL_FIELDS, *rpn_inputs(13, 2, 6, 4, 6, overflow=True)
    for pre in (3, 100):
        fields = dict(PROPOSAL_FIELDS, post_nms_top_n=10, pre_nms_top_n=pre, anchor_sizes=[16.0], anchor_ratios=[1.0, 2.0])
        yield f"fewer candidates than post_nms_top_n (pre {pre})", fields, *rpn_inputs(pre, 2, 2, 1, 2, delta_scale=0.1)
    yield "TAO's geometry, batch 2", TAO_PROPOSAL_FIELDS, *rpn_inputs(17, 2, 9, 24, 78, delta_scale=0.2)


@pytest.mark.parametrize("op", ["Proposal", "ProposalDynamic"])
def test_proposal_host_equals_the_reference_on_the_modernize_cases(library, op):
    names = []
    for name, fields, scores, deltas in _proposal_cases():
        host = plugin_host.proposal_host(fields, [scores, deltas], library, op)
        reference = pluginref_frcnn.proposal_reference(scores, deltas, **fields)
        assert host[0].tobytes() == reference.tobytes() and host[0].shape == reference.shape, name
        if "border" in name:
            assert reference.min() == 0.0 and reference.max() == 1.0
        if "pre 3" in name:
            assert not host[0][:, 3:].any() and host[0][:, :3].any()
        names.append(name)
    assert len(names) == 8


@pytest.mark.parametrize("threshold, rois", [(0.7, 1), (0.75, 2)])
def test_proposal_host_plus_one_iou_by_hand(library, threshold, rois):
    # two concentric anchors (2 and 2.5 pixels): IoU with the +1 convention (3*3)/(3.5*3.5) = 0.735
    fields = dict(input_height=100, input_width=100, rpn_stride=20, roi_min_size=0.0, nms_iou_threshold=threshold,
                  pre_nms_top_n=2, post_nms_top_n=2, anchor_sizes=[2.0, 2.5], anchor_ratios=[1.0])
    scores = np.array([0.9, 0.8], np.float32).reshape(1, 2, 1, 1)
    (out,) = plugin_host.proposal_host(fields, [scores, np.zeros((1, 8, 1, 1), np.float32)], library)
    assert np.count_nonzero(out[0, :, 2, 0]) == rois
    np.testing.assert_array_equal(out[0, 0, :, 0] * 99, np.float32([9, 9, 11, 11]))  # the first anchor, kept


def test_proposal_decode_rounds_exp_from_double(library):
    # exp(2^-24) rounds to 1 + 2^-23 in float32, numpy's float32 exp gives 1.0: with it the 1000-pixel
    # anchor centred at x = 1000 would start exactly at 500
    fields = dict(input_height=4000, input_width=4000, rpn_stride=2000, roi_min_size=0.0, nms_iou_threshold=0.7,
                  pre_nms_top_n=1, post_nms_top_n=1, anchor_sizes=[1000.0], anchor_ratios=[1.0])
    scores = np.ones((1, 1, 1, 1), np.float32)
    deltas = np.float32([0, 0, 5.9604645e-08, 0]).reshape(1, 4, 1, 1)
    boxes, _ = pluginref_frcnn.decode_proposals(scores, deltas, **{k: fields[k] for k in (
        "input_height", "input_width", "rpn_stride", "roi_min_size", "anchor_sizes", "anchor_ratios")})
    assert boxes[0, 0, 0] < 500 and boxes[0, 0, 1] == 500  # x1 moved by the wider box, y1 not
    reference = pluginref_frcnn.proposal_reference(scores, deltas, **fields)
    assert reference[0, 0, 1] != reference[0, 0, 0]
    _assert_same(plugin_host.proposal_host(fields, [scores, deltas], library), [reference])


def test_proposal_host_falls_back_and_refuses_like_the_reference(library):
    from taostream.plugins.checks import PROPOSAL_FIELDS, rpn_inputs

    scores, deltas = rpn_inputs(1, 1, 6, 4, 6)
    scores[0, 2, 1, 1] = np.nan  # a NaN score: the reference's answer
    _assert_same(plugin_host.proposal_host(PROPOSAL_FIELDS, [scores, deltas], library),
                 [pluginref_frcnn.proposal_reference(scores, deltas, **PROPOSAL_FIELDS)])
    with pytest.raises(ValueError, match="anchor_sizes x anchor_ratios give 3"):
        plugin_host.proposal_host(dict(PROPOSAL_FIELDS, anchor_ratios=[1.0, 2.0, 0.5], anchor_sizes=[16.0]),
                                  [scores, deltas], library)
    with pytest.raises(ValueError, match="rpn_stride"):
        plugin_host.proposal_host({k: v for k, v in PROPOSAL_FIELDS.items() if k != "rpn_stride"}, [scores, deltas],
                                  library)
    assert implementation_for("Proposal") is implementation_for("ProposalDynamic") is plugin_host.proposal_host


# ----------------------------------------------------------------------------- EfficientNMS

def _efficient_outputs_equal(host, reference, name=""):
    assert len(host) == len(reference) == 4, name
    for got, expected in zip(host, reference):
        assert got.shape == expected.shape and got.dtype == expected.dtype, name
        assert got.tobytes() == expected.tobytes(), name


@pytest.mark.parametrize("case", [
    dict(),  # tests/test_modernize_batched_nms.py's test_efficient_random cases ...
    dict(anchor_batch=1),
    dict(anchor_batch=1, coding=1),
    dict(per_class=True),
    dict(class_agnostic=1),
    dict(score_activation=1, background_class=0, logits=True),
    dict(background_class=2, max_output=60),
    dict(score_threshold=0.9999),  # nothing above the threshold
    dict(per_class=True, class_agnostic=1),  # ... and what the rewrite refuses: a plugin's case
    dict(anchor_batch=3, coding=1),  # anchors per image
    dict(coding=1),  # centre-size boxes without anchors
    dict(flipped=True, class_agnostic=1),  # corners in any axis order
    dict(ties=True, background_class=2, empty_image=1, max_output=60),
    dict(ties=True, score_activation=1, logits=True, score_threshold=0.0),  # threshold 0: -32768 in logit space
])
def test_efficient_nms_host_equals_the_reference(library, case):
    from taostream.plugins.checks import efficient_inputs

    case = dict(case)
    options = {key: case.pop(key) for key in ("anchor_batch", "coding", "per_class", "logits", "flipped", "ties",
                                              "empty_image") if key in case}
    max_output = case.pop("max_output", 20)
    attrs = mg.efficient_nms_attrs(max_output, box_coding=options.get("coding", 0), **case)
    inputs = efficient_inputs(len(str(case)) + len(options), 3, 90, 4, **options)
    host = plugin_host.efficient_nms_host(attrs, inputs, library)
    reference = pluginref.efficient_nms_reference(attrs, inputs)
    _efficient_outputs_equal(host, reference, str(case))
    if case.get("score_threshold") == 0.9999:
        assert not host[0].any() and not host[1].any()
    elif "empty_image" in options:
        assert host[0][1] == 0 and host[0][0] > 0
    else:
        assert host[0].min() > 0
    if case.get("background_class", -1) >= 0:
        valid = np.arange(max_output)[None, :] < host[0]
        assert case["background_class"] not in host[3][valid]


def test_efficient_nms_host_hand_worked_case(library):
    """tests/test_modernize_batched_nms.py's: IoU exactly 0.5 suppresses (>=); a score equal to the
    threshold is kept (>=); padding 0; centre-size boxes come out as corners."""
    boxes = np.array([[[0.5, 0.5, 0.5, 0.5], [0.5, 0.375, 0.5, 0.25], [0.2, 0.2, 0.2, 0.2]]], np.float32)
    scores = np.array([[[0.9], [0.8], [0.3]]], np.float32)
    attrs = mg.efficient_nms_attrs(4, box_coding=1, score_threshold=0.3)
    host = plugin_host.efficient_nms_host(attrs, [boxes, scores], library)
    _efficient_outputs_equal(host, pluginref.efficient_nms_reference(attrs, [boxes, scores]))
    num, out_boxes, out_scores, classes = host
    assert num.tolist() == [[2]]
    np.testing.assert_allclose(out_boxes[0], [[0.25, 0.25, 0.75, 0.75], [0.1, 0.1, 0.3, 0.3], [0] * 4, [0] * 4], atol=1e-7)
    np.testing.assert_array_equal(out_scores[0], np.float32([0.9, 0.3, 0, 0]))
    np.testing.assert_array_equal(classes[0], [0, 0, 0, 0])


def test_efficient_nms_host_keeps_the_plugins_5000_candidates(library):
    from taostream.plugins.checks import efficient_inputs

    inputs = efficient_inputs(11, 1, 2000, 4)  # about 7600 elements above 0.05
    attrs = mg.efficient_nms_attrs(6000, score_threshold=0.05, iou_threshold=1.0)  # only identical boxes suppress
    host = plugin_host.efficient_nms_host(attrs, inputs, library)
    _efficient_outputs_equal(host, pluginref.efficient_nms_reference(attrs, inputs))
    assert host[0].tolist() == [[pluginref.EFFICIENT_NMS_SELECTED_BOXES]]


def test_efficient_nms_host_falls_back_and_refuses_like_the_reference(library):
    from taostream.plugins.checks import efficient_inputs

    boxes, scores, anchors = efficient_inputs(5, 2, 30, 3, anchor_batch=1, coding=1)
    boxes[1, 4, 2] = 100.0  # exp(100) overflows: an infinite width, NaN corners in the reference's arithmetic
    attrs = mg.efficient_nms_attrs(10, box_coding=1, score_threshold=0.0)
    _efficient_outputs_equal(plugin_host.efficient_nms_host(attrs, [boxes, scores, anchors], library),
                             pluginref.efficient_nms_reference(attrs, [boxes, scores, anchors]))
    scores[0, 3, 1] = np.nan
    _efficient_outputs_equal(plugin_host.efficient_nms_host(attrs, [boxes, scores, anchors], library),
                             pluginref.efficient_nms_reference(attrs, [boxes, scores, anchors]))
    with pytest.raises(ValueError, match="box_coding 2"):
        plugin_host.efficient_nms_host(mg.efficient_nms_attrs(10, box_coding=2), [boxes, scores], library)
    with pytest.raises(ValueError, match="lacks"):
        plugin_host.efficient_nms_host({"score_threshold": 0.5}, [boxes, scores], library)
    assert implementation_for("EfficientNMS_TRT") is plugin_host.efficient_nms_host


def test_efficient_nms_output_sigmoid_rounds_exp_from_double():
    # score_activation: sigmoid(0.94708097) = 1 / (1 + exp(-0.94708097)); exp in double and rounded gives
    # 0.3878716 and the score 0.7205277; numpy's float32 exp (AVX path here) gave 0.38787156 and 0.7205278
    boxes = np.float32([[[0, 0, 1, 1]]])
    scores = np.float32([[[0.94708097]]])
    attrs = mg.efficient_nms_attrs(1, score_activation=1, score_threshold=0.0)
    score = pluginref.efficient_nms_reference(attrs, [boxes, scores])[2][0, 0]
    assert score == np.float32(1.0) / (np.float32(1.0) + np.float32(0.3878716)) == np.float32(0.7205277)


# ----------------------------------------------------------------------------- the enqueue path choice

def _device_path_functions(library):
    import ctypes

    path = library.taostream_plugin_device_path
    path.argtypes, path.restype = [ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64], ctypes.c_int
    narrow = library.taostream_plugin_narrow_dim
    narrow.argtypes, narrow.restype = [ctypes.c_int64], ctypes.c_int32
    merge = library.taostream_plugin_merge_largest_dims
    i32p = ctypes.POINTER(ctypes.c_int32)
    merge.argtypes = [i32p, ctypes.c_int64, i32p, ctypes.c_int64, ctypes.c_int32, i32p, ctypes.c_int64]
    merge.restype = ctypes.c_int64
    return path, narrow, merge


def test_the_gpu_path_runs_only_within_the_workspace_sized_for_the_largest_shapes(library):
    """common/devicePath.h, the choice every device-resident enqueue makes (through the host library's
    test-only export): a workspace sized for shapes the GPU path refuses is 0 bytes, so actual shapes it
    would take still run host-staged; so do shapes needing more than the workspace holds, and any
    enqueue without a workspace or without the recorded largest shapes (0 configured bytes)."""
    path, _, _ = _device_path_functions(library)
    assert path(1, 4096, 4096) == 1 and path(1, 1 << 40, 256) == 1
    assert path(1, 0, 4096) == 0  # largest shapes refused (or not recorded), actual ones fit: host-staged
    assert path(1, 4096, 0) == 0  # actual shapes refused
    assert path(0, 4096, 4096) == 0  # no workspace
    assert path(1, 4096, 4097) == 0  # more than the workspace holds


def test_dims_past_int32_are_refused_not_truncated_and_profiles_merge_to_their_largest(library):
    """A TensorRT dim (int64) becomes the GPU shapes' int32 as -1 (every layout refuses it) past
    INT32_MAX: truncating 2^32 + 5 gave 5, a shape the GPU path takes, for 2^32 + 5 boxes. The largest
    dims recorded over several optimization profiles are the elementwise largest, in the serialized
    form (rank, dims per input) that goes with the plugin's fields."""
    import ctypes

    _, narrow, merge = _device_path_functions(library)
    assert [narrow(d) for d in (0, 7, 2**31 - 1, 2**31, 2**32 + 5, -1)] == [0, 7, 2**31 - 1, -1, -1, -1]

    def call(a, b, inputs, capacity=32):
        a, b = (ctypes.c_int32 * len(a))(*a), (ctypes.c_int32 * len(b))(*b)
        out = (ctypes.c_int32 * capacity)()
        n = merge(a, len(a), b, len(b), inputs, out, capacity)
        return list(out[:n]) if n >= 0 else n

    # two inputs: [N, B, 4] and [N, B]; profile 2 has the larger batch, profile 1 more boxes
    assert call([3, 8, 1000, 4, 2, 8, 1000], [3, 32, 500, 4, 2, 32, 500], 2) == [3, 32, 1000, 4, 2, 32, 1000]
    assert call([3, 8, -1, 4, 2, 8, 1000], [3, 32, 500, 4, 2, 32, 500], 2) == [3, 32, -1, 4, 2, 32, 1000]
    assert call([3, 8, 1000, 4], [3, 8, 1000, 4, 2, 8, 1000], 2) == -1  # one input short
    assert call([9, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1], 1) == -1  # a rank past 8
    assert call([2, 4, 4], [2, 4, 4, 7], 1) == -1  # a value left over
    assert call([3, 8, 1000, 4, 2, 8, 1000], [3, 8, 1000, 4, 2, 8, 1000], 2, capacity=3) == -1


def test_the_host_library_exports_exactly_the_listed_c_functions(library):
    """libtaostream_plugins_host.so's dynamic symbols are host_calls' FUNCTIONS (what taostream calls),
    TEST_ONLY_FUNCTIONS (the device emulations and the enqueue path choice, for the tests) and the two
    the library serves itself, nothing else: an export added, removed or renamed without the list, or a
    C++ symbol leaking (libstdc++'s vector instances did before the version script), fails here."""
    import subprocess

    from taostream.plugins import host_calls

    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("binutils' nm lists the exports")
    listed = subprocess.run([nm, "-D", "--defined-only", library._name], capture_output=True, text=True, check=True)
    exported = {line.split()[-1] for line in listed.stdout.splitlines() if line.split()[1:2] == ["T"]}
    others = {line.split()[-1] for line in listed.stdout.splitlines() if line.split()[1:2] not in (["T"], ["A"])}
    assert exported == set(host_calls.FUNCTIONS) | set(host_calls.TEST_ONLY_FUNCTIONS) | set(
        host_calls.LIBRARY_FUNCTIONS)
    assert not others, sorted(others)[:5]
    assert not set(host_calls.FUNCTIONS) & set(host_calls.TEST_ONLY_FUNCTIONS)
