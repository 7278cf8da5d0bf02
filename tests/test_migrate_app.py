"""`taostream migrate` on a deepstream-app config as a DeepStream 5.0 user has it: a TLT SSD primary
(NVIDIA's pgie_ssd_tlt_config.txt), a TLT classifier as secondary GIE, the KLT tracker, two sources
(one in the versioned DeepStream 5.0 install, one relative to the config) and two sinks."""

from __future__ import annotations

import json

import pytest

from migrate_support import bundle_files_text, config_tree, infer_results
from taostream.cli import main
from taostream.converter.samples.write import SAMPLE_KEY, write_sample
from taostream.deepstream_configs.ini import read_ini
from test_infer_support import noise_images, write_images

APP_CONFIG = """\
[application]
enable-perf-measurement=1
perf-measurement-interval-sec=5
#gie-kitti-output-dir=streamscl

[tiled-display]
enable=1
rows=1
columns=2
width=1280
height=720
gpu-id=0
nvbuf-memory-type=0

[source0]
enable=1
#Type - 1=CameraV4L2 2=URI 3=MultiURI
type=3
uri=file:///opt/nvidia/deepstream/deepstream-5.0/samples/streams/sample_1080p_h264.mp4
num-sources=1
gpu-id=0
cudadec-memtype=0

[source1]
enable=1
type=3
uri=file://../streams/parking_lot.mp4
num-sources=1
gpu-id=0
cudadec-memtype=0

[sink0]
enable=1
#Type - 1=FakeSink 2=EglSink 3=File
type=1
sync=0
source-id=0
gpu-id=0
nvbuf-memory-type=0

[sink1]
enable=1
type=3
container=1
codec=1
sync=0
bitrate=2000000
output-file=out.mp4
source-id=0

[osd]
enable=1
gpu-id=0
border-width=1
text-size=15
text-color=1;1;1;1;
text-bg-color=0.3;0.3;0.3;1
font=Serif
show-clock=0
clock-x-offset=800
clock-y-offset=820
clock-text-size=12
clock-color=1;0;0;0
nvbuf-memory-type=0

[streammux]
gpu-id=0
live-source=0
batch-size=2
batched-push-timeout=40000
width=1920
height=1080
enable-padding=0
nvbuf-memory-type=0

[primary-gie]
enable=1
gpu-id=0
model-engine-file=./models/ssd/ssd_resnet18.etlt_b2_gpu0_fp16.engine
batch-size=2
bbox-border-color0=1;0;0;1
bbox-border-color1=0;1;1;1
bbox-border-color2=0;0;1;1
bbox-border-color3=0;1;0;1
interval=0
gie-unique-id=1
nvbuf-memory-type=0
config-file=pgie_ssd_tlt_config.txt

[tracker]
enable=1
tracker-width=640
tracker-height=384
ll-lib-file=/opt/nvidia/deepstream/deepstream-5.0/lib/libnvds_mot_klt.so
#ll-config-file required for DCF/IOU only
#ll-config-file=tracker_config.yml
gpu-id=0
enable-batch-process=1
display-tracking-id=1

[secondary-gie0]
enable=1
model-engine-file=./models/vehicletypes/resnet18.etlt_b16_gpu0_fp16.engine
gpu-id=0
batch-size=16
gie-unique-id=4
operate-on-gie-id=1
operate-on-class-ids=2;
config-file=sgie_vehicletypes_tlt_config.txt

[tests]
file-loop=0
"""

# A TLT classifier as DeepStream 5.0 secondary GIE (the layout of deepstream_tao_apps' classifier configs).
SECONDARY_CONFIG = """\
[property]
gpu-id=0
net-scale-factor=1.0
offsets=103.939;116.779;123.68
model-color-format=1
labelfile-path=./models/vehicletypes/labels.txt
tlt-encoded-model=./models/vehicletypes/resnet18_vehicletypenet.etlt
tlt-model-key=nvidia_tlt
uff-input-dims=3;224;224;0
uff-input-blob-name=input_1
output-blob-names=predictions/Softmax
batch-size=16
# 0=FP32, 1=INT8, 2=FP16 mode
network-mode=2
process-mode=2
is-classifier=1
gie-unique-id=4
operate-on-gie-id=1
operate-on-class-ids=2
classifier-async-mode=1
classifier-threshold=0.51
input-object-min-width=64
input-object-min-height=64
"""


