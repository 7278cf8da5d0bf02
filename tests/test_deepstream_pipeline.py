"""`taostream deepstream-app APP`: the DeepStream Python app's element plan for a real `taostream
pipeline` folder (NVIDIA's face-mask DetectNet_v2 + two classifier secondaries + NvDCF) agrees with
the deepstream_app.txt the folder holds, read here with the standard library's own INI parser; its
results writer gives the CPU cascade's results.json for the same objects and classifier results.
Building the GStreamer elements and reading pyds metadata need DeepStream: those tests skip here."""

from __future__ import annotations

import configparser
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from cli_support import assert_clean_error, run_cli
from taostream.converter.errors import TaostreamError
from taostream.deepstream_configs.pipeline.make import PipelineRequest, create_pipeline, parse_secondary
from taostream.inference.deepstream.pipeline import (UNTRACKED_OBJECT_ID, FrameMeta, LabelMeta, ObjectMeta, plan_app,
                                                     run_pipeline_app)
from test_cascade import work  # noqa: F401  (the module fixture: real bundles and inputs)

RTSP = "rtsp://camera.local/stream1"


def _app(work, name: str, **options) -> Path:  # noqa: F811
    app = work["root"] / name
    if not app.exists():
        request = dict(output=app, primary=work["detector"], tracker="nvdcf", sources=[str(work["video"]), RTSP],
                       secondaries=[parse_secondary(f"{work['classifiers'][0]}:classes=no-mask,mask:min-size=32x32"),
                                    parse_secondary(f"{work['classifiers'][1]}:classes=mask")])
        request.update(options)
        create_pipeline(PipelineRequest(**request))
    return app


def _ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return parser


def test_plan_agrees_with_the_deepstream_app_txt_of_the_folder(work):  # noqa: F811
    app = _app(work, "ds_app")
    plan = plan_app(app)
    ini = _ini(app / "deepstream_app.txt")
    manifest = json.loads((app / "pipeline.json").read_text())
    sources = [s for s in ini.sections() if s.startswith("source")]
    assert plan.uris == [ini[s]["uri"] for s in sources] == [Path(work["video"]).resolve().as_uri(), RTSP]
    assert plan.sources == [("source0", "sink_0"), ("source1", "sink_1")]
    assert plan.factories() == ["uridecodebin", "uridecodebin", "nvstreammux", "nvinfer", "nvtracker", "nvinfer",
                                "nvinfer", "nvmultistreamtiler", "nvvideoconvert", "nvdsosd", "fakesink"]
    mux = plan.element("mux").properties
    assert mux["batch-size"] == int(ini["streammux"]["batch-size"]) == manifest["batch_size"] == len(sources) == 2
    assert (mux["width"], mux["height"]) == (int(ini["streammux"]["width"]), int(ini["streammux"]["height"]))
    assert mux["live-source"] is True  # an RTSP source

    primary = plan.element("primary_gie").properties
    assert primary["config-file-path"] == str((app / ini["primary-gie"]["config-file"]).resolve())
    assert primary["unique-id"] == int(ini["primary-gie"]["gie-unique-id"]) == manifest["primary"]["gie_unique_id"]
    assert primary["batch-size"] == int(ini["primary-gie"]["batch-size"]) == 2
    assert "process-mode" not in primary and "infer-on-gie-id" not in primary

    tracker = plan.element("tracker").properties
    assert tracker["ll-lib-file"] == ini["tracker"]["ll-lib-file"]
    assert tracker["ll-config-file"] == str((app / ini["tracker"]["ll-config-file"]).resolve())
    assert Path(tracker["ll-config-file"]).is_file()
    assert (tracker["tracker-width"], tracker["tracker-height"]) == (int(ini["tracker"]["tracker-width"]),
                                                                     int(ini["tracker"]["tracker-height"]))

    groups = [s for s in ini.sections() if s.startswith("secondary-gie")]
    assert len(groups) == len(manifest["secondaries"]) == 2
    for index, (group, entry) in enumerate(zip(groups, manifest["secondaries"])):
        props = plan.element(f"secondary_gie_{index}").properties
        values = ini[group]
        assert props["config-file-path"] == str((app / values["config-file"]).resolve())
        assert props["unique-id"] == int(values["gie-unique-id"]) == entry["gie_unique_id"]
        assert props["infer-on-gie-id"] == int(values["operate-on-gie-id"]) == primary["unique-id"]
        assert props["process-mode"] == 2 and props["batch-size"] == int(values["batch-size"])
        assert props["infer-on-class-ids"] == "".join(f"{c}:" for c in entry["operate_on_class_ids"])
        assert props["infer-on-class-ids"].rstrip(":").split(":") == values["operate-on-class-ids"].split(";")
        # the GIE's own nvinfer config carries the same id and role deepstream-app gives it
        own = _ini(Path(props["config-file-path"]))["property"]
        assert int(own["gie-unique-id"]) == props["unique-id"] and own["process-mode"] == "2"
    assert [g.unique_id for g in plan.gies] == [1, 2, 3]
    assert plan.probe == "tiler" and plan.notes == []


