"""CMake configuration of the parser library: a DeepStream 9 SDK (found through its version file
under DEEPSTREAM_ROOT) switches NvDsInferObjectDetectionInfo to the 28-byte layout with
rotation_angle, and the parsers still fill every field correctly in that layout."""

from __future__ import annotations

import numpy as np

from taostream.parsers import build
from taostream.parsers import reference as ref
from taostream.parsers.native import NativeParsers

from parsers_support import assert_same_detections, nms7_outputs

DS9_BUILD_DIR = build.REPO_ROOT / "build-parsers-ds9"


def test_deepstream9_version_file_selects_rotation_angle_layout():
    fake_sdk = DS9_BUILD_DIR / "fake-deepstream"  # only the version file, no headers
    fake_sdk.mkdir(parents=True, exist_ok=True)
    (fake_sdk / "version").write_text("Version: 9.0\n")
    build.configure(DS9_BUILD_DIR, cmake_args=(f"-DDEEPSTREAM_ROOT={fake_sdk}", "-DTAOSTREAM_PARSERS_FUZZ=OFF"))
    build.build_targets(DS9_BUILD_DIR, ("nvds_infercustomparser_taostream", "taostream_parser_harness"))
    native = NativeParsers(DS9_BUILD_DIR / "parsers" / build.LIBRARY_NAME, DS9_BUILD_DIR / "parsers" / build.HARNESS_NAME)
    assert native.abi_layout()["sizeof_object_detection_info"] == 28
    rows, keep = nms7_outputs(np.random.default_rng(2), 50, 30, 3)
    params = ref.DecodeParams.uniform(3, 0.3)
    got = native.parse("NvDsInferParseCustomNMSTLT", {"NMS": rows, "NMS_1": keep}, 640, 480, 3, [0.3] * 3)
    assert_same_detections(got, ref.decode_nms7(rows, keep, 640, 480, params))