@pytest.fixture(scope="module")
def app_tree(tmp_path_factory):
    """The old config tree, its migration and the samples the models came from."""
    root = tmp_path_factory.mktemp("migrate_app")
    ssd = write_sample("ssd", root / "sample_ssd")
    classifier = write_sample("classification", root / "sample_classification")
    tree = root / "deepstream_app_tlt"
    config_tree(tree, "pgie_ssd_tlt_config.txt", ssd.model, list(ssd.labels_list))
    (tree / "sgie_vehicletypes_tlt_config.txt").write_text(SECONDARY_CONFIG)
    classifier_dir = tree / "models" / "vehicletypes"
    classifier_dir.mkdir(parents=True)
    (classifier_dir / "resnet18_vehicletypenet.etlt").write_bytes(classifier.model.read_bytes())
    (classifier_dir / "labels.txt").write_text(";".join(classifier.labels_list) + "\n")  # DeepStream's classifier format
    (tree / "deepstream_app_source2_ssd.txt").write_text(APP_CONFIG)
    streams = root / "streams"
    streams.mkdir()
    (streams / "parking_lot.mp4").write_bytes(b"\0" * 16)
    out = root / "migrated"
    assert main(["migrate", str(tree / "deepstream_app_source2_ssd.txt"), "-o", str(out)]) == 0
    return {"root": root, "tree": tree, "out": out, "ssd": ssd, "classifier": classifier}