def test_the_plan_follows_edits_to_deepstream_app_txt(work, tmp_path):  # noqa: F811
    app = tmp_path / "edited"
    shutil.copytree(_app(work, "ds_app"), app)
    path = app / "deepstream_app.txt"
    text = path.read_text()
    text = text.replace("[tracker]\nenable=1", "[tracker]\nenable=0")
    text = text.replace("[secondary-gie0]\nenable=1", "[secondary-gie0]\nenable=0")  # gie 2 off
    text = text.replace("[streammux]\n", "[streammux]\n").replace("width=1920", "width=1280", 1)
    path.write_text(text)
    plan = plan_app(app)
    assert "nvtracker" not in plan.factories()
    assert [g.unique_id for g in plan.gies] == [1, 3]
    assert plan.element("secondary_gie_1").properties["unique-id"] == 3
    assert plan.mux_size == (1280, 1080)
    # a secondary chained to the disabled one never reaches the primary: skipped, as deepstream-app does
    path.write_text(text.replace("[secondary-gie1]\nenable=1\ngpu-id=0\nbatch-size=16\ngie-unique-id=3\n"
                                 "operate-on-gie-id=1", "[secondary-gie1]\nenable=1\ngpu-id=0\nbatch-size=16\n"
                                 "gie-unique-id=3\noperate-on-gie-id=2"))
    plan = plan_app(app)
    assert [g.unique_id for g in plan.gies] == [1]
    assert "operates on gie 2" in plan.notes[0]


def test_sources_given_replace_the_configs(work):  # noqa: F811
    plan = plan_app(_app(work, "ds_app"), [str(work["photo"])])
    assert plan.uris == [Path(work["photo"]).resolve().as_uri()] and plan.sources == [("source0", "sink_0")]
    assert plan.element("mux").properties["batch-size"] == plan.element("primary_gie").properties["batch-size"] == 1
    assert plan.element("mux").properties["live-source"] is False


def test_file_and_rtsp_sinks(work, tmp_path):  # noqa: F811
    plan = plan_app(_app(work, "ds_file", sink="file", output_file="cars.mp4"), output=tmp_path)
    assert plan.factories()[-5:] == ["nvvideoconvert", "nvv4l2h264enc", "h264parse", "qtmux", "filesink"]
    assert plan.element("sink").properties["location"] == str(tmp_path / "videos" / "cars.mp4")
    assert plan.output_files == [tmp_path / "videos" / "cars.mp4"]
    plan = plan_app(_app(work, "ds_rtsp", sink="rtsp", rtsp_port=8600, udp_port=5600))
    assert plan.factories()[-4:] == ["nvvideoconvert", "nvv4l2h264enc", "rtph264pay", "udpsink"]
    assert plan.element("sink").properties["port"] == 5600
    assert (plan.rtsp.rtsp_port, plan.rtsp.udp_port, plan.rtsp.encoding) == (8600, 5600, "H264")


def test_triton_pipeline_plans_nvinferserver(work):  # noqa: F811
    pytest.importorskip("tritonclient", reason="the triton extra is not installed")
    app = _app(work, "ds_triton", triton=True)
    plan = plan_app(app, triton=True)
    ini = _ini(app / "deepstream_app_triton.txt")
    assert [plan.element(g.name).factory for g in plan.gies] == ["nvinferserver"] * 3
    assert plan.element("primary_gie").properties["config-file-path"] == str((app / ini["primary-gie"]["config-file"]).resolve())
    assert "gpu-id" not in plan.element("primary_gie").properties
    with pytest.raises(TaostreamError, match="made without --triton"):
        plan_app(_app(work, "ds_app"), triton=True)


def test_camera_source_is_one_line_and_writes_nothing(work, tmp_path):  # noqa: F811
    app = _app(work, "ds_usb", sources=["/dev/video0"])
    result = run_cli("deepstream-app", app, "-o", tmp_path / "out")
    assert result.returncode == 2
    assert_clean_error(result, "[source0] type=1")
    assert not (tmp_path / "out").exists()


