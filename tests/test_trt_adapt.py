"""Version adaptation decisions for TensorRT 8.6, 10.x and 11.x (trt_adapt.plan_build).

Expected values come from FACTS.md section 3 and the TensorRT 10.x -> 11.x migration guide, written
out here by hand, not computed by the code under test.
"""

from __future__ import annotations

import pytest

from taostream.converter.errors import TaostreamError
from taostream.converter.engine.adapt import (
    BuildRequest,
    available_builder_flags,
    builder_flag_exists,
    network_flag_exists,
    parse_trt_version,
    plan_build,
)

YOLO_V3_OPS = frozenset({"Conv", "BatchTilePlugin_TRT", "ResizeNearest_TRT", "BatchedNMSDynamic_TRT"})
FRCNN_OPS = frozenset({"Conv", "ProposalDynamic", "CropAndResizeDynamic", "NMSDynamic_TRT"})
MRCNN_OPS = frozenset({"ResizeNearest_TRT", "MultilevelProposeROI_TRT", "MultilevelCropAndResize_TRT", "GenerateDetection_TRT"})
SSD_UFF_OPS = frozenset({"_BatchTilePlugin_TRT", "_NMS_TRT", "Conv"})


def plan(version, **kw):
    return plan_build(BuildRequest(trt_version=version, **kw))


@pytest.mark.parametrize(
    "text, expected",
    [("8.6.1.6", (8, 6, 1)), ("10.3.0.26", (10, 3, 0)), ("10.3", (10, 3, 0)), ("11", (11, 0, 0)),
     ("11.4.1", (11, 4, 1)), ("10.0.0b6", (10, 0, 0)), ("8.6.1.post1", (8, 6, 1))],
)
def test_parse_trt_version(text, expected):
    assert parse_trt_version(text) == expected


def test_parse_trt_version_rejects_text():
    with pytest.raises(TaostreamError, match="not a version"):
        parse_trt_version("latest")


@pytest.mark.parametrize("version", ["7.1.3", "8.5.2", "12.0"])
def test_unsupported_versions_are_refused(version):
    with pytest.raises(TaostreamError, match="8.6|newer"):
        plan(version)


@pytest.mark.parametrize(
    "flag, v86, v103, v11",
    [
        ("FP16", True, True, False),
        ("INT8", True, True, False),
        ("STRICT_TYPES", True, False, False),
        ("OBEY_PRECISION_CONSTRAINTS", True, True, False),
        ("PREFER_PRECISION_CONSTRAINTS", True, True, False),
        ("DIRECT_IO", True, True, True),
        ("GPU_FALLBACK", True, True, True),
        ("TF32", True, True, True),
    ],
)
def test_builder_flags_per_version(flag, v86, v103, v11):
    assert builder_flag_exists(flag, (8, 6, 1)) is v86
    assert builder_flag_exists(flag, (10, 3, 0)) is v103
    assert builder_flag_exists(flag, (11, 0, 0)) is v11


def test_network_creation_flags():
    assert network_flag_exists("EXPLICIT_BATCH", (8, 6, 1))
    assert network_flag_exists("EXPLICIT_BATCH", (10, 3, 0))  # exists, deprecated: never set there
    assert not network_flag_exists("EXPLICIT_BATCH", (11, 0, 0))
    assert plan("10.3.0").network_flags == ()
    assert not network_flag_exists("STRONGLY_TYPED", (8, 6, 1))
    assert network_flag_exists("STRONGLY_TYPED", (10, 3, 0))
    assert "FP16" not in available_builder_flags((11, 4, 0))


@pytest.mark.parametrize(
    "version, expected",
    [
        # 8.6 and 10.x still ship every TAO plugin (10.x deprecated); 11 removed BatchTile and BatchedNMS.
        ("8.6.1", {"BatchTilePlugin_TRT": "load_trt", "ResizeNearest_TRT": "load_trt", "BatchedNMSDynamic_TRT": "load_trt"}),
        ("10.3", {"BatchTilePlugin_TRT": "load_trt", "ResizeNearest_TRT": "load_trt", "BatchedNMSDynamic_TRT": "load_trt"}),
        ("11.0", {"BatchTilePlugin_TRT": "replace", "ResizeNearest_TRT": "load_trt", "BatchedNMSDynamic_TRT": "replace"}),
    ],
)
def test_yolo_v3_plugins_per_version(version, expected):
    result = plan(version, model_ops=YOLO_V3_OPS)
    assert {a.op: a.action for a in result.plugin_actions} == expected
    assert result.load_trt_plugins  # ResizeNearest_TRT is loaded from libnvinfer_plugin everywhere


