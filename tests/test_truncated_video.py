"""A video cut short (an interrupted copy or recording) still opens in OpenCV and reads up to the cut:
`infer` says how many of the frames its container claims it read, once, naming the file. Before, a
half-cut MJPG .avi that claims 20 frames gave results for 10 without a word."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cli_support import run_cli, sample_bundle

WARNING = "read 10 of the 20 frames its container claims"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("video_bundle")
    return sample_bundle(root, "detectnet_v2")


def _mjpg_avi(path, frames=20):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for i in range(frames):
        frame = np.full((240, 320, 3), i * 10, np.uint8)
        cv2.putText(frame, str(i), (100, 150), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        writer.write(frame)
    writer.release()
    return path


def test_a_video_cut_in_half_is_a_warning_with_the_counts(bundle, tmp_path):
    whole = _mjpg_avi(tmp_path / "whole.avi")
    cut = tmp_path / "cut.avi"
    data = whole.read_bytes()
    cut.write_bytes(data[:len(data) // 2])  # the header (20 frames) survives, half the frames do not
    result = run_cli("infer", bundle, cut, "-o", tmp_path / "out", "--no-progress", "--no-annotate")
    assert result.returncode == 0, result.stderr
    assert "10 video frames" in result.stdout
    lines = [line for line in result.stderr.splitlines() if "taostream: warning:" in line]
    assert lines == [f"taostream: warning: {cut}: {WARNING}; the file is probably cut short (an interrupted copy "
                     "or recording): results cover the first 10 frames; copy or record it again for the rest"]


def test_a_whole_video_reads_without_a_warning(bundle, tmp_path):
    whole = _mjpg_avi(tmp_path / "whole.avi")
    result = run_cli("infer", bundle, whole, "-o", tmp_path / "out", "--no-progress", "--no-annotate")
    assert result.returncode == 0, result.stderr
    assert "20 video frames" in result.stdout and "warning" not in result.stderr
