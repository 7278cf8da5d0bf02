"""The parser library as a Jetson runs it: cross-built for aarch64 with scripts/jetson_build.sh's
flags, run under user-mode qemu through the request-file driver (parsers/harness/parser_cli.cpp),
and compared with the x86-64 build running the SAME request and with parsers/reference.py.

aarch64 differs where C++ leaves room: plain char is unsigned, float->int conversions of NaN and
out-of-range values saturate instead of giving INT_MIN, and GCC contracts a*b+c into fmadd unless
told not to (-ffp-contract=off). The cases below take the existing parser tests' generators and
their edge cases (NaN/inf, huge class ids and keep counts, INT8/UINT8 layers, malformed layers)
to those spots. Against the reference: parsers_support's 1e-3 px and 1e-5 relative; aarch64
against the host build: bit for bit."""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np
import pytest

from taostream.deepstream_configs.bundle.jetson_library import jetson_build_dir
from taostream.deepstream_configs.elf_symbols import exported_functions
from taostream.parsers import build
from taostream.parsers import reference as ref
from taostream.parsers.cross import (DETECTNET_V2_ENV, ParserDriver, ParserRequest, ParserResult, decode_result,
                                     encode_request, write_request)
from taostream.parsers.native import OutputLayer, ParserCallError

from parsers_support import (
    DETECTNET,
    DNV2_NAMES,
    assert_same_detections,
    batched_nms_outputs,
    detectnet_v2_outputs,
    encode_boxes_on_grid,
    frcnn_tlt2_outputs,
    mask_rcnn_outputs,
    native_parsers,  # noqa: F401  (session fixture)
    nms7_outputs,
    random_objects,
)

# Every entry point the library must export, and nothing else of its own (README's table).
PARSER_SYMBOLS = {
    "NvDsInferParseCustomNMSTLT", "NvDsInferParseCustomSSDTLT", "NvDsInferParseCustomBatchedNMSTLT",
    "NvDsInferParseCustomYOLOV3TLT", "NvDsInferParseCustomEfficientDetTAO", "NvDsInferParseCustomFrcnnTLT",
    "NvDsInferParseCustomMrcnnTLT", "NvDsInferParseCustomMrcnnTLTV2", "NvDsInferParseCustomDetectNetV2TAO",
    "NvDsInferClassifierParseCustomTAO", "NvDsInferParseCustomNVPlate",
}
EM_AARCH64 = 183  # ELF e_machine
ET_DYN = 3  # shared object or position-independent executable
FUSED_MULTIPLY_ADD = ("fmadd", "fmsub", "fnmadd", "fnmsub", "fmla", "fmls")


# --- builds ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def aarch64_build() -> build.ParserBuild:
    missing = build.missing_aarch64_tools()
    if missing:
        pytest.skip(f"no aarch64 cross toolchain / emulator: apt-get install {' '.join(missing)}")
    # The DeepStream 6-8 layout's cross build, in the folder `taostream bundle --platform jetson` builds it
    # (jetson_build_dir(8)): the same sources, toolchain and flags as a default cross_build_parsers() (no
    # SDK: rotation_angle OFF), so the suite cross-builds them once instead of twice.
    return build.cross_build_parsers(jetson_build_dir(8), cmake_args=("-DTAOSTREAM_DS_ROTATION_ANGLE=OFF",))


@pytest.fixture(scope="session")
def arm(aarch64_build) -> ParserDriver:
    return ParserDriver.under_qemu(aarch64_build)


@pytest.fixture(scope="session")
def host() -> ParserDriver:
    """This machine's own build (x86-64 in CI) of the same sources."""
    return ParserDriver(build.build_parser_driver(build.DEFAULT_BUILD_DIR))


def readelf(*arguments: str) -> str:
    if shutil.which("readelf") is None:
        pytest.skip("readelf not found: apt-get install binutils")
    return subprocess.run(["readelf", "-W", *arguments], capture_output=True, text=True, check=True).stdout


def exported_symbols(library) -> dict[str, str]:
    """Defined dynamic symbols (demangled) -> binding (GLOBAL or WEAK)."""
    symbols = {}
    for line in readelf("--dyn-syms", "-C", str(library)).splitlines():
        parts = line.split(None, 7)
        if len(parts) == 8 and parts[6] != "UND" and parts[4] in ("GLOBAL", "WEAK") and parts[3] in ("FUNC", "OBJECT"):
            symbols[parts[7]] = parts[4]
    return symbols