def test_deprecated_plugins_warn_on_10_but_not_on_8_6():
    assert not plan("8.6", model_ops=YOLO_V3_OPS).warnings
    warnings = plan("10.3", model_ops=YOLO_V3_OPS).warnings
    assert any("BatchTilePlugin_TRT is deprecated" in w for w in warnings)


def test_faster_rcnn_on_11_replaces_proposal_crop_and_resize_and_nms():
    result = plan("11.2", model_ops=FRCNN_OPS)
    assert set(result.plugins_to_replace) == {"ProposalDynamic", "CropAndResizeDynamic", "NMSDynamic_TRT"}
    assert result.plugins_to_load == ()
    assert not result.load_trt_plugins


def test_mask_rcnn_plugins_are_still_loaded_on_11():
    result = plan("11.0", model_ops=MRCNN_OPS)
    assert result.plugins_to_replace == ()
    assert set(result.plugins_to_load) == set(MRCNN_OPS)


def test_uff_spellings_of_plugin_ops_are_recognised():
    result = plan("11.0", model_ops=SSD_UFF_OPS, source_format="uff")
    assert set(result.plugins_to_replace) == {"BatchTilePlugin_TRT", "NMS_TRT"}
    assert result.translate_uff
    assert any("UFF parser" in r for r in result.reasons)


def test_modernizer_plan_rows_take_precedence():
    rows = (("node_7", "ResizeNearest_TRT", "replace", "modernizer: Resize(nearest) is exact"),)
    result = plan("10.3", model_ops=YOLO_V3_OPS, modernization=rows)
    assert "ResizeNearest_TRT" in result.plugins_to_replace
    assert any("Resize(nearest) is exact" in r for r in result.reasons)


def test_kept_plugins_come_from_the_users_library():
    result = plan("11.0", model_ops=FRCNN_OPS, keep_plugins=frozenset({"ProposalDynamic"}),
                  plugin_libraries=("/opt/libtaostream_plugins.so",))
    actions = {a.op: a for a in result.plugin_actions}
    assert actions["ProposalDynamic"].action == "load_library"
    assert actions["ProposalDynamic"].source == "/opt/libtaostream_plugins.so"
    assert actions["CropAndResizeDynamic"].action == "replace"


def test_keeping_plugins_without_a_library_is_an_error():
    with pytest.raises(TaostreamError, match="--plugin-library"):
        plan("11.0", model_ops=FRCNN_OPS, keep_plugins=frozenset({"ProposalDynamic"}))


@pytest.mark.parametrize(
    "version, cache, images, qdq, mode, flags",
    [
        ("8.6.1", True, False, False, "calibration_cache", {"INT8"}),
        ("8.6.1", False, True, False, "calibrator_images", {"INT8"}),
        ("10.3", True, True, False, "calibration_cache", {"INT8"}),  # an existing cache wins
        ("10.3", False, False, True, "qdq_in_model", {"INT8"}),
        ("11.0", True, False, False, "qdq_from_cache", set()),
        ("11.0", False, True, False, "qdq_from_images", set()),
        ("11.0", False, False, True, "qdq_in_model", set()),
    ],
)
def test_int8_route_per_version(version, cache, images, qdq, mode, flags):
    result = plan(version, precision="int8", calibration_cache=cache, calibration_images=images, model_has_qdq=qdq)
    assert result.int8_mode == mode
    assert {"INT8", "FP16"} & set(result.builder_flags) == flags


@pytest.mark.parametrize("version", ["8.6.1", "10.3", "11.0"])
def test_int8_without_cache_or_images_is_an_error(version):
    with pytest.raises(TaostreamError, match="calibration cache.*--calibration-images"):
        plan(version, precision="int8")


