"""A video cut short (an interrupted copy or recording) still opens in OpenCV and reads up to the cut:
`infer` says how many of the frames its container claims it read, once, naming the file. Before, a
half-cut MJPG .avi that claims 20 frames gave results for 10 without a word."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


# The process's first FFmpeg use is a VideoWriter (as a script that records a clip and then runs taostream
# would have): since OpenCV 4.10 (opencv/opencv#25419) its FFmpeg backend reads OPENCV_FFMPEG_LOGLEVEL at
# that first open only, so taostream's later setting of it did not reach the decoder and the cut frame's
# "[mjpeg @ 0x...] overread 8" reached stderr before taostream's warning.
_FIRST_FFMPEG_USE_IS_A_WRITER = r"""
import re, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_truncated_video import _mjpg_avi
from taostream.inference.inputs import read_video
whole = _mjpg_avi(Path(sys.argv[1]) / "whole.avi")  # the process's first FFmpeg use: a writer
data = whole.read_bytes()
# cut inside frame 10's JPEG data (its '00dc' chunk), so FFmpeg's decoder is handed a partial frame
chunks = [m.start() for m in re.finditer(b"00dc", data) if m.start() > data.index(b"movi")]
size = int.from_bytes(data[chunks[10] + 4:chunks[10] + 8], "little")
cut = Path(sys.argv[1]) / "cut.avi"
cut.write_bytes(data[:chunks[10] + 8 + size // 2])
frames, _, claimed = read_video(cut)  # what infer, verify and the cascade read videos with
print(sum(1 for _ in frames), claimed)
"""


def test_ffmpeg_decoder_messages_stay_off_stderr_after_an_earlier_ffmpeg_use(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    tests = Path(__file__).parent
    result = subprocess.run([sys.executable, "-c", _FIRST_FFMPEG_USE_IS_A_WRITER, str(tmp_path), str(tests)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["11", "20"]  # ten whole frames and the cut one, as far as it decodes
    assert not [line for line in result.stderr.splitlines() if "[mjpeg" in line or "@ 0x" in line], result.stderr
    assert "read 11 of the 20 frames its container claims" in result.stderr