def test_cross_build_is_aarch64_elf(aarch64_build):
    for product, elf_type in ((aarch64_build.library, ET_DYN), (aarch64_build.harness, ET_DYN), (aarch64_build.driver, ET_DYN)):
        header = product.read_bytes()[:20]
        assert header[:6] == b"\x7fELF\x02\x01", f"{product}: not a 64-bit little-endian ELF"
        assert struct.unpack_from("<HH", header, 16) == (elf_type, EM_AARCH64), f"{product}: not an aarch64 shared object / PIE"
        assert "AArch64" in readelf("-h", str(product))
    assert "ld-linux-aarch64.so.1" in readelf("-l", str(aarch64_build.driver))  # a Jetson's loader


def test_aarch64_library_exports_only_the_parser_entry_points(aarch64_build, host):
    symbols = exported_symbols(aarch64_build.library)
    # The version script (parsers/cmake/parser_exports.map) keeps everything else inside, the standard
    # library's template instantiations too (libstdc++'s headers give them default visibility).
    assert set(symbols) == PARSER_SYMBOLS, sorted(set(symbols) - PARSER_SYMBOLS)
    assert set(symbols) == set(exported_symbols(host.library)), "x86-64 and aarch64 builds export different symbols"
    # `taostream check` reads custom-lib-path's exports without loading it: it must see a Jetson build's
    assert PARSER_SYMBOLS <= exported_functions(aarch64_build.library)


def test_aarch64_abi_layout_is_deepstreams(arm, host):
    # FACTS §4 (LP64 on both): the structs nvinfer passes by reference must not change on Jetson.
    assert arm.abi_layout() == host.abi_layout() == {
        "sizeof_dims": 40, "sizeof_layer_info": 72, "offset_infer_dims": 4, "offset_binding_index": 44,
        "offset_layer_name": 48, "offset_buffer": 56, "offset_is_input": 64, "sizeof_network_info": 12,
        "sizeof_object_detection_info": 24, "sizeof_instance_mask_info": 48, "offset_mask": 24,
        "sizeof_attribute": 24,
    }


def test_aarch64_deepstream9_layout(aarch64_build, host):
    # DeepStream 9 appends rotation_angle: 28-byte objects, which the parsers must fill the same
    # way on aarch64 (which DeepStream a given JetPack ships is not pinned here).
    ds9 = ParserDriver.under_qemu(build.cross_build_parsers(jetson_build_dir(9),
                                                            cmake_args=("-DTAOSTREAM_DS_ROTATION_ANGLE=ON",)))
    assert ds9.abi_layout()["sizeof_object_detection_info"] == 28
    case = nms7(NMS, 1)
    got = case.run(ds9).detections
    assert_same_detections(got, case.expected)
    assert got == case.run(host).detections


def fused_multiply_adds(objdump: str, binary) -> int:
    listing = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(binary)], capture_output=True,
                             text=True, check=True).stdout
    return sum(1 for line in listing.splitlines() if len(line.split("\t")) > 1
               and line.split("\t")[1].split(" ")[0].strip() in FUSED_MULTIPLY_ADD)


def test_aarch64_build_has_no_fused_multiply_add(aarch64_build, tmp_path):
    # The reference does a*b+c with two roundings; aarch64 GCC fuses them by default. The control
    # (the same decoder source compiled without -ffp-contract=off) shows the check can fail.
    objdump = shutil.which("aarch64-linux-gnu-objdump")
    if objdump is None:
        pytest.skip("aarch64-linux-gnu-objdump not found: apt-get install binutils-aarch64-linux-gnu")
    assert fused_multiply_adds(objdump, aarch64_build.library) == 0
    control = tmp_path / "decoders_contracted.o"
    subprocess.run(["aarch64-linux-gnu-g++", "-std=gnu++17", "-O3", "-fPIC", f"-I{build.PARSERS_DIR / 'src'}",
                    f"-I{build.PARSERS_DIR / 'include'}", "-c", str(build.PARSERS_DIR / "src" / "decoders.cpp"),
                    "-o", str(control)], check=True, capture_output=True)
    assert fused_multiply_adds(objdump, control) > 0


# --- the same cases on x86-64 and aarch64 -----------------------------------------------------


@dataclass
class Case:
    """One parser call and what parsers/reference.py says it returns (None: the parser must
    return false and print ``error``)."""

    function: str
    layers: object
    net: tuple[int, int]
    num_classes: int
    thresholds: list[float]
    expected: list[ref.Detection] | None
    env: dict = field(default_factory=dict)
    masks: bool = False
    error: str = ""

    def run(self, driver: ParserDriver) -> ParserResult:
        return driver.run(ParserRequest(self.function, self.layers, self.net[0], self.net[1], self.num_classes,
                                        tuple(self.thresholds), kind="instance_mask" if self.masks else "detection",
                                        env=self.env))


