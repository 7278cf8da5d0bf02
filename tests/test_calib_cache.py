"""Calibration caches: every real NVIDIA cache parses; writing and reading agree."""

from __future__ import annotations

import struct

import pytest

from taostream.converter.int8.calib_cache import (
    CalibrationCache,
    CalibrationCacheError,
    format_calibration_cache,
    header_for,
    parse_calibration_cache,
    read_calibration_cache,
    write_calibration_cache,
)

# first tensor and tensor count of each fixture, read off the files by hand
REAL_CACHES = {
    "detectnet_v2_tlt_cal.bin": ("input_1", 131),
    "facemask_detectnet_v2_cal.bin": ("input_1", 115),
    "trafficcamnet_int8.txt": ("input_1", 131),
    "lpd_usa_cal.bin": ("input_1", 38),
    "lpd_ccpd_cal.bin": ("input_1", 38),
    "ssd_tlt_cal.bin": ("Input", 225),
    "dssd_tlt_cal.bin": ("Input", 295),
    "retinanet_tlt_cal.bin": ("Input", 245),
    "yolov3_tlt_cal.bin": ("Input", 262),
    "frcnn_tlt_cal.bin": ("input_image", 69),
    "mrcnn_tlt_cal.bin": ("Input", 324),
}


@pytest.mark.parametrize("name", sorted(REAL_CACHES))
def test_real_caches_parse(fixtures_dir, name):
    path = fixtures_dir / "calibration" / name
    cache = read_calibration_cache(path)
    first, count = REAL_CACHES[name]
    assert cache.header == "TRT-7000-EntropyCalibration2"
    assert (cache.trt_version, cache.algorithm, cache.trt_version_string) == (7000, "EntropyCalibration2", "7.0.0")
    assert next(iter(cache.scales)) == first
    assert len(cache.scales) == count
    assert all(v > 0 for v in cache.scales.values())
    # Re-serialising reproduces the file line for line.
    assert format_calibration_cache(cache).splitlines() == path.read_text().splitlines()


def test_input_scale_of_detectnet_is_one_over_255_over_127(fixtures_dir):
    # DetectNet_v2 inputs are x/255 in [0,1]: amax 1.0 -> scale 1/127 = 0x3c010204; TRT's entropy
    # calibrator picked 0x3c010a14, within 0.1% of it.
    cache = read_calibration_cache(fixtures_dir / "calibration" / "detectnet_v2_tlt_cal.bin")
    assert cache.scales["input_1"] == pytest.approx(1 / 127, rel=1e-3)
    assert cache.amax("input_1") == pytest.approx(1.0, rel=1e-3)


def test_names_with_spaces_and_colons(fixtures_dir):
    cache = read_calibration_cache(fixtures_dir / "calibration" / "dssd_tlt_cal.bin")
    assert "(Unnamed Layer* 593) [Deconvolution]_output" in cache.scales


def test_write_read_round_trip(tmp_path):
    cache = CalibrationCache(header_for("10.3.0"), {"input_1": 1 / 127, "a: b c": 0.5})
    path = write_calibration_cache(tmp_path / "cal.bin", cache)
    back = read_calibration_cache(path)
    assert back.header == "TRT-100300-EntropyCalibration2" and back.trt_version_string == "10.3.0"
    assert back.scales == {"input_1": struct.unpack(">f", struct.pack(">f", 1 / 127))[0], "a: b c": 0.5}
    assert path.read_text().splitlines()[2] == "a: b c: 3f000000"


@pytest.mark.parametrize(
    "version, header",
    [("7", "TRT-7000-EntropyCalibration2"), ("8.6.1", "TRT-8601-EntropyCalibration2"), ("10.3.0", "TRT-100300-EntropyCalibration2")],
)
def test_headers_for_versions(version, header):
    assert header_for(version) == header
    assert CalibrationCache(header).trt_version_string.startswith(version.split(".")[0])


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("hello\nx: 3c010a14\n", "first line"),
        ("TRT-8601-Magic\n", "unknown calibration algorithm"),
        ("TRT-8601-EntropyCalibration2\ninput_1 3c010a14\n", ":2:"),
        ("TRT-8601-EntropyCalibration2\ninput_1: zz\n", "hex"),
        ("TRT-8601-EntropyCalibration2\na: 1\na: 2\n", "twice"),
    ],
)
def test_malformed_caches(text, fragment):
    with pytest.raises(CalibrationCacheError, match=fragment):
        parse_calibration_cache(text, "cal.bin")


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "cal.bin"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(CalibrationCacheError, match="binary"):
        read_calibration_cache(path)


def test_a_cache_saved_with_a_byte_order_mark_says_so(fixtures_dir, tmp_path):
    """lpd_usa_cal.bin opened and saved by a Windows editor (UTF-8 with BOM): the file is text, and
    TensorRT, which compares the first line with its 'TRT-...' header, would not recognise it; the
    user is told what is wrong with it (not "binary data") and how to fix it, with exit code 2."""
    from cli_support import run_cli

    path = tmp_path / "cal.bin"
    path.write_bytes(b"\xef\xbb\xbf" + (fixtures_dir / "calibration" / "lpd_usa_cal.bin").read_bytes())
    result = run_cli("calibration", path)
    assert result.returncode == 2, result
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"taostream: error: {path}:") and "byte-order mark" in err and "binary" not in err, err
    assert "without" in err  # the fix: save it without the BOM