def test_results_json_is_the_cpu_cascades_for_the_same_objects(work, tmp_path):  # noqa: F811
    """The CPU cascade runs on the astronaut photo; the same objects and classifier results, as
    nvinfer would attach them (boxes in 1920x1080 nvstreammux pixels, one classifier meta per
    secondary that passed its threshold), go through the DeepStream app's writer."""
    app = _app(work, "ds_app")
    cascade_out = tmp_path / "cascade"
    assert run_cli("infer", app, work["photo"], "-o", cascade_out, "--no-progress").returncode == 0
    cascade = json.loads((cascade_out / "results.json").read_text())
    (image,) = cascade["images"]
    assert image["objects"] and any(o["secondaries"] for o in image["objects"])
    sx, sy = 1920 / image["width"], 1080 / image["height"]
    objects = []
    for o in image["objects"]:
        x1, y1, x2, y2 = o["bbox"]
        classifiers = {int(gie): [LabelMeta(r["class_id"], r["confidence"], r["label"])]
                       for gie, r in o["secondaries"].items() if r["class_id"] is not None}
        objects.append(ObjectMeta(o["class_id"], o["confidence"], x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy,
                                  UNTRACKED_OBJECT_ID, classifiers))
    frame = FrameMeta(0, 0, image["width"], image["height"], objects)

    def deepstream(plan, on_frames):  # stands in for GStreamer: hands over the metadata read_batch returns
        assert plan.mux_size == (1920, 1080)
        on_frames([frame])

    out = tmp_path / "deepstream"
    assert run_pipeline_app(app, [str(work["photo"])], out, runner=deepstream) == 1
    written = json.loads((out / "results.json").read_text())
    (record,) = written["images"]
    assert record["source"] == Path(work["photo"]).resolve().as_uri() + "#0"
    assert (record["width"], record["height"]) == (image["width"], image["height"])
    assert len(record["objects"]) == len(image["objects"])
    for mine, theirs in zip(record["objects"], image["objects"]):
        assert mine["bbox"] == pytest.approx(theirs["bbox"], abs=1e-3)
        assert {k: v for k, v in mine.items() if k != "bbox"} == {k: v for k, v in theirs.items() if k != "bbox"}
    assert written["backend"] == "deepstream-nvinfer" and written["tracking_library"] == "nvtracker (libnvds_nvmultiobjecttracker.so)"
    assert [s["gie_unique_id"] for s in written["secondaries"]] == [s["gie_unique_id"] for s in cascade["secondaries"]]
    assert [s["network"] for s in written["secondaries"]] == [s["network"] for s in cascade["secondaries"]]
    kitti = (out / "labels" / "astronaut_000000.txt").read_text().split()
    expected = (cascade_out / "labels" / "astronaut.txt").read_text().split()
    assert kitti[0] == expected[0] and [float(v) for v in kitti[1:]] == pytest.approx([float(v) for v in expected[1:]], abs=0.011)


def test_tracker_ids_come_through_and_untracked_are_null(work, tmp_path):  # noqa: F811
    app = _app(work, "ds_app")
    frames = [FrameMeta(0, n, 640, 360, [ObjectMeta(1, 0.9, 300.0 + n, 150.0, 600.0, 300.0, 7 if n else UNTRACKED_OBJECT_ID)])
              for n in range(2)]
    out = tmp_path / "out"
    run_pipeline_app(app, [str(work["video"]), RTSP], out, runner=lambda plan, on_frames: on_frames(frames))
    images = json.loads((out / "results.json").read_text())["images"]
    assert [o["track_id"] for f in images for o in f["objects"]] == [None, 7]
    assert images[0]["objects"][0]["bbox"] == [100.0, 50.0, 300.0, 150.0]  # 640x360 muxed at 1920x1080
    assert images[0]["objects"][0]["secondaries"] == {}
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["pan_000000.txt", "pan_000001.txt"]


@pytest.mark.skipif(importlib.util.find_spec("pyds") is not None, reason="pyds is installed here")
def test_without_deepstream_the_cli_says_what_to_install(work, tmp_path):  # noqa: F811
    result = run_cli("deepstream-app", _app(work, "ds_app"), "-o", tmp_path / "out")
    assert result.returncode == 2
    assert_clean_error(result, "GStreamer's Python bindings" if importlib.util.find_spec("gi") is None else "pyds")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(importlib.util.find_spec("pyds") is None, reason="pyds (DeepStream's Python bindings) is not installed")
def test_pyds_has_every_field_read_batch_reads():
    import pyds

    fields = {pyds.NvDsFrameMeta: ("pad_index", "frame_num", "source_frame_width", "source_frame_height", "obj_meta_list"),
              pyds.NvDsObjectMeta: ("class_id", "confidence", "rect_params", "object_id", "classifier_meta_list"),
              pyds.NvDsClassifierMeta: ("unique_component_id", "label_info_list"),
              pyds.NvDsLabelInfo: ("result_class_id", "result_prob", "result_label")}
    missing = [f"{cls.__name__}.{name}" for cls, names in fields.items() for name in names if not hasattr(cls, name)]
    assert missing == []


def _deepstream_gst():
    if importlib.util.find_spec("gi") is None:
        return None
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    return Gst if Gst.ElementFactory.find("nvinfer") is not None else None


@pytest.mark.skipif(_deepstream_gst() is None, reason="GStreamer with DeepStream's plugins (nvinfer) is not here")
def test_every_planned_property_exists_on_its_element(work):  # noqa: F811
    Gst = _deepstream_gst()
    plan = plan_app(_app(work, "ds_app"))
    unknown = []
    for spec in plan.elements:
        element = Gst.ElementFactory.make(spec.factory, None)
        unknown += [f"{spec.factory}.{key}" for key in spec.properties if element.find_property(key) is None]
    assert unknown == []