def detectnet_case(cov, bbox, net, classes, thresholds, config: ref.DetectNetV2Clustering, names=DNV2_NAMES) -> Case:
    params = ref.DecodeParams(classes, tuple(thresholds), detectnet_v2=config)
    expected = ref.decode_detectnet_v2(cov, bbox, net[0], net[1], params)
    return Case(DETECTNET, dict(zip(names, (cov, bbox))), net, classes, list(thresholds), expected,
                env={DETECTNET_V2_ENV: config.to_env()})


def detectnet_modes(mode: str, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 4 + 4 * seed, 960, 544, 3), 3, 960, 544)
    config = ref.DetectNetV2Clustering(mode=mode, eps=0.25 + 0.05 * seed, top_k=20 if seed == 2 else 0)
    return detectnet_case(cov, bbox, (960, 544), 3, [0.2 + 0.1 * seed] * 3, config)


def detectnet_per_class() -> Case:
    rng = np.random.default_rng(11)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 12, 960, 544, 3), 3, 960, 544)
    config = ref.DetectNetV2Clustering(eps=(0.05, 0.6), min_height=(4.0, 30.0), confidence_threshold=(0.1, 0.5, 2.0))
    return detectnet_case(cov, bbox, (960, 544), 3, [0.2] * 3, config)


def detectnet_fp16_batch() -> Case:
    rng = np.random.default_rng(5)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 6, 640, 480, 2), 2, 640, 480)
    return detectnet_case(cov.astype(np.float16)[None], bbox.astype(np.float16)[None], (640, 480), 2, [0.3] * 2,
                          ref.DetectNetV2Clustering())


def detectnet_fewer_classes_onnx_names() -> Case:
    rng = np.random.default_rng(9)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 9, 960, 544, 4), 4, 960, 544)
    return detectnet_case(cov, bbox, (960, 544), 2, [0.25] * 2, ref.DetectNetV2Clustering(),
                          names=("output_cov/Sigmoid:0", "output_bbox/BiasAdd:0"))


def detectnet_nan_inf() -> Case:
    rng = np.random.default_rng(11)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 5, 480, 272, 2), 2, 480, 272)
    cov.reshape(-1)[::7] = np.nan
    cov.reshape(-1)[3::11] = np.inf
    bbox.reshape(-1)[::13] = np.nan
    bbox.reshape(-1)[5::17] = -np.inf
    return detectnet_case(cov, bbox, (480, 272), 2, [0.3] * 2, ref.DetectNetV2Clustering())


def detectnet_border_points(eps: float, min_samples: int) -> Case:
    rng = np.random.default_rng(int(eps * 100) + min_samples)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 8, 480, 272, 2), 2, 480, 272, noise_px=12.0)
    cov = np.where(cov > 0.3, rng.uniform(0.2, 0.6, cov.shape), cov).astype(np.float32)
    config = ref.DetectNetV2Clustering(mode="dbscan", eps=eps, min_samples=min_samples, confidence_threshold=0.0, min_height=0.0)
    return detectnet_case(cov, bbox, (480, 272), 2, [0.2] * 2, config)


def detectnet_tiny_boxes(eps: float) -> Case:
    # IoU of two 0.1 px boxes is exactly 0.5 with TAO's +0.01: eps decides on a float64 boundary.
    boxes = np.array([[100, 100, 100.1, 100.1], [100, 100, 100.1, 100.1]], np.float32)
    cov, bbox = encode_boxes_on_grid(boxes, np.array([0.6, 0.6], np.float32), 960, 544)
    config = ref.DetectNetV2Clustering(eps=eps, min_samples=1, confidence_threshold=0.0, min_height=0.0)
    return detectnet_case(cov, bbox, (960, 544), 1, [0.1], config)