def test_app_config_migrates_and_passes_check(app_tree, capsys):
    out = app_tree["out"]
    assert sorted(p.name for p in out.iterdir()) == [
        "config_infer_primary_gie.txt", "config_infer_secondary_gie0.txt", "deepstream_app.txt", "migration.json",
        "primary_gie", "secondary_gie0"]
    capsys.readouterr()
    assert main(["check", str(out / "deepstream_app.txt"), "--deepstream", "9.0"]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    for bundle in ("primary_gie", "secondary_gie0"):
        assert main(["check", str(out / bundle), "--deepstream", "9.0"]) == 0
        assert b"nvidia_tlt" not in bundle_files_text(out / bundle)
    assert b"nvidia_tlt" not in (out / "migration.json").read_bytes() + (out / "deepstream_app.txt").read_bytes()


def test_check_takes_the_migrated_app_folder_itself(app_tree, tmp_path, capsys):
    """`taostream check OUT` on what `migrate` wrote for a deepstream-app config (was: "a folder without
    manifest.json or pipeline.json"): its app config and the configs it names, and each GIE bundle."""
    import shutil

    out = tmp_path / "migrated"
    shutil.copytree(app_tree["out"], out)
    capsys.readouterr()
    assert main(["check", str(out)]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    secondary = out / "config_infer_secondary_gie0.txt"
    secondary.write_text(secondary.read_text().replace("secondary_gie0/model.onnx", "secondary_gie0/model_fp16.onnx"))
    assert main(["check", str(out)]) == 1
    assert f"{secondary}:" in capsys.readouterr().out


def test_infer_on_the_migrated_app_folder_names_its_gie_bundles(app_tree, tmp_path, capsys):
    out = app_tree["out"]
    capsys.readouterr()
    assert main(["infer", str(out), str(tmp_path), "-o", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "migrated deepstream-app folder" in err, err
    assert f"{out / 'primary_gie'}, {out / 'secondary_gie0'}" in err
    assert not (tmp_path / "results").exists()


def test_sources_sinks_tracker_and_gies_are_carried_in_deepstream_9_keys(app_tree):
    out, tree = app_tree["out"], app_tree["tree"]
    app = read_ini(out / "deepstream_app.txt")
    assert app.group("source0").get("uri") == "file:///opt/nvidia/deepstream/deepstream/samples/streams/sample_1080p_h264.mp4"
    assert app.group("source1").get("uri") == f"file://{(tree.parent / 'streams' / 'parking_lot.mp4').resolve()}"
    assert app.group("streammux").get("batch-size") == "2" and app.group("sink1").get("output-file") == "out.mp4"
    tracker = app.group("tracker")
    assert tracker.get("ll-lib-file") == "/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so"
    assert tracker.get("ll-config-file").endswith("/config_tracker_NvDCF_perf.yml")
    assert tracker.get("enable-batch-process") is None and tracker.get("tracker-width") == "640"
    primary, secondary = app.group("primary-gie"), app.group("secondary-gie0")
    assert primary.get("config-file") == "config_infer_primary_gie.txt" and primary.get("model-engine-file") is None
    assert primary.get("bbox-border-color2") == "0;0;1;1"
    assert (secondary.get("gie-unique-id"), secondary.get("operate-on-gie-id"), secondary.get("operate-on-class-ids")) \
        == ("4", "1", "2;")
    sgie = read_ini(out / "config_infer_secondary_gie0.txt").group("property")
    assert (sgie.get("process-mode"), sgie.get("gie-unique-id"), sgie.get("operate-on-gie-id")) == ("2", "4", "1")
    assert sgie.get("operate-on-class-ids") == "2" and sgie.get("network-type") == "1"
    assert sgie.get("onnx-file") == "secondary_gie0/model.onnx"
    assert sgie.get("classifier-threshold") == "0.51" and sgie.get("input-object-min-width") == "64"
    assert sgie.get("batch-size") == "16" and sgie.get("classifier-async-mode") == "1"
    pgie = read_ini(out / "config_infer_primary_gie.txt").group("property")
    assert (pgie.get("process-mode"), pgie.get("gie-unique-id"), pgie.get("batch-size")) == ("1", "1", "2")
    assert pgie.get("custom-lib-path") == "primary_gie/lib/libnvds_infercustomparser_taostream.so"


def test_app_report_lists_changes_and_what_was_not_carried(app_tree, capsys):
    report = json.loads((app_tree["out"] / "migration.json").read_text())
    assert [(g["name"], g["network"], g["key"]) for g in report["gies"]] == [
        ("primary-gie", "ssd", "from the config's tlt-model-key"),
        ("secondary-gie0", "classification", "from the config's tlt-model-key")]
    app = report["app"]
    changes = {(c["group"], c["old"].split("=")[0]): c["new"] for c in app["changes"]}
    assert changes[("tracker", "ll-lib-file")] == "ll-lib-file=/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so"
    assert changes[("primary-gie", "config-file")] == "config-file=config_infer_primary_gie.txt"
    dropped = {(c["group"], c["old"].split("=")[0]) for c in app["not_carried"]}
    assert {("tracker", "enable-batch-process"), ("primary-gie", "model-engine-file"),
            ("secondary-gie0", "model-engine-file")} <= dropped
    secondary = report["gies"][1]
    assert any(c["old"] == "is-classifier=1" and c["new"] == "network-type=1" for c in secondary["changes"])
    # nothing changed for the GIE role the app gives it: no report entry claims so
    assert not any(c["old"].startswith(("process-mode=", "gie-unique-id=")) for c in secondary["changes"])


def test_migrated_gies_infer_like_direct_bundles(app_tree):
    root, out = app_tree["root"], app_tree["out"]
    images = write_images(root / "images", noise_images(2, seed=7))
    for bundle, sample, network in (("primary_gie", app_tree["ssd"], "ssd"),
                                    ("secondary_gie0", app_tree["classifier"], "classification")):
        direct = root / f"direct_{bundle}"
        args = ["bundle", str(sample.model), "--network", network, "--spec", str(sample.spec), "--key", SAMPLE_KEY,
                "-o", str(direct)]
        if network == "classification":
            args += ["--classmap", str(sample.extra["classmap.json"])]
        assert main(args) == 0
        got = infer_results(out / bundle, images, root / f"infer_m_{bundle}", 0.05)
        expected = infer_results(direct, images, root / f"infer_d_{bundle}", 0.05)
        assert got == expected and all(result and result[0] for result in expected)


def test_app_config_errors_are_one_line_and_write_nothing(app_tree, capsys, tmp_path):
    bad = app_tree["tree"] / "bad_app.txt"
    bad.write_text(APP_CONFIG.replace("config-file=sgie_vehicletypes_tlt_config.txt", "config-file=sgie_missing.txt"))
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["migrate", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "secondary-gie0" in err and "sgie_missing.txt" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_target_version_decides_what_the_tracker_keeps(app_tree, capsys):
    """DeepStream 6.2 still has nvtracker's enable-batch-process (6.3 removed it)."""
    out = app_tree["root"] / "migrated_62"
    assert main(["migrate", str(app_tree["tree"] / "deepstream_app_source2_ssd.txt"), "-o", str(out),
                 "--deepstream", "6.2"]) == 0
    assert read_ini(out / "deepstream_app.txt").group("tracker").get("enable-batch-process") == "1"
    capsys.readouterr()
    assert main(["check", str(out / "deepstream_app.txt"), "--deepstream", "6.2"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_overlay_sink_and_old_smart_record_names_follow_the_target_release(app_tree, tmp_path, capsys):
    """A DeepStream 5 Jetson config: the overlay sink's keys (gone from deepstream-app's parse_sink in 6.1)
    are dropped and smart-rec-video-cache becomes smart-rec-cache for 6.2; 6.0 keeps the overlay keys."""
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(app_tree["tree"], tree)
    shutil.copytree(app_tree["root"] / "streams", tmp_path / "streams")
    text = APP_CONFIG.replace("[tests]", "[sink2]\nenable=1\ntype=5\nsync=0\ndisplay-id=0\noverlay-id=1\n"
                                         "offset-x=0\noffset-y=0\n\n[tests]")
    text = text.replace("cudadec-memtype=0\n", "cudadec-memtype=0\nsmart-record=0\nsmart-rec-video-cache=20\n", 1)
    (tree / "deepstream_app_source2_ssd.txt").write_text(text)
    for version, overlay_kept in (("6.2", False), ("6.0", True)):
        out = tmp_path / f"migrated_{version}"
        assert main(["migrate", str(tree / "deepstream_app_source2_ssd.txt"), "-o", str(out), "--deepstream",
                     version]) == 0
        app = read_ini(out / "deepstream_app.txt")
        assert (app.group("sink2").get("overlay-id") is not None) == overlay_kept
        assert app.group("sink2").get("type") == "5"
        assert app.group("source0").get("smart-rec-cache") == "20" and app.group("source0").get("smart-rec-video-cache") is None
        capsys.readouterr()
        assert main(["check", str(out / "deepstream_app.txt"), "--deepstream", version]) == 0
        assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    report = json.loads((tmp_path / "migrated_6.2" / "migration.json").read_text())
    dropped = json.dumps(report)
    assert "overlay-id=1" in dropped and "dropped it with the overlay sink" in dropped


def test_check_reads_is_classifier_as_deepstream_5_did(app_tree):
    """The DeepStream 5 classifier config before migration (is-classifier=1, no network-type): nvinfer runs it
    as a classifier; check called it a detector without num-detected-classes and bbox parser (two errors)."""
    from taostream.deepstream_configs.check.run import check_configs

    report = check_configs([app_tree["tree"] / "sgie_vehicletypes_tlt_config.txt"], deepstream="6.0")
    assert report.errors == [], [str(f) for f in report.errors]
    assert [f.key for f in report.warnings] == ["uff-input-dims", "is-classifier"]
