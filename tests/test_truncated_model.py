"""NVIDIA's real LPDNet .etlt cut short (an interrupted download or scp), with the right key: every
command that reads it names the file and says to copy it again (convert named '<uff>')."""

from __future__ import annotations

import pytest

from cli_support import assert_clean_error, run_cli


@pytest.fixture(scope="module")
def truncated(models_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("cut") / "usa_pruned.etlt"
    path.write_bytes((models_dir / "lpd_usa_detectnet_v2_pruned.etlt").read_bytes()[:100_000])
    return path


@pytest.mark.parametrize("command", [
    ["inspect", "{m}", "--key", "nvidia_tlt"],
    ["convert", "{m}", "--key", "nvidia_tlt", "-o", "{o}/m.engine", "--trt-version", "10.3", "--dry-run"],
    ["tao-converter", "-k", "nvidia_tlt", "-d", "3,480,640", "-o", "output_cov/Sigmoid,output_bbox/BiasAdd",
     "-e", "{o}/m.engine", "{m}"],
    ["bundle", "{m}", "--network", "detectnet_v2", "--labels", "{o}/labels.txt", "--key", "nvidia_tlt", "-o", "{o}/b"],
], ids=["inspect", "convert", "tao-converter", "bundle"])
def test_a_truncated_etlt_is_named_with_the_fix(truncated, tmp_path, command):
    (tmp_path / "labels.txt").write_text("lpd\n")
    args = [a.format(m=truncated, o=tmp_path) for a in command]
    if args[0] == "tao-converter":
        import subprocess
        import sys
        from pathlib import Path

        result = subprocess.run([str(Path(sys.executable).parent / "tao-converter"), *args[1:]], capture_output=True,
                                text=True, timeout=300)
        err = result.stderr.strip()
        assert result.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    else:
        err = assert_clean_error(run_cli(*args))
    assert f"{truncated}: not a UFF model" in err and "copy the model again" in err, err
    assert not (tmp_path / "b").exists() and not (tmp_path / "m.engine").exists()


def test_an_empty_or_cut_video_is_named_with_the_fix(models_dir, tmp_path, monkeypatch):
    # a recording made with OpenCV, then the same file cut short and an empty one (an interrupted copy)
    import cv2
    import numpy as np

    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    (tmp_path / "labels.txt").write_text("lpd\n")
    bundle = tmp_path / "b"
    assert run_cli("bundle", models_dir / "lpd_usa_detectnet_v2_pruned.etlt", "--network", "lpdnet", "--labels",
                   tmp_path / "labels.txt", "--key", "nvidia_tlt", "-o", bundle).returncode == 0
    video = tmp_path / "cam.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for _ in range(10):
        writer.write(np.full((480, 640, 3), 90, np.uint8))
    writer.release()
    empty, cut = tmp_path / "empty.mp4", tmp_path / "cut.mp4"
    empty.write_bytes(b"")
    cut.write_bytes(video.read_bytes()[:2000])
    err = assert_clean_error(run_cli("infer", bundle, empty, "-o", tmp_path / "o1", "--no-progress"))
    assert f"{empty}: the video file is empty (0 bytes)" in err and "copy it again" in err
    monkeypatch.delenv("OPENCV_FFMPEG_LOGLEVEL", raising=False)  # set here by an in-process read_video
    result = run_cli("infer", bundle, cut, "-o", tmp_path / "o2", "--no-progress")
    # only taostream's line: FFmpeg's own "moov atom not found" came before it (silenced through
    # OPENCV_FFMPEG_LOGLEVEL; the child is started without it, as a user's shell would)
    assert result.returncode == 2 and result.stderr == (
        f"taostream: error: {cut}: OpenCV cannot open this video (codec or container not supported, or a truncated "
        "file)\n"), result.stderr