def nms7(function: str, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    rows, keep = nms7_outputs(rng, 200, 150, 5)
    rows[0, :10, 3:7] += 0.5
    expected = ref.decode_nms7(rows, keep, 1248, 384, ref.DecodeParams.uniform(4, 0.3))
    return Case(function, {"NMS": rows, "NMS_1": keep}, (1248, 384), 4, [0.3] * 4, expected)


# keep counts as engines have been seen to write them: int32 bits in an FP32 binding, or floats
BAD_KEEP_COUNTS = {"int-negative": np.int32(-5), "int-max": np.int32(2**31 - 1), "nan": np.float32(np.nan),
                   "float-negative": np.float32(-1e30), "float-huge": np.float32(1e30)}


def nms7_bad_values(keep_value) -> Case:
    rows, _ = nms7_outputs(np.random.default_rng(0), 20, 20, 3)
    rows[0, 0, 2] = np.nan
    rows[0, 1, 3] = np.inf
    rows[0, 2, 1] = 1e20  # class id: an unguarded cast gives INT_MIN on x86-64, saturates on aarch64
    rows[0, 3, 1] = -7
    rows[0, 4, 1] = np.nan
    rows[0, 5, 1] = 2.999999  # truncates to 2 on both
    if keep_value.dtype == np.int32:
        keep = np.array([keep_value]).view(np.float32).reshape(1, 1, 1)
    else:
        keep = np.array([keep_value], np.float32)
    expected = ref.decode_nms7(rows, keep, 300, 300, ref.DecodeParams.uniform(3, 0.1))
    return Case("NvDsInferParseCustomNMSTLT", {"NMS": rows, "NMS_1": keep}, (300, 300), 3, [0.1] * 3, expected)


def frcnn_onnx_names(function: str) -> Case:
    rows, keep = nms7_outputs(np.random.default_rng(3), 100, 40, 3)
    expected = ref.decode_nms7(rows, keep, 1248, 384, ref.DecodeParams.uniform(3, 0.6))
    return Case(function, {"nms_out": rows, "nms_out_1": keep}, (1248, 384), 3, [0.6] * 3, expected)


def batched_nms(function: str) -> Case:
    num, boxes, scores, classes = batched_nms_outputs(np.random.default_rng(4), 200, 120, 4)
    expected = ref.decode_batched_nms(num, boxes, scores, classes, 1248, 384, ref.DecodeParams.uniform(4, 0.3))
    layers = {"BatchedNMS": num, "BatchedNMS_1": boxes, "BatchedNMS_2": scores, "BatchedNMS_3": classes}
    return Case(function, layers, (1248, 384), 4, [0.3] * 4, expected)


def batched_nms_integer_layers(class_dtype) -> Case:
    # INT8 / UINT8 / INT64 bindings: plain char is unsigned on aarch64, so a parser reading INT8
    # through char would turn -2 into 254. Negative and large ids must be dropped on both.
    rng = np.random.default_rng(14)
    num, boxes, scores, classes = batched_nms_outputs(rng, 60, 50, 4)
    ids = np.array([-2, 0, 1, 200, 3, -128, 2, 127, 255][: 9], np.int64)
    classes[:50] = np.resize(ids, 50)
    if class_dtype == np.uint8:
        class_layer = np.where(classes < 0, 250, classes).astype(np.uint8)
    else:
        class_layer = np.clip(classes, np.iinfo(class_dtype).min, np.iinfo(class_dtype).max).astype(class_dtype)
    num_layer = num.astype(np.int64)
    expected = ref.decode_batched_nms(num_layer, boxes, scores, class_layer, 640, 640, ref.DecodeParams.uniform(4, 0.2))
    assert len({d.class_id for d in expected}) >= 3
    layers = {"BatchedNMS": num_layer, "BatchedNMS_1": boxes, "BatchedNMS_2": scores, "BatchedNMS_3": class_layer}
    return Case("NvDsInferParseCustomBatchedNMSTLT", layers, (640, 640), 4, [0.2] * 4, expected)


def efficient_nms() -> Case:
    num, boxes, scores, classes = batched_nms_outputs(np.random.default_rng(6), 100, 60, 6)
    pixels = (boxes[:, [1, 0, 3, 2]] * np.array([512, 512, 512, 512], np.float32)).astype(np.float32)
    expected = ref.decode_efficient_nms(num, pixels, scores, classes.astype(np.int32), 512, 512, ref.DecodeParams.uniform(6, 0.4))
    layers = {"num_detections": num, "detection_boxes": pixels, "detection_scores": scores,
              "detection_classes": classes.astype(np.int32)}
    return Case("NvDsInferParseCustomEfficientDetTAO", layers, (512, 512), 6, [0.4] * 6, expected)


def efficient_nms_int8(count: int) -> Case:
    # An INT8 binding (quantized outputs): pixel boxes partly left of / above the network, and the
    # count itself in INT8. Read through an unsigned char, -20 px becomes 236 px and a count of -1
    # becomes 255 (every row).
    rng = np.random.default_rng(15)
    k = 40
    y1, x1 = rng.integers(-30, 70, k), rng.integers(-30, 70, k)
    boxes = np.stack([y1, x1, y1 + rng.integers(8, 50, k), x1 + rng.integers(8, 50, k)], 1).astype(np.int8)
    scores = np.sort(rng.uniform(0.1, 1.0, k)).astype(np.float32)[::-1].copy()
    classes = rng.integers(0, 3, k).astype(np.int8)
    num = np.array([count], np.int8)
    expected = ref.decode_efficient_nms(num, boxes, scores, classes, 128, 128, ref.DecodeParams.uniform(3, 0.2))
    layers = {"num_detections": num, "detection_boxes": boxes, "detection_scores": scores, "detection_classes": classes}
    return Case("NvDsInferParseCustomEfficientDetTAO", layers, (128, 128), 3, [0.2] * 3, expected)


def frcnn_tlt2(seed: int) -> Case:
    proposals, probs, deltas = frcnn_tlt2_outputs(np.random.default_rng(seed), 300, 5)
    expected = ref.decode_frcnn_tlt2(proposals, probs, deltas, 1248, 384, ref.DecodeParams.uniform(4, 0.3))
    layers = [OutputLayer("dense_regress_td/BiasAdd", deltas.reshape(300, 16, 1, 1)), OutputLayer("proposal", proposals),
              OutputLayer("dense_class_td/Softmax", probs.reshape(300, 5, 1, 1))]
    return Case("NvDsInferParseCustomFrcnnTLT", layers, (1248, 384), 4, [0.3] * 4, expected)


def mask_rcnn(function: str, mask_name: str) -> Case:
    det, masks = mask_rcnn_outputs(np.random.default_rng(8), 100, 3, 960, 576)
    expected = ref.decode_mask_rcnn(det, masks, 960, 576, ref.DecodeParams.uniform(3, 0.5))
    return Case(function, {"generate_detections": det, mask_name: masks}, (960, 576), 3, [0.5] * 3, expected, masks=True)


def out_of_range_class_ids() -> Case:
    num, boxes, scores, classes = batched_nms_outputs(np.random.default_rng(2), 50, 50, 3)
    classes[::3] = 77
    classes[1::3] = -2
    classes[2] = np.nan
    classes[4] = 3e9  # beyond int32 and the class-id guard
    expected = ref.decode_batched_nms(num, boxes, scores, classes, 100, 100, ref.DecodeParams.uniform(3, 0.0))
    layers = {"BatchedNMS": num, "BatchedNMS_1": boxes, "BatchedNMS_2": scores, "BatchedNMS_3": classes}
    return Case("NvDsInferParseCustomBatchedNMSTLT", layers, (100, 100), 3, [0.0] * 3, expected)


def rejected(function: str, layers, error: str, masks: bool = False, env: dict | None = None) -> Case:
    return Case(function, layers, (960, 544), 3, [0.2] * 3, None, env=env or {}, masks=masks, error=error)


def malformed(name: str) -> Case:
    rows, keep = nms7_outputs(np.random.default_rng(0), 10, 5, 3)
    nms = "NvDsInferParseCustomNMSTLT"
    if name == "nms7-wrong-dims":
        return rejected(nms, [OutputLayer("NMS", rows, dims=(1, 11, 7)), OutputLayer("NMS_1", keep)], "dims product 77 != numElements 70")
    if name == "nms7-unknown-type":
        return rejected(nms, [OutputLayer("NMS", rows, data_type=42), OutputLayer("NMS_1", keep)], "unknown data type 42")
    if name == "nms7-nine-dims":
        return rejected(nms, [OutputLayer("NMS", rows, dims=(1,) * 9), OutputLayer("NMS_1", keep)], "dims (max 8)")
    if name == "nms7-not-multiple-of-7":
        return rejected(nms, [OutputLayer("NMS", rows.reshape(-1)[:69], dims=(69,)), OutputLayer("NMS_1", keep)], "not a multiple of 7")
    if name == "batched-missing-layer":
        return rejected("NvDsInferParseCustomBatchedNMSTLT", {"BatchedNMS": np.zeros(1, np.int32), "BatchedNMS_1": rows},
                        "output layer 'BatchedNMS_2' (scores) not found")
    if name == "detectnet-empty":
        return rejected(DETECTNET, {"output_cov/Sigmoid": np.zeros((3, 0, 60), np.float32),
                                    "output_bbox/BiasAdd": np.zeros((12, 0, 60), np.float32)}, "is empty")
    if name == "detectnet-bad-env":
        cov, bbox = detectnet_v2_outputs(np.random.default_rng(0), [], 1, 320, 160)
        return rejected(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), "mode must be none, dbscan, nms or dbscan_nms",
                        env={DETECTNET_V2_ENV: "mode=kmeans"})
    assert name == "mrcnn-missing-masks"
    return rejected("NvDsInferParseCustomMrcnnTLTV2", {"generate_detections": np.zeros((100, 6), np.float32)}, "mask logits", masks=True)


