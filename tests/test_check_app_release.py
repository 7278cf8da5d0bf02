"""`taostream check` on deepstream-app [sourceN] / [sinkN] groups per DeepStream release: the keys and
types each release's deepstream-app reads (NVIDIA's deepstream_config_file_parser.c, deepstream_sinks.h
and deepstream_sources.h of 5.0-6.3; the 7.0-9.x API reference enums: config_schema.APP_KEYS_SINCE)."""

from __future__ import annotations

import pytest

from taostream.deepstream_configs.check.run import check_configs
from test_check_precision import _config

APP = """[application]
enable-perf-measurement=1

[source0]
enable=1
type=4
uri=rtsp://camera.local/stream
{source}

[streammux]
batch-size=1
width=1280
height=720

[primary-gie]
enable=1
batch-size=1
config-file=config_infer_primary.txt

[sink0]
enable=1
{sink}
"""


def _check(tmp_path, version: str, source: str = "", sink: str = "type=1"):
    _config(tmp_path, b"mask\nno-mask\n")
    app = tmp_path / "deepstream_app.txt"
    app.write_text(APP.format(source=source, sink=sink))
    return check_configs([app], deepstream=version)


SMART_RECORD = """smart-record=1
smart-rec-dir-path={folder}
smart-rec-file-prefix=cam1
smart-rec-cache=20
smart-rec-container=0
smart-rec-default-duration=10
rtsp-reconnect-attempts=-1"""

MESSAGE_BROKER = """type=6
msg-conv-config=msgconv_config.txt
msg-conv-payload-type=0
msg-conv-msg2p-new-api=1
msg-conv-frame-interval=30
msg-broker-proto-lib=/opt/nvidia/deepstream/deepstream/lib/libnvds_kafka_proto.so
msg-broker-conn-str=localhost;9092
topic=detections
disable-msgconv=0
new-api=0"""


@pytest.mark.parametrize("version", ["6.0", "6.2", "7.1", "9.0"])
def test_smart_record_and_message_broker_keys_are_deepstream_app_keys(tmp_path, version):
    # They were "unknown key" errors before: deepstream-app's parse_source / parse_sink read them.
    report = _check(tmp_path, version, SMART_RECORD.format(folder=tmp_path), MESSAGE_BROKER)
    assert report.findings == [], [str(f) for f in report.findings]


def test_keys_a_release_does_not_read_yet(tmp_path):
    report = _check(tmp_path, "6.0", "udp-buffer-size=524288\nlow-latency-decode=1",
                    "type=4\nrtsp-port=8554\ncopy-meta=1\nsw-preset=1")
    assert sorted(f.key for f in report.errors) == ["copy-meta", "low-latency-decode", "sw-preset", "udp-buffer-size"]
    assert all("not read by DeepStream 6.0's deepstream-app" in f.message for f in report.errors)
    assert [f.key for f in _check(tmp_path, "6.1", "udp-buffer-size=524288\nlow-latency-decode=1").errors] == [
        "low-latency-decode"]
    assert _check(tmp_path, "6.2", sink="type=3\noutput-file=out.mp4\nsw-preset=1").errors[0].key == "sw-preset"
    assert "added in 6.3" in _check(tmp_path, "6.2", sink="type=3\noutput-file=out.mp4\nsw-preset=1").errors[0].message
    assert _check(tmp_path, "6.3", sink="type=3\noutput-file=out.mp4\nsw-preset=1").errors == []
    assert _check(tmp_path, "9.0", "udp-buffer-size=524288\nlow-latency-decode=1",
                  "type=4\nrtsp-port=8554\ncopy-meta=1\nsw-preset=1").findings == []


def test_overlay_sink_keys_went_with_the_overlay_sink_in_6_1(tmp_path):
    overlay = "type=5\noverlay-id=1\noffset-x=0\noffset-y=0\ndisplay-id=0"
    assert _check(tmp_path, "6.0", sink=overlay).findings == []
    report = _check(tmp_path, "6.2", sink=overlay)
    assert sorted(f.key for f in report.errors) == ["display-id", "offset-x", "offset-y", "overlay-id"]
    assert all("dropped in 6.1" in f.message and "nvdrmvideosink" in f.message for f in report.errors)
    assert _check(tmp_path, "6.2", sink="type=5\nconn-id=0\nplane-id=0\nset-mode=1").findings == []
    assert [f.key for f in _check(tmp_path, "6.0", sink="type=5\nconn-id=0").errors] == ["conn-id"]


@pytest.mark.parametrize("version", ["6.0", "6.3", "9.0"])
def test_the_legacy_smart_record_cache_name_is_a_warning(tmp_path, version):
    report = _check(tmp_path, version, "smart-record=1\nsmart-rec-video-cache=20")
    assert report.errors == [] and [f.key for f in report.warnings] == ["smart-rec-video-cache"]
    assert "rename it to smart-rec-cache" in report.warnings[0].message


@pytest.mark.parametrize("version,sink_type,ok", [
    ("6.0", 7, False), ("6.1", 7, True), ("6.1.1", 7, True), ("6.2", 7, False), ("9.0", 7, False),
    ("6.0", 6, True), ("9.0", 6, True),
])
def test_sink_types_per_release(tmp_path, version, sink_type, ok):
    sink = f"type={sink_type}" + ("\nmsg-broker-proto-lib=/opt/x.so\nmsg-broker-conn-str=h;1" if sink_type == 6 else "")
    errors = _check(tmp_path, version, sink=sink).errors
    assert (errors == []) == ok, [str(f) for f in errors]
    if not ok:
        assert errors[0].key == "type" and f"no sink type of DeepStream {version[:3]}" in errors[0].message
        assert "6 message broker" in errors[0].message


@pytest.mark.parametrize("version,source_type,ok", [
    ("6.0", 6, True), ("6.0", 9, False), ("6.3", 9, False), ("8.0", 9, True), ("9.0", 8, True), ("9.0", 10, False),
])
def test_source_types_per_release(tmp_path, version, source_type, ok):
    report = _check(tmp_path, version, f"alsa-device=hw:0\ntype={source_type}" if source_type == 8 else f"type={source_type}")
    errors = [f for f in report.errors if f.key == "type"]
    assert (errors == []) == ok, [str(f) for f in report.errors]


def test_a_smart_record_folder_that_is_not_there_stops_deepstream_app(tmp_path):
    report = _check(tmp_path, "9.0", f"smart-record=1\nsmart-rec-dir-path={tmp_path / 'recordings'}")
    assert [f.key for f in report.errors] == ["smart-rec-dir-path"]
    assert "refuses the config" in report.errors[0].message
    (tmp_path / "recordings").mkdir()
    assert _check(tmp_path, "9.0", f"smart-record=1\nsmart-rec-dir-path={tmp_path / 'recordings'}").findings == []
