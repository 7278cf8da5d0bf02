"""deepstream-app and nvinferserver configs: every source and sink kind, a detector + two classifier
cascade with a tracker, MaskRCNN masks; all pass `taostream check`."""

from __future__ import annotations

import shutil

import onnx
import pytest

from deepstream_fixtures import network_onnx, parser_stub_library, write_labels
from taostream.converter.errors import TaostreamError
from taostream.converter.registry import get_network
from taostream.converter.tao_spec import load_spec
from taostream.deepstream_configs.app import (
    TRACKER_LIBRARY, AppOptions, SecondaryGie, Sink, Source, format_app_config, write_app_config)
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.nvinfer import default_options, write_nvinfer_config
from taostream.deepstream_configs.triton.nvinferserver import NvinferserverOptions, write_nvinferserver_config


@pytest.fixture()
def cascade(tmp_path):
    """A YOLOv4 detector and two classifiers (vehicle type, vehicle make) beside their models."""
    library = parser_stub_library()
    shutil.copy(library, tmp_path / library.name)
    (tmp_path / "video.mp4").write_bytes(b"\0")
    yolo, classifier = get_network("yolov4"), get_network("classification")
    onnx.save(network_onnx(yolo, 3), tmp_path / "detector.onnx")
    onnx.save(network_onnx(classifier, 6), tmp_path / "classifier.onnx")
    write_labels(tmp_path / "detector.txt", 3)
    write_labels(tmp_path / "classes.txt", 6, classifier=True)
    outputs = lambda net, n: tuple(o.name for o in network_onnx(net, n).graph.output)  # noqa: E731
    write_nvinfer_config(tmp_path / "pgie.txt", default_options(
        yolo, model_file="detector.onnx", labels_file="detector.txt", num_classes=3, batch_size=4,
        output_names=outputs(yolo, 3)))
    for gie_id, name in ((2, "sgie_type.txt"), (3, "sgie_make.txt")):
        write_nvinfer_config(tmp_path / name, default_options(
            classifier, model_file="classifier.onnx", labels_file="classes.txt", num_classes=6, batch_size=16,
            process_mode=2, operate_on_gie_id=1, operate_on_class_ids=(0,), gie_unique_id=gie_id,
            output_names=outputs(classifier, 6)))
    return tmp_path


def _app(**overrides) -> AppOptions:
    values = dict(
        primary_config="pgie.txt", width=1248, height=384, tracker=True,
        sources=[Source("file", "video.mp4"), Source("uri", "https://example.com/a.mp4"),
                 Source("rtsp", "rtsp://camera.local/stream"), Source("usb", "0")],
        sinks=[Sink("fake"), Sink("file", "out.mp4"), Sink("rtsp", rtsp_port=8555), Sink("egl")],
        secondaries=[SecondaryGie("sgie_type.txt", 2, (0,)), SecondaryGie("sgie_make.txt", 3, (0,))],
    )
    values.update(overrides)
    return AppOptions(**values)


def test_cascade_with_every_source_and_sink_passes_check(cascade):
    write_app_config(cascade / "app.txt", _app())
    report = check_configs([cascade / "app.txt"], deepstream="9.0")
    assert report.errors == [] and report.warnings == [], [str(f) for f in report.findings]
    ini = read_ini(cascade / "app.txt")
    assert [ini.group(f"source{i}").get("type") for i in range(4)] == ["3", "2", "4", "1"]
    assert ini.group("source0").get("uri") == "file://video.mp4"
    assert [ini.group(f"sink{i}").get("type") for i in range(4)] == ["1", "3", "4", "2"]
    assert ini.group("sink2").get("rtsp-port") == "8555"
    mux = ini.group("streammux")
    assert (mux.get("batch-size"), mux.get("width"), mux.get("height"), mux.get("live-source")) == ("4", "1248", "384", "1")
    assert ini.group("primary-gie").get("batch-size") == "4"
    assert ini.group("tracker").get("ll-lib-file") == TRACKER_LIBRARY
    assert [ini.group(f"secondary-gie{i}").get("operate-on-gie-id") for i in range(2)] == ["1", "1"]
    tiles = ini.group("tiled-display")
    assert (tiles.get("rows"), tiles.get("columns")) == ("2", "2")


def test_classifier_config_is_secondary(cascade):
    prop = read_ini(cascade / "sgie_type.txt").group("property")
    assert (prop.get("process-mode"), prop.get("network-type"), prop.get("operate-on-gie-id")) == ("2", "1", "1")
    # nvinfer's built-in softmax parser names the classes from labelfile-path; no custom parser
    assert prop.get("parse-classifier-func-name") is None and prop.get("custom-lib-path") is None
    assert prop.get("num-detected-classes") is None