MALFORMED = ("nms7-wrong-dims", "nms7-unknown-type", "nms7-nine-dims", "nms7-not-multiple-of-7", "batched-missing-layer",
             "detectnet-empty", "detectnet-bad-env", "mrcnn-missing-masks")
NMS, SSD = "NvDsInferParseCustomNMSTLT", "NvDsInferParseCustomSSDTLT"
BATCHED, YOLO = "NvDsInferParseCustomBatchedNMSTLT", "NvDsInferParseCustomYOLOV3TLT"
# name -> a function making the case (cases are built when their test runs, not at collection)
CASES: dict[str, Callable[[], Case]] = {
    **{f"detectnet-{mode}-{seed}": partial(detectnet_modes, mode, seed)
       for mode in ("dbscan", "nms", "dbscan_nms", "none") for seed in (0, 1, 2)},
    "detectnet-per-class": detectnet_per_class,
    "detectnet-fp16-batch": detectnet_fp16_batch,
    "detectnet-fewer-classes-onnx-names": detectnet_fewer_classes_onnx_names,
    "detectnet-nan-inf": detectnet_nan_inf,
    **{f"detectnet-border-eps{eps}-min{m}": partial(detectnet_border_points, eps, m)
       for eps, m in ((0.05, 1), (0.5, 2), (0.95, 3), (2.0, 1))},
    **{f"detectnet-tiny-eps{eps}": partial(detectnet_tiny_boxes, eps) for eps in (0.55, 0.45)},
    **{f"nms7-{f[20:]}-{seed}": partial(nms7, f, seed) for f in (NMS, SSD) for seed in (0, 1)},
    **{f"nms7-bad-keep-{name}": partial(nms7_bad_values, value) for name, value in BAD_KEEP_COUNTS.items()},
    **{f"frcnn-onnx-{f[20:]}": partial(frcnn_onnx_names, f) for f in (NMS, "NvDsInferParseCustomFrcnnTLT")},
    **{f"batched-{f[20:]}": partial(batched_nms, f) for f in (BATCHED, YOLO)},
    **{f"batched-classes-{np.dtype(t).name}": partial(batched_nms_integer_layers, t) for t in (np.int8, np.uint8, np.int32, np.int64)},
    "efficient-nms": efficient_nms,
    "efficient-nms-int8": partial(efficient_nms_int8, 35),
    "efficient-nms-int8-negative-count": partial(efficient_nms_int8, -1),
    **{f"frcnn-tlt2-{seed}": partial(frcnn_tlt2, seed) for seed in (0, 1, 2)},
    "mrcnn-v2": partial(mask_rcnn, "NvDsInferParseCustomMrcnnTLTV2", "mask_fcn_logits/BiasAdd"),
    "mrcnn-v1": partial(mask_rcnn, "NvDsInferParseCustomMrcnnTLT", "mask_head/mask_fcn_logits/BiasAdd"),
    "out-of-range-class-ids": out_of_range_class_ids,
    **{name: partial(malformed, name) for name in MALFORMED},
}
# eps below the pair's distance gives no cluster; negative and NaN keep counts read as 0 rows
# (int32 0x7fffffff is out of range as an int and a NaN as a float)
EMPTY_BY_DESIGN = {"detectnet-tiny-eps0.45", "nms7-bad-keep-int-negative", "nms7-bad-keep-int-max",
                   "nms7-bad-keep-nan", "nms7-bad-keep-float-negative", "efficient-nms-int8-negative-count"}


