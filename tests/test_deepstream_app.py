"""The DeepStream app's pipeline plan (pure data) and coordinate mapping; running it needs DeepStream."""

from __future__ import annotations

import importlib.util

import pytest

from taostream.cli import main
from taostream.converter.errors import TaostreamError
from taostream.inference.deepstream.app import is_live, mux_to_source, plan_pipeline, source_uri
from test_infer_support import make_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("ds"), "yolo_v4")


@pytest.fixture()
def video(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00")  # the plan only needs the file to exist
    return path


def test_file_source_plan(bundle, video):
    plan = plan_pipeline(bundle, str(video))
    assert [e.factory for e in plan.elements] == ["uridecodebin", "nvstreammux", "nvinfer", "nvvideoconvert",
                                                  "nvdsosd", "fakesink"]
    assert plan.element("source").properties["uri"] == video.resolve().as_uri()
    assert plan.element("mux").properties["live-source"] is False
    assert plan.element("mux").properties["width"] == 1920 and plan.element("mux").properties["height"] == 1080
    assert plan.element("infer").properties["config-file-path"] == str((bundle / "deepstream" / "config_infer_primary.txt").resolve())
    assert plan.links == [("mux", "infer"), ("infer", "convert"), ("convert", "osd"), ("osd", "sink")]
    assert (plan.source, plan.muxer, plan.probe) == ("source", "mux", "osd")


def test_rtsp_triton_plan_with_video_output(bundle, tmp_path):
    plan = plan_pipeline(bundle, "rtsp://camera.local/stream1", triton=True, mux_size=(1280, 720),
                         output_video=str(tmp_path / "out.mp4"))
    assert plan.element("mux").properties["live-source"] is True
    infer = plan.element("infer")
    assert infer.factory == "nvinferserver" and "gpu-id" not in infer.properties
    assert infer.properties["config-file-path"].endswith("deepstream/config_infer_primary_nvinferserver.txt")
    assert [e.factory for e in plan.elements][-5:] == ["nvvideoconvert", "nvv4l2h264enc", "h264parse", "qtmux", "filesink"]
    assert plan.element("sink").properties["location"] == str((tmp_path / "out.mp4").resolve())
    assert plan.links[-1] == ("muxer_mp4", "sink")


def test_gst_launch_rendering(bundle, video):
    text = plan_pipeline(bundle, str(video)).gst_launch()
    assert text.startswith(f"uridecodebin name=source uri={video.resolve().as_uri()} ! mux.sink_0  nvstreammux name=mux")
    assert "live-source=false" in text and text.endswith("fakesink name=sink sync=false")
    assert text.count(" ! ") == 5


def test_sources():
    assert source_uri("rtsp://h/s") == "rtsp://h/s"
    assert is_live("rtsp://h/s") and not is_live("file:///a.mp4")
    with pytest.raises(TaostreamError, match="no such video file"):
        source_uri("/nonexistent/clip.mp4")


def test_missing_config_is_a_clear_error(tmp_path, video):
    with pytest.raises(TaostreamError, match="config_infer_primary.txt: missing"):
        plan_pipeline(tmp_path, str(video))


def test_mux_to_source_scaling():
    # A 640x360 source muxed at 1920x1080: everything divides by 3.
    assert mux_to_source(300, 150, 600, 300, (1920, 1080), (640, 360)) == (100, 50, 300, 150)
    # Different ratios per axis (4:3 source into 16:9 mux, no padding).
    assert mux_to_source(960, 540, 480, 270, (1920, 1080), (640, 480)) == (320, 240, 480, 360)


@pytest.mark.skipif(importlib.util.find_spec("pyds") is not None, reason="pyds is installed here")
def test_cli_without_deepstream_says_what_to_install(bundle, video, tmp_path, capsys):
    assert main(["deepstream-app", str(bundle), str(video), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "pyds" in err or "GStreamer" in err
    assert not (tmp_path / "out").exists()


def test_cli_rejects_bad_mux_size(bundle, video, tmp_path, capsys):
    assert main(["deepstream-app", str(bundle), str(video), "-o", str(tmp_path / "o"), "--mux-size", "big"]) == 2
    assert "use WIDTHxHEIGHT" in capsys.readouterr().err


def test_detectnet_plan_carries_the_parsers_clustering_settings(tmp_path_factory, video):
    # nvinfer cannot pass clustering settings to the DetectNet_v2 parser: the app sets them.
    from taostream.parsers.reference import DetectNetV2Clustering
    from taostream.deepstream_configs.specs.settings import cluster_settings_from_spec
    from taostream.converter.registry import get_network
    from taostream.converter.tao_spec import load_spec

    detectnet = make_bundle(tmp_path_factory.mktemp("dnv2"), "detectnet_v2")
    plan = plan_pipeline(detectnet, str(video))
    spec = load_spec(next((detectnet.parent / "sample_detectnet_v2").glob("spec.txt")))
    labels = (detectnet / "labels.txt").read_text().split()
    expected = cluster_settings_from_spec(get_network("detectnet_v2"), spec, labels).parser_settings
    assert plan.environment == {"TAOSTREAM_DETECTNET_V2": expected}
    assert DetectNetV2Clustering.from_env(expected).mode in ("dbscan", "nms", "dbscan_nms")


def test_plans_without_a_clustering_parser_set_nothing(bundle, video):
    assert plan_pipeline(bundle, str(video)).environment == {}