def test_streammux_and_gie_disagree_when_batch_is_forced(cascade):
    write_app_config(cascade / "app.txt", _app(batch_size=2))
    report = check_configs([cascade / "app.txt"], deepstream="9.0")
    # the app's own groups agree (2 and 2) but the referenced pgie.txt was written for batch 4:
    # the mux batch then disagrees with nothing in the app file, and an error says sources > batch
    assert any(f.key == "batch-size" and "smaller than the 4 sources" in f.message for f in report.errors)


def test_mask_rcnn_app_displays_masks():
    text = format_app_config(_app(display_mask=True, tracker=False, secondaries=[]))
    assert "display-mask=1" in text


def test_bad_sources_and_sinks_are_rejected():
    with pytest.raises(TaostreamError, match="rtsp://"):
        format_app_config(_app(sources=[Source("rtsp", "http://x")]))
    with pytest.raises(TaostreamError, match="source kind"):
        format_app_config(_app(sources=[Source("webcam")]))
    with pytest.raises(TaostreamError, match="sink kind"):
        format_app_config(_app(sinks=[Sink("screen")]))


def test_nvinferserver_configs_in_process_and_grpc(cascade):
    net = get_network("yolov4")
    (cascade / "triton").mkdir()
    base = dict(network=net, model_name="yolov4", labels_file="detector.txt", num_classes=3, max_batch_size=4,
                repository="triton", custom_lib_path=parser_stub_library().name)
    write_nvinferserver_config(cascade / "server.txt", NvinferserverOptions(**base))
    write_nvinferserver_config(cascade / "grpc.txt", NvinferserverOptions(**base, grpc_url="localhost:8001"))
    local, remote = load_spec(cascade / "server.txt"), load_spec(cascade / "grpc.txt")
    assert local.get("infer_config.backend.triton.model_repo.root") == "triton"
    assert local.get("infer_config.backend.triton.grpc.url") is None
    assert remote.get("infer_config.backend.triton.grpc.url") == "localhost:8001"
    assert local.get("infer_config.max_batch_size") == 4
    assert str(local.get("infer_config.preprocess.network_format")) == "IMAGE_FORMAT_BGR"
    assert local.get_all("infer_config.preprocess.normalize.channel_offsets") == [103.939, 116.779, 123.68]
    assert local.get("infer_config.preprocess.maintain_aspect_ratio") == 1
    detection = "infer_config.postprocess.detection."
    assert local.get(detection + "custom_parse_bbox_func") == "NvDsInferParseCustomBatchedNMSTLT"
    assert local.get(detection + "num_detected_classes") == 3
    assert local.get(detection + "nms.topk") == 200
    assert check_configs([cascade / "server.txt", cascade / "grpc.txt"]).errors == []
    (cascade / "detector.txt").unlink()
    errors = check_configs([cascade / "server.txt"]).errors
    assert [e.key for e in errors] == ["infer_config.postprocess.labelfile_path"]


def test_app_with_nvinferserver_primary_passes_check(cascade):
    (cascade / "triton").mkdir()
    write_nvinferserver_config(cascade / "server.txt", NvinferserverOptions(
        network=get_network("yolov4"), model_name="yolov4", labels_file="detector.txt", num_classes=3,
        repository="triton", custom_lib_path=parser_stub_library().name))
    write_app_config(cascade / "app.txt", _app(primary_config="server.txt", primary_plugin_type=1, secondaries=[],
                                               sources=[Source("file", "video.mp4")], sinks=[Sink("fake")]))
    report = check_configs([cascade / "app.txt", cascade / "server.txt"])
    assert report.errors == [], [str(f) for f in report.errors]


def test_nvinferserver_parser_must_be_exported(cascade):
    (cascade / "triton").mkdir()
    options = NvinferserverOptions(network=get_network("ssd"), model_name="ssd", labels_file="detector.txt",
                                   num_classes=3, repository="triton", custom_lib_path=parser_stub_library().name)
    write_nvinferserver_config(cascade / "server.txt", options)
    text = (cascade / "server.txt").read_text().replace("NvDsInferParseCustomNMSTLT", "NvDsInferParseCustomNMSTL")
    (cascade / "server.txt").write_text(text)
    (error,) = check_configs([cascade / "server.txt"]).errors
    assert error.key.endswith("custom_parse_bbox_func") and "did you mean 'NvDsInferParseCustomNMSTLT'" in error.message