@pytest.mark.parametrize("name", list(CASES))
def test_aarch64_parser_equals_x86_and_reference(arm, host, name):
    case = CASES[name]()
    on_host, on_arm = case.run(host), case.run(arm)
    if case.expected is None:
        # false, and the same one line in nvinfer's log on both platforms
        assert on_host.status == on_arm.status == "parse_failed"
        assert f"ERROR: taostream {case.function}:" in on_arm.stderr and case.error in on_arm.stderr, on_arm.stderr
        assert on_arm.stderr == on_host.stderr
        return
    assert case.expected or name in EMPTY_BY_DESIGN, "the case must produce detections"
    assert_same_detections(on_host.detections, case.expected, masks=case.masks)
    assert_same_detections(on_arm.detections, case.expected, masks=case.masks)
    # Bit for bit: both builds do the same IEEE operations in the same order (-ffp-contract=off)
    # and glibc's expf (FasterRCNN) is correctly rounded on both. With contraction on (aarch64
    # GCC's default) the FasterRCNN cases differ here while staying inside the tolerance above.
    assert on_arm.detections == on_host.detections
    if case.masks:
        assert all(np.array_equal(a.mask, h.mask) for a, h in zip(on_arm.detections, on_host.detections))


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int8, np.uint8])
def test_aarch64_classifier_equals_x86_and_reference(arm, host, dtype):
    # Two attribute layers. Read through a plain (unsigned on aarch64) char, INT8 -100 would be 156
    # and win the arg-max of the first layer; -1 (255) that of the second.
    first = np.array([0.1, 0.8, 0.1], np.float32)
    second = np.array([0.5, 0.45, 0.05], np.float32)
    if dtype == np.int8:
        first, second = np.array([-100, 90, 20], np.int8), np.array([-1, 60, 61], np.int8)
    elif dtype == np.uint8:
        first, second = np.array([200, 90, 20], np.uint8), np.array([1, 255, 61], np.uint8)
    else:
        first, second = first.astype(dtype), second.astype(dtype)
    layers = [OutputLayer("predictions/Softmax", first.reshape(3, 1, 1)), OutputLayer("age", second)]
    threshold = 0.6 if dtype in (np.float32, np.float16) else 50.0
    expected = [a for i, p in enumerate((first, second)) if (a := ref.classify_softmax(p, threshold, index=i))]
    assert expected
    on_host = host.classify("NvDsInferClassifierParseCustomTAO", layers, threshold)
    on_arm = arm.classify("NvDsInferClassifierParseCustomTAO", layers, threshold)
    assert on_arm == on_host == [ref.Attribute(a.index, a.value, pytest.approx(a.confidence, rel=1e-5)) for a in expected]


