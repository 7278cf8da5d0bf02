"""libtaostream_plugins.so, the IPluginV3 plugin library (-DTAOSTREAM_BUILD_PLUGINS=ON).

Built where the TensorRT headers and nvcc are present: the headers from TAOSTREAM_TENSORRT_ROOT (a
TensorRT tar or any folder whose include/ holds NvInferRuntime.h), else libnvinfer-dev's
/usr/include/<arch>-linux-gnu or /usr/include. No pip package ships them, so elsewhere (CI included)
these tests skip and say why. No GPU and no libnvinfer are needed: the library's exports and strings
are read with pyelftools, and plugins/harness/plugin_harness.cpp loads it as TensorRT would, over an
in-memory plugin registry, and drives every creator through the build-time calls.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from taostream.deepstream_configs.elf_symbols import exported_functions, open_elf

REPO = Path(__file__).resolve().parent.parent
NVCC = shutil.which("nvcc") or next((p for p in ("/usr/local/cuda/bin/nvcc",) if os.access(p, os.X_OK)), None)


def _tensorrt_root() -> Path | None:
    candidates = [os.environ.get("TAOSTREAM_TENSORRT_ROOT", "")]
    candidates += [f"/usr/include/{platform.machine()}-linux-gnu", "/usr/include", "/usr/local/tensorrt"]
    for candidate in filter(None, candidates):
        path = Path(candidate)
        for include in (path / "include", path):
            if (include / "NvInferRuntime.h").is_file() and (include / "NvInferVersion.h").is_file():
                return include
    return None


TENSORRT_INCLUDE = _tensorrt_root()
pytestmark = [
    pytest.mark.skipif(TENSORRT_INCLUDE is None,
                       reason="no TensorRT headers (set TAOSTREAM_TENSORRT_ROOT, or install libnvinfer-dev; "
                              "the TensorRT pip wheels ship no headers)"),
    pytest.mark.skipif(NVCC is None, reason="nvcc (the CUDA toolkit) compiles the plugins' kernels"),
    pytest.mark.skipif(shutil.which("cmake") is None, reason="CMake builds the library"),
]

# TensorRT OSS's creators (plugin/<name>/*.cpp, mPluginAttributes): name, PluginFieldType (1 FLOAT32,
# 5 INT32), length, in that order.
NMS_FIELDS = [["shareLocation", 5, 1], ["varianceEncodedInTarget", 5, 1], ["backgroundLabelId", 5, 1],
              ["numClasses", 5, 1], ["topK", 5, 1], ["keepTopK", 5, 1], ["confidenceThreshold", 1, 1],
              ["nmsThreshold", 1, 1], ["inputOrder", 5, 3], ["confSigmoid", 5, 1], ["isNormalized", 5, 1],
              ["codeType", 5, 1], ["scoreBits", 5, 1], ["isBatchAgnostic", 5, 1]]
BATCHED_NMS_FIELDS = [["shareLocation", 5, 1], ["backgroundLabelId", 5, 1], ["numClasses", 5, 1], ["topK", 5, 1],
                      ["keepTopK", 5, 1], ["scoreThreshold", 1, 1], ["iouThreshold", 1, 1], ["isNormalized", 5, 1],
                      ["clipBoxes", 5, 1], ["scoreBits", 5, 1], ["caffeSemantics", 5, 1]]
# plugin/proposalPlugin declares anchor_sizes and anchor_ratios with length 1; they take any number of values
PROPOSAL_FIELDS = [["input_height", 5, 1], ["input_width", 5, 1], ["rpn_stride", 5, 1], ["roi_min_size", 1, 1],
                   ["nms_iou_threshold", 1, 1], ["pre_nms_top_n", 5, 1], ["post_nms_top_n", 5, 1],
                   ["anchor_sizes", 1, 1], ["anchor_ratios", 1, 1]]
EXPECTED_FIELDS = {
    "NMS_TRT": NMS_FIELDS,
    "NMSDynamic_TRT": NMS_FIELDS,
    "BatchedNMS_TRT": BATCHED_NMS_FIELDS,
    "BatchedNMSDynamic_TRT": BATCHED_NMS_FIELDS,
    "MultilevelProposeROI_TRT": [["prenms_topk", 5, 1], ["keep_topk", 5, 1], ["fg_threshold", 1, 1],
                                 ["iou_threshold", 1, 1], ["image_size", 5, 3]],
    "GenerateDetection_TRT": [["num_classes", 5, 1], ["keep_topk", 5, 1], ["score_threshold", 1, 1],
                              ["iou_threshold", 1, 1], ["image_size", 5, 3]],
    "MultilevelCropAndResize_TRT": [["pooled_size", 5, 1], ["image_size", 5, 3]],
    "SpecialSlice_TRT": [],
    "Proposal": PROPOSAL_FIELDS,
    "ProposalDynamic": PROPOSAL_FIELDS,
    "BatchTilePlugin_TRT": [],
    "CropAndResize": [["crop_width", 5, 1], ["crop_height", 5, 1]],
    "CropAndResizeDynamic": [["crop_width", 5, 1], ["crop_height", 5, 1]],
    "ResizeNearest_TRT": [["scale", 1, 1]],
    "EfficientNMS_TRT": [["score_threshold", 1, 1], ["iou_threshold", 1, 1], ["max_output_boxes", 5, 1],
                         ["background_class", 5, 1], ["score_activation", 5, 1], ["class_agnostic", 5, 1],
                         ["box_coding", 5, 1]],
}
PLUGINS = list(EXPECTED_FIELDS)
FLOAT, INT32 = 0, 3  # nvinfer1::DataType


def _run(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def _configure(build: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), "-DTAOSTREAM_BUILD_PLUGINS=ON",
                           f"-DTENSORRT_ROOT={TENSORRT_INCLUDE}", "-DTAOSTREAM_BUILD_PLUGIN_HOST=OFF",
                           f"-DCMAKE_CUDA_COMPILER={NVCC}", *options],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    build = tmp_path_factory.mktemp("plugins")
    # one architecture keeps the compile short; the default list is checked by configuring alone.
    # scripts/gpu_plugin_check.sh builds for the device's own (TAOSTREAM_TEST_CUDA_ARCHITECTURES=native) with
    # all its cores (TAOSTREAM_TEST_BUILD_JOBS).
    architectures = os.environ.get("TAOSTREAM_TEST_CUDA_ARCHITECTURES", "75")
    configured = _configure(build, f"-DCMAKE_CUDA_ARCHITECTURES={architectures}")
    assert configured.returncode == 0, configured.stdout[-4000:] + configured.stderr[-4000:]
    _run(["cmake", "--build", str(build), "--target", "taostream_plugins", "taostream_plugin_harness", "-j",
          os.environ.get("TAOSTREAM_TEST_BUILD_JOBS", "2")])
    return build / "plugins"


def _harness(built: Path, *arguments: str, **env: str) -> dict:
    environment = {**os.environ, **env}
    result = _run([str(built / "taostream_plugin_harness"), str(built / "libtaostream_plugins.so"), *arguments],
                  env=environment)
    return json.loads(result.stdout)


def test_the_library_exports_the_loadlibrary_entry_points_and_the_parsers_only(built):
    exported = exported_functions(built / "libtaostream_plugins.so")
    assert {"getCreators", "setLoggerFinder"} <= exported
    # the DeepStream parsers are compiled in: one custom-lib-path serves parser and plugins
    assert {"NvDsInferParseCustomBatchedNMSTLT", "NvDsInferParseCustomNMSTLT", "NvDsInferParseCustomMrcnnTLTV2"} <= exported
    assert all(name in ("getCreators", "setLoggerFinder") or name.startswith("NvDsInfer") for name in exported)


def test_every_plugin_name_and_version_is_a_string_of_the_library(built):
    with open_elf(built / "libtaostream_plugins.so") as elf:
        strings = elf.get_section_by_name(".rodata").data().split(b"\0")
    # the linker merges string tails ("NMS_TRT" is the end of "BatchedNMS_TRT"): a name is there when a
    # NUL-terminated string ends with it
    for name in [*PLUGINS, "1"]:
        assert any(string.endswith(name.encode()) for string in strings), name


def test_loading_registers_every_creator_and_getcreators_hands_them_to_loadlibrary(built):
    report = _harness(built)
    expected = sorted(f"{name} 1 " for name in PLUGINS)
    assert sorted(report["registered_at_load"]) == expected  # dlopen alone: custom-lib-path, --staticPlugins
    # loadLibrary registers what getCreators returns and fails on any duplicate: the load-time
    # registrations are taken back first
    assert report["registered_after_getCreators"] == []
    assert sorted(report["getCreators"]) == expected
    assert report["field_names"] == EXPECTED_FIELDS
    assert report["headers"].split(".")[0] == _header_major()


def test_tensorrt_s_own_creators_stay_in_charge(built):
    # TensorRT 10's libnvinfer_plugin registers NMS_TRT and MultilevelProposeROI_TRT (IPluginV2
    # creators) before trtexec loads --staticPlugins: those are left alone, and getCreators does not
    # offer them to loadLibrary
    report = _harness(built, "--builtin", "NMS_TRT", "--builtin", "MultilevelProposeROI_TRT")
    assert sorted(report["getCreators"]) == sorted(
        f"{name} 1 " for name in PLUGINS if name not in ("NMS_TRT", "MultilevelProposeROI_TRT"))
    assert sorted(report["registered_after_getCreators"]) == ["MultilevelProposeROI_TRT 1 ", "NMS_TRT 1 "]
    assert any("NMS_TRT version 1: already registered" in line for line in report["log"])
    # found by listing the registry: TensorRT's getCreator logs an error for every name it lacks
    assert report["getCreator_calls"] == []


def test_a_process_of_another_tensorrt_major_is_left_alone(built):
    other = str(int(_header_major()) + 1)
    report = _harness(built, "--major", other)
    assert report["registered_at_load"] == [] and report["getCreators"] == []
    assert any(f"built against TensorRT {_header_major()} headers but this process runs TensorRT {other}" in line
               and "rebuild it with -DTENSORRT_ROOT" in line for line in report["log"])


def test_the_namespace_comes_from_the_environment(built):
    report = _harness(built, TAOSTREAM_PLUGIN_NAMESPACE="taostream")
    assert sorted(report["registered_at_load"]) == sorted(f"{name} 1 taostream" for name in PLUGINS)


def _case(report: dict, plugin: str, index: int = 0) -> dict:
    return [c["result"] for c in report["cases"] if c["plugin"] == plugin][index]


def test_output_shapes_and_types_follow_the_tensorrt_oss_plugins(built):
    report = _harness(built)
    # the harness's inputs: SSD with 10 priors, 3 classes, batch 2, keepTopK 5; YOLO with 10 boxes;
    # MaskRCNN at 832x1344 with 1000 rois, 256 channels, keep_topk 1000 / 100, pooled_size 7
    expected = {
        "NMS_TRT": ([[2, 1, 5, 7], [2, 1, 1, 1]], [FLOAT, INT32]),
        "NMSDynamic_TRT": ([[2, 1, 5, 7], [2, 1, 1, 1]], [FLOAT, INT32]),
        "BatchedNMS_TRT": ([[2], [2, 5, 4], [2, 5], [2, 5]], [INT32, FLOAT, FLOAT, FLOAT]),
        "BatchedNMSDynamic_TRT": ([[2, 1], [2, 5, 4], [2, 5], [2, 5]], [INT32, FLOAT, FLOAT, FLOAT]),
        "MultilevelProposeROI_TRT": ([[1, 1000, 4]], [FLOAT]),
        "GenerateDetection_TRT": ([[1, 100, 6]], [FLOAT]),
        "MultilevelCropAndResize_TRT": ([[1, 1000, 256, 7, 7]], [FLOAT]),
        "SpecialSlice_TRT": ([[1, 100, 4]], [FLOAT]),
        "Proposal": ([[2, 300, 4, 1]], [FLOAT]),  # FasterRCNN 384x1248, post_nms_top_n 300
        "ProposalDynamic": ([[2, 300, 4, 1]], [FLOAT]),
        # SSD's priors tiled for a batch of 2; FasterRCNN's 300 rois on a 1024-channel 24x78 map;
        # YOLOv3's x2 upsampling of 13x21
        "BatchTilePlugin_TRT": ([[2, 2, 40, 1]], [FLOAT]),
        "CropAndResize": ([[1, 300, 1024, 7, 7]], [FLOAT]),
        "CropAndResizeDynamic": ([[1, 300, 1024, 7, 7]], [FLOAT]),
        "ResizeNearest_TRT": ([[1, 256, 26, 42]], [FLOAT]),
        # EfficientDet-D0: num_detections, detection_boxes, detection_scores, detection_classes
        "EfficientNMS_TRT": ([[1, 1], [1, 100, 4], [1, 100], [1, 100]], [INT32, FLOAT, FLOAT, INT32]),
    }
    for plugin, (shapes, types) in expected.items():
        result = _case(report, plugin)
        assert result["created"] and result["name"] == plugin and result["version"] == "1"
        assert result["interfaces"] == ["PLUGIN_V3ONE_CORE", "PLUGIN_V3ONE_BUILD", "PLUGIN_V3ONE_RUNTIME"]
        assert (result["output_shapes"], result["output_types"]) == (shapes, types), plugin
        assert result["configure"] == 0, plugin
        assert result["formats_declared"] and not result["accepts_fp16"] and not result["accepts_chw32"]
        # TensorRT OSS's fields, then the largest input dims the workspace was sized for (configurePlugin's
        # max dims; the runtime plugin runs the GPU path only where they fit it: common/devicePath.h)
        assert result["serialized_fields"] == [field[0] for field in EXPECTED_FIELDS[plugin]] + [
            "taostream_largest_input_dims"]
        assert result["round_trip"] and result["clone"], plugin
    # rank and dims per input, as configured (the harness configures min = max = its case's dims)
    assert _case(report, "GenerateDetection_TRT")["largest_input_dims"] == [5, 1, 1000, 8, 1, 1, 5, 1, 1000, 2, 1, 1,
                                                                             3, 1, 1000, 4]
    assert _case(report, "BatchedNMSDynamic_TRT")["largest_input_dims"] == [4, 2, 10, 1, 4, 3, 2, 10, 3]


def test_wrong_fields_and_inputs_are_refused_with_the_reason(built):
    report = _harness(built)
    assert _case(report, "NMS_TRT", 1)["configure"] == -1      # conf of 33 values for 10 priors x 3 classes
    assert not _case(report, "NMS_TRT", 2)["created"]          # topK missing
    assert not _case(report, "NMS_TRT", 3)["created"]          # keepTopK 9 > topK 8
    assert not _case(report, "NMS_TRT", 4)["created"]          # inputOrder of 2 values
    assert _case(report, "MultilevelProposeROI_TRT", 1)["configure"] == -1  # P2 scores 3 short
    assert _case(report, "SpecialSlice_TRT", 1)["configure"] == -1  # rows of 5 values
    assert _case(report, "Proposal", 1)["configure"] == -1  # deltas of 8 anchors for 3 x 3
    assert not _case(report, "Proposal", 2)["created"]      # rpn_stride missing
    assert not _case(report, "Proposal", 3)["created"]      # an anchor ratio of 0
    assert _case(report, "CropAndResize", 1)["configure"] == -1   # rois of batch 2 for a map of batch 1
    assert not _case(report, "CropAndResize", 2)["created"]     # crop_height missing
    assert not _case(report, "ResizeNearest_TRT", 1)["created"]  # scale 0
    # int(float32(5) * 1.5) = 7, int(float32(7) * 1.5) = 10, as resize_nearest_reference sizes them
    assert _case(report, "ResizeNearest_TRT", 2)["output_shapes"] == [[2, 3, 7, 10]]
    assert _case(report, "EfficientNMS_TRT", 1)["configure"] == -1  # 49000 anchors for 49104 boxes
    assert not _case(report, "EfficientNMS_TRT", 2)["created"]      # box_coding 2
    # no fields at all: TensorRT OSS's defaults (max_output_boxes 100), per-class boxes [N, B, C, 4]
    defaults = _case(report, "EfficientNMS_TRT", 3)
    assert defaults["configure"] == 0 and defaults["output_shapes"] == [[2, 1], [2, 100, 4], [2, 100], [2, 100]]
    log = "\n".join(report["log"])
    for message in ("conf has 33 values per image, expected numPriors (10) x numClasses (3)",
                    "required field 'topK' is missing", "keepTopK (9) must be <= topK (8)",
                    "field 'inputOrder' has 2 values, expected 3",
                    "level P2 has 209661 scores and 838656 delta values per image; image_size 832x1344 gives "
                    "209664 anchors",
                    "SpecialSlice_TRT: detections must be [N, K, 6] (y1, x1, y2, x2, class, score per row), "
                    "got a last dimension of 5",
                    "Proposal: deltas have 32 channels, expected 4 x 9", "Proposal: required field 'rpn_stride' is missing",
                    "Proposal: anchor_ratios must hold positive values",
                    "the feature map (batch 1) and rois (batch 2) disagree on the batch size",
                    "CropAndResize: required field 'crop_height' is missing",
                    "ResizeNearest_TRT: scale must be a positive number",
                    "EfficientNMS_TRT: anchors must be [1 or N, B, 4] with B = 49104",
                    "EfficientNMS_TRT: box_coding 2 is not 0 (corners) or 1 (centre-size)"):
        assert message in log


def _header_major() -> str:
    text = (TENSORRT_INCLUDE / "NvInferVersion.h").read_text()
    return re.search(r"#define (?:NV_TENSORRT|TRT)_MAJOR(?:_ENTERPRISE)? +(\d+)", text).group(1)


def _cuda_major() -> int:
    version = subprocess.run([NVCC, "--version"], capture_output=True, text=True).stdout
    return int(re.search(r"release (\d+)\.", version).group(1))


def test_default_architectures_follow_the_cuda_version(tmp_path):
    configured = _configure(tmp_path / "default")
    assert configured.returncode == 0, configured.stderr[-3000:]
    architectures = re.search(r"architectures ([0-9;]+)", configured.stdout).group(1).split(";")
    expected = ["75", "80", "86", "87", "89", "90"] if _cuda_major() >= 13 else ["72", "75", "80", "86", "87", "89", "90"]
    assert architectures == expected


def test_xavier_with_cuda_13_is_refused_with_what_to_do(tmp_path):
    if _cuda_major() < 13:
        pytest.skip("CUDA 12 and older still target sm_72")
    configured = _configure(tmp_path / "xavier", "-DCMAKE_CUDA_ARCHITECTURES=72;87")
    assert configured.returncode != 0
    message = " ".join(configured.stderr.split())  # CMake wraps its messages
    assert "cannot target anything below 75" in message and "Jetson Xavier (72) with CUDA 11/12 (JetPack 5)" in message


def test_every_enqueue_equals_the_host_implementation_on_a_gpu(built):
    # Needs a CUDA device (no TensorRT): each plugin's enqueue on generated inputs, outputs compared byte
    # for byte with the host code. Device-resident: BatchTile, CropAndResize, MultilevelCropAndResize,
    # ResizeNearest, SpecialSlice (whole-op kernels), NMS, BatchedNMS, EfficientNMS, Proposal(Dynamic),
    # MultilevelProposeROI and GenerateDetection (CUB sorts, suppression words, greedy walks: never run on a
    # GPU before this check); no plugin is host-staged here.
    report = _harness(built, "--enqueue")
    if report["enqueue"] is None:
        pytest.skip("no CUDA device: enqueue runs only on a GPU")
    # further cases: ResizeNearest at scale 1.5; EfficientNMS's fused decoder with per-image anchors, and
    # per-class boxes with ties, a background class and a NaN image; BatchedNMS with ties, pixel boxes
    # without Caffe +1, a background class and a NaN image; NMS with per-class loc, pixel priors, ties,
    # a background class and a NaN image; ProposalDynamic with ties, -inf scores, 7 mask words and a NaN
    # image; MultilevelProposeROI with batch 3, ties, prenms_topk over one gather block and a NaN image
    more = ["ResizeNearest_TRT #2", "EfficientNMS_TRT #2", "EfficientNMS_TRT #3", "BatchedNMSDynamic_TRT #2",
            "NMSDynamic_TRT #2", "ProposalDynamic #2", "MultilevelProposeROI_TRT #2"]
    more += ["MultilevelCropAndResize_TRT #2"]  # pooled 14, rois on P2..P6, past the image, empty; short maps
    more += ["GenerateDetection_TRT #2"]  # 3 images, quarter scores (ties), a NaN image
    assert report["enqueue"] == {name: "equal" for name in [*PLUGINS, *more]}
    # every device-resident plugin took its GPU path (from the serialized, restored plugin): none logged
    # a host-staged enqueue (PluginBase::useDevicePath)
    assert not [line for line in report["log"] if "host-staged enqueue" in line]
    # one warning per plugin object that met a NaN image (NMSDynamic #2, BatchedNMSDynamic #2, EfficientNMS #3,
    # ProposalDynamic #2, MultilevelProposeROI #2, GenerateDetection #2)
    assert sum("NaN or infinite inputs" in line for line in report["log"]) == 6