def test_implicit_int8_on_10_1_plus_is_flagged_deprecated():
    assert not plan("10.0", precision="int8", calibration_cache=True).warnings
    assert any("deprecated since TensorRT 10.1" in w for w in plan("10.3", precision="int8", calibration_cache=True).warnings)


@pytest.mark.parametrize(
    "version, strongly_typed, mode, has_fp16_flag",
    [
        ("8.6.1", False, "builder_flag", True),
        ("10.3", False, "builder_flag", True),
        ("10.12", True, "mixed_precision_onnx", False),
        ("11.0", False, "mixed_precision_onnx", False),
    ],
)
def test_fp16_route_per_version(version, strongly_typed, mode, has_fp16_flag):
    result = plan(version, precision="fp16", strongly_typed=strongly_typed)
    assert result.fp16_mode == mode
    assert ("FP16" in result.builder_flags) is has_fp16_flag


def test_strongly_typed_flags():
    assert plan("10.3", strongly_typed=True).network_flags == ("STRONGLY_TYPED",)
    assert plan("11.0").network_flags == ()  # always strongly typed, no creation flag
    assert plan("11.0").strongly_typed
    assert plan("8.6.1").network_flags == ("EXPLICIT_BATCH",)
    with pytest.raises(TaostreamError, match="10.0 or later"):
        plan("8.6.1", strongly_typed=True)


def test_strict_types_per_version():
    for version in ("8.6.1", "10.3"):
        result = plan(version, precision="int8", calibration_cache=True, strict=True)
        assert "OBEY_PRECISION_CONSTRAINTS" in result.builder_flags
        assert "STRICT_TYPES" not in result.builder_flags
        assert result.precision_constraints == "obey"
    result = plan("11.0", precision="int8", calibration_cache=True, strict=True)
    assert "OBEY_PRECISION_CONSTRAINTS" not in result.builder_flags
    assert result.precision_constraints is None
    assert any("strongly typed" in r and "no longer exists" in r for r in result.reasons)


def test_every_flag_in_a_plan_exists_in_its_version():
    for version in ("8.6.1", "10.3", "11.0"):
        for precision, extra in (("fp32", {}), ("fp16", {}), ("int8", {"calibration_cache": True})):
            result = plan(version, precision=precision, strict=True, **extra)
            for flag in result.builder_flags:
                assert builder_flag_exists(flag, parse_trt_version(version)), (version, precision, flag)


def test_dla_on_jetson_with_gpu_fallback():
    result = plan("10.3", platform="jetson", precision="fp16", dla_core=1)
    assert result.dla_core == 1
    assert "GPU_FALLBACK" in result.builder_flags
    assert not result.warnings
    fp32 = plan("10.3", platform="jetson", precision="fp32", dla_core=0)
    assert any("DLA runs FP16 and INT8 only" in w for w in fp32.warnings)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"trt_version": "10.3", "platform": "x86", "dla_core": 0}, "only Jetson"),
        ({"trt_version": "11.0", "platform": "jetson"}, "does not support JetPack"),
        ({"trt_version": "10.3", "platform": "jetson", "dla_core": -2}, "0 or more"),
        ({"trt_version": "10.3", "precision": "int4"}, "unknown engine data type"),
        ({"trt_version": "10.3", "platform": "arm"}, "unknown platform"),
    ],
)
def test_impossible_requests(kw, message):
    with pytest.raises(TaostreamError, match=message):
        plan_build(BuildRequest(**kw))


def test_progress_monitor_needs_10():
    assert not plan("8.6.1").progress_monitor
    assert plan("10.0").progress_monitor
    assert plan("11.0").progress_monitor


def test_explain_names_every_decision():
    text = plan("11.0", precision="int8", calibration_cache=True, model_ops=YOLO_V3_OPS).explain()
    assert "TensorRT 11.0.0" in text
    assert "plugin BatchTilePlugin_TRT: replace" in text
    assert "plugin ResizeNearest_TRT: load_trt" in text
    assert "QuantizeLinear/DequantizeLinear" in text