# UndefinedBehaviorSanitizer, plus the float->int check it leaves out by default: an overflowing
# cast is exactly where aarch64 (saturates) and x86-64 (INT_MIN) part ways. `enum` is included: a
# layer whose data type is no NvDsInferDataType value (the nms7-unknown-type case, or a DeepStream
# newer than the headers) must be read as an int, never loaded through the enum type.
UBSAN_FLAGS = "-fsanitize=undefined,float-cast-overflow -fno-sanitize-recover=all"


def test_aarch64_cases_run_clean_under_ubsan(aarch64_build, monkeypatch):
    ubsan = ParserDriver.under_qemu(build.cross_build_parsers(
        build.DEFAULT_AARCH64_BUILD_DIR.with_name(build.DEFAULT_AARCH64_BUILD_DIR.name + "-ubsan"),
        cmake_args=(f"-DCMAKE_CXX_FLAGS={UBSAN_FLAGS}",)))
    monkeypatch.setenv("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    for name, make in CASES.items():
        case = make()
        result = case.run(ubsan)  # a sanitizer abort surfaces as ParserCallError with its report
        assert "runtime error" not in result.stderr, f"{name}: {result.stderr}"
        assert result.status == ("parse_failed" if case.expected is None else "ok"), name


# --- the request-file driver itself (any machine, no emulator) ---------------------------------


def test_request_file_replays_on_the_command_line_like_the_ctypes_harness(host, native_parsers, tmp_path):
    # What a Jetson user runs: the request written here, the driver's command line there.
    case = mask_rcnn("NvDsInferParseCustomMrcnnTLTV2", "mask_fcn_logits/BiasAdd")
    request = ParserRequest(case.function, case.layers, *case.net, case.num_classes, tuple(case.thresholds), kind="instance_mask")
    write_request(tmp_path / "request.bin", request)
    done = subprocess.run([str(host.driver), str(host.library), str(tmp_path / "request.bin"), str(tmp_path / "result.bin")],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["request.bin", "result.bin"]  # no partial file left
    replayed = decode_result((tmp_path / "result.bin").read_bytes()).detections
    through_ctypes = native_parsers.parse(case.function, case.layers, *case.net, case.num_classes, case.thresholds, masks=True)
    assert replayed == through_ctypes  # exact: the same harness code calls the same symbol
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(replayed, through_ctypes))
    assert_same_detections(replayed, case.expected, masks=True)


def test_thresholds_travel_bit_exact(host):
    # DeepStream keeps confidence >= threshold: the float32 threshold itself passes, the next
    # float below it does not. A decimal round trip that moved the threshold by one ulp would fail.
    threshold = np.float32(0.3)
    scores = np.array([threshold, np.nextafter(threshold, np.float32(0)), threshold], np.float32)
    boxes = np.array([[0.1, 0.1, 0.5, 0.5]] * 3, np.float32)
    layers = {"BatchedNMS": np.array([3], np.int32), "BatchedNMS_1": boxes, "BatchedNMS_2": scores,
              "BatchedNMS_3": np.array([0, 0, 1], np.float32)}
    got = host.parse(BATCHED, layers, 100, 100, 2, [float(threshold)] * 2)
    assert [(d.class_id, d.confidence) for d in got] == [(0, float(threshold)), (1, float(threshold))]


def test_request_environment_overrides_the_inherited_one(host, monkeypatch):
    rng = np.random.default_rng(7)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 5, 640, 480, 1), 1, 640, 480)
    layers = dict(zip(DNV2_NAMES, (cov, bbox)))
    monkeypatch.setenv(DETECTNET_V2_ENV, "mode=kmeans")  # inherited by the driver process
    result = host.run(ParserRequest(DETECTNET, layers, 640, 480, 1, (0.2,)))
    assert result.status == "parse_failed" and "mode must be none, dbscan, nms or dbscan_nms" in result.stderr
    for env, settings in (({DETECTNET_V2_ENV: None}, ref.DetectNetV2Clustering()),
                          ({DETECTNET_V2_ENV: "mode=nms nms_iou=0.4"}, ref.DetectNetV2Clustering(mode="nms", nms_iou=0.4))):
        expected = ref.decode_detectnet_v2(cov, bbox, 640, 480, ref.DecodeParams.uniform(1, 0.2, detectnet_v2=settings))
        assert expected
        assert_same_detections(host.parse(DETECTNET, layers, 640, 480, 1, [0.2], env=env), expected)


def test_bad_requests_name_the_problem(host, tmp_path):
    rows, keep = nms7_outputs(np.random.default_rng(0), 10, 5, 3)
    good = encode_request(ParserRequest(NMS, {"NMS": rows, "NMS_1": keep}, 300, 300, 3, (0.2,) * 3))
    for data, message in ((b"hello\n", "not a taostream parser request"),
                          (good[:-2], "layer 'NMS_1': bytes beyond the payload"),  # NMS_1 is the last 4 bytes
                          (good.replace(b"kind detection", b"kind segmentation"), "kind must be detection, instance_mask or classifier"),
                          (good.partition(b"\npayload\n")[0] + b"\n", "no 'payload' line"),
                          (good.replace(b"\npayload\n", b"\n"), "unknown or incomplete line '"),
                          (good.replace(b"network 300 300 3", b"network 300 x 3"), "bad line 'network 300 x 3'")):
        (tmp_path / "request.bin").write_bytes(data)
        done = subprocess.run([str(host.driver), str(host.library), str(tmp_path / "request.bin")], capture_output=True, timeout=60)
        stderr = done.stderr.decode()  # printable even when the request is binary junk
        assert done.returncode == 2 and f"{tmp_path / 'request.bin'}: " in stderr and message in stderr, stderr
    with pytest.raises(ParserCallError, match="cannot load NvDsInferParseCustomNothing"):
        host.parse("NvDsInferParseCustomNothing", {"NMS": rows}, 300, 300, 3, [0.2] * 3)
    with pytest.raises(ValueError, match="without spaces"):
        encode_request(ParserRequest(NMS, {"my NMS": rows}, 300, 300, 3, (0.2,) * 3))
    with pytest.raises(ValueError, match="no spaces or '='"):
        encode_request(ParserRequest(NMS, {"NMS": rows}, 300, 300, 3, (0.2,) * 3, env={"A=B": "1"}))


def test_missing_cross_tools_name_the_apt_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no compiler, no qemu
    missing = build.missing_aarch64_tools()
    assert missing[:2] == ["g++-aarch64-linux-gnu", "qemu-user"]
    assert missing[2:] == ([] if (build.AARCH64_SYSROOT / "lib" / "libc.so").is_file() else ["libc6-dev-arm64-cross"])
    with pytest.raises(build.ParserBuildError, match="apt-get install g\\+\\+-aarch64-linux-gnu qemu-user"):
        build.cross_build_parsers(tmp_path / "build")
    assert not (tmp_path / "build").exists()
