"""Messages that say what happened, with the user's own option names and files (hardening item 14)."""

from __future__ import annotations

import functools
import http.server
import json
import struct
import threading
import zlib

import cv2
import numpy as np
import pytest

from cli_support import run_cli
from taostream.cli import main
from taostream.converter.registry import get_network
from taostream.converter.samples.write import make_sample_model
from taostream.converter.tao_spec import load_spec

SPECS = "specs"


@pytest.fixture(scope="module")
def ssd(tmp_path_factory):
    """A synthetic SSD sample (model.etlt, spec.txt, cal.bin), its plain ONNX and a bundle of it."""
    root = tmp_path_factory.mktemp("ssd")
    assert main(["sample", "--network", "ssd", "-o", str(root / "sample")]) == 0
    (root / "ssd.onnx").write_bytes(make_sample_model(get_network("ssd")).SerializeToString())
    assert main(["bundle", str(root / "sample" / "model.etlt"), "--network", "ssd", "--spec",
                 str(root / "sample" / "spec.txt"), "--key", "nvidia_tlt", "-o", str(root / "bundle")]) == 0
    cv2.imwrite(str(root / "photo.jpg"), np.full((120, 160, 3), 90, np.uint8))
    return root


def test_convert_quotes_its_own_options_and_tao_converter_its_own(ssd, tmp_path, capsys):
    from taostream.converter.cli.tao_converter import main as tao_converter

    engine = str(tmp_path / "m.engine")
    assert main(["convert", str(ssd / "ssd.onnx"), "-o", engine, "--dry-run", "--trt-version", "10.3",
                 "--input-dims", "3,300"]) == 2
    err = capsys.readouterr().err
    assert "(--input-dims) have 2 values; --input-order nchw needs 3" in err and "(-d)" not in err
    assert main(["convert", str(ssd / "ssd.onnx"), "-o", engine, "--dry-run", "--trt-version", "10.3",
                 "--precision", "int4"]) == 2
    assert "'int4' (--precision)" in capsys.readouterr().err
    assert tao_converter(["-d", "3,300", "-e", engine, "--dry-run", "--trt-version", "10.3", str(ssd / "ssd.onnx")]) == 2
    assert "(-d) have 2 values; -i nchw needs 3" in capsys.readouterr().err


def test_convert_plan_names_the_version_source_without_doubled_parentheses(ssd, tmp_path, capsys):
    from taostream.converter.engine.build import installed_trt_version

    if installed_trt_version():
        pytest.skip("TensorRT is installed: the version is not the default one")
    assert main(["convert", str(ssd / "ssd.onnx"), "-o", str(tmp_path / "m.engine"), "--dry-run"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "TensorRT version: 11.0.0 (the default: TensorRT is not installed; pass --trt-version to choose)"


def test_check_says_relative_to_the_config_only_for_relative_paths(fixtures_dir, tmp_path, capsys):
    text = (fixtures_dir / "configs" / "pgie_ssd_tlt_config.txt").read_text(encoding="utf-8")
    relative = "labelfile-path=./nvdsinfer_customparser_ssd_tlt/ssd_labels.txt"
    absolute = tmp_path / "absent" / "ssd_labels.txt"
    lines = {}
    for name, line in (("relative", relative), ("absolute", f"labelfile-path={absolute}")):
        config = tmp_path / f"{name}.txt"
        config.write_text(text.replace(relative, line), encoding="utf-8")
        assert main(["check", str(config)]) == 1
        lines[name] = next(out for out in capsys.readouterr().out.splitlines() if "labelfile-path" in out)
    assert f"file not found: {absolute}; fix the path" in lines["absolute"]
    assert f"(relative to the config's folder {tmp_path})" in lines["relative"]


def test_calibration_cache_errors_name_the_file(fixtures_dir, ssd, tmp_path, capsys):
    other = fixtures_dir / "calibration" / "lpd_ccpd_cal.bin"  # a real cache of another network
    assert main(["modernize", str(ssd / "ssd.onnx"), "-o", str(tmp_path / "q.onnx"), "--calibration-cache", str(other)]) == 2
    assert f"calibration cache {other} (38 tensors, e.g. input_1" in capsys.readouterr().err
    header_only = tmp_path / "header only.bin"
    header_only.write_text("TRT-8601-EntropyCalibration2\n")
    assert main(["modernize", str(ssd / "ssd.onnx"), "-o", str(tmp_path / "q.onnx"), "--calibration-cache",
                 str(header_only)]) == 2
    assert f"calibration cache {header_only} holds no tensor scales" in capsys.readouterr().err
    assert not (tmp_path / "q.onnx").exists()


def test_grpc_against_an_http_port_says_the_protocol_may_be_wrong(ssd, tmp_path, capsys):
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # the refused HTTP/2 preface is not this test's output
            pass

    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"127.0.0.1:{server.server_address[1]}"
        code = main(["infer", str(ssd / "bundle"), str(ssd / "photo.jpg"), "-o", str(tmp_path / "out"),
                     "--backend", "triton", "--url", url, "--protocol", "grpc", "--no-progress"])
    finally:
        server.shutdown()
    err = capsys.readouterr().err
    assert code == 2 and "the protocol may be wrong" in err and "pass --protocol http" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_dataset_check_reports_a_malformed_label_file_once(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((64, 64, 3), np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("car 0 0\n")
    assert main(["dataset", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("labels/a.txt")] == [
        "labels/a.txt:1: error: 3 fields, KITTI needs 15 (class, truncation, occlusion, alpha, 4 box, "
        "3 dimensions, 3 location, rotation_y)"]


def test_bundle_verbose_logs_the_plan(ssd, tmp_path):
    result = run_cli("-v", "bundle", ssd / "sample" / "model.etlt", "--network", "ssd", "--spec",
                     ssd / "sample" / "spec.txt", "--key", "nvidia_tlt", "--precision", "int8",
                     "--calibration-cache", ssd / "sample" / "cal.bin", "-o", tmp_path / "b")
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "taostream: network ssd from model.etlt" in err and "input Input 3x300x300 NCHW" in err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert {t["model"] for t in manifest["targets"]} == {"model.onnx", "model_trt10.onnx"}  # both routes
    for target in manifest["targets"]:
        assert f"route {target['name']}: {target['model']}, int8 ({target['why']})" in err
    for entry in manifest["files"]:
        assert f"wrote {tmp_path / 'b' / entry['path']} ({entry['size']} bytes)" in err


def _png_with_iccp(path):
    ok, encoded = cv2.imencode(".png", np.full((20, 30, 3), 100, np.uint8))
    data = encoded.tobytes()
    profile = zlib.compress(b"\x00\x00\x00\xc8" + bytes(196))  # a profile libpng complains about

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    path.write_bytes(data[:33] + chunk(b"iCCP", b"ICC Profile\x00\x00" + profile) + data[33:])


def test_png_colour_profiles_do_not_print_libpng_warnings(tmp_path, capfd):
    from taostream.converter.model.preprocess import load_bgr

    image = tmp_path / "profile.png"
    _png_with_iccp(image)
    reference = cv2.imread(str(image))
    assert "libpng warning: iCCP" in capfd.readouterr().err  # what OpenCV alone prints
    loaded = load_bgr(image)
    assert np.array_equal(loaded, reference)
    assert "libpng" not in capfd.readouterr().err


def test_tao_container_style_exits_with_the_tools_code(tmp_path, monkeypatch, capsys):
    tool = tmp_path / "detectnet_v2"
    tool.write_text("#!/bin/sh\necho failing\nexit 3\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["tao", "train", "--network", "detectnet_v2", "--style", "container", "-e", "/w/spec.txt",
                 "-r", "/w/out", "--key", "k"]) == 3
    assert "exited with code 3" in capsys.readouterr().err


def test_infer_on_a_classifier_says_what_it_wrote(tmp_path, capsys):
    sample = tmp_path / "cls"
    assert main(["sample", "--network", "classification", "-o", str(sample)]) == 0
    assert main(["bundle", str(sample / "model.etlt"), "--network", "classification", "--spec", str(sample / "spec.txt"),
                 "--classmap", str(sample / "classmap.json"), "--key", "nvidia_tlt", "-o", str(tmp_path / "b")]) == 0
    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((64, 64, 3), 128, np.uint8))
    capsys.readouterr()
    assert main(["infer", str(tmp_path / "b"), str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "detections" not in out and "of 1 classified above the threshold" in out, out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    classified = sum(1 for image in results["images"] if image.get("classification"))
    assert f"{classified} of 1 classified" in out


def test_classification_labels_one_rule_for_labels_and_bundle(tmp_path, capsys):
    sample = tmp_path / "cls"
    assert main(["sample", "--network", "classification", "-o", str(sample)]) == 0
    spec = str(sample / "spec.txt")
    capsys.readouterr()
    assert main(["labels", spec, "--network", "classification"]) == 2
    assert "--classmap, or give the model (--model)" in capsys.readouterr().err
    assert main(["labels", spec, "--network", "classification", "--model", str(sample / "model.etlt"),
                 "--key", "nvidia_tlt"]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("class_0;class_1") and "classmap.json not available" in printed.err
    assert main(["labels", spec, "--network", "classification", "--classmap", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no such file; check the path given to --classmap" in capsys.readouterr().err
    assert main(["bundle", str(sample / "model.etlt"), "--network", "classification", "--spec", spec, "--key",
                 "nvidia_tlt", "--classmap", str(tmp_path / "nope.json"), "-o", str(tmp_path / "b")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_spec_set_refuses_a_misspelt_field_naming_the_file_and_the_right_one(fixtures_dir, tmp_path, capsys):
    """A misspelt field only warned and was written: TAO's trainer then rejects the spec (or, in a
    map, ignores the entry). It is an error naming the spec file, the field and TAO's closest field,
    and nothing is written; --allow-new-field writes it with a warning."""
    spec = fixtures_dir / SPECS / "tao_detectnet_v2_default_spec.txt"
    out = tmp_path / "spec.txt"
    assert main(["spec", "set", str(spec), "training_config.num_epoch", "5", "-o", str(out)]) == 2
    printed = capsys.readouterr()
    assert printed.err == (f"taostream: error: {spec}: 'training_config.num_epoch' is not a field of TAO's "
                           "detectnet_v2 spec; did you mean training_config.num_epochs? (--allow-new-field adds it "
                           "anyway)\n")
    assert printed.out == "" and not out.exists()
    assert main(["spec", "set", str(spec), "training_config.num_epoch", "5", "-o", str(out), "--allow-new-field"]) == 0
    printed = capsys.readouterr()
    assert printed.err == (f"taostream: warning: {spec}: 'training_config.num_epoch' is not a field of TAO's "
                           "detectnet_v2 spec; added as a new field (--allow-new-field)\n")
    assert printed.out == f"{out}: training_config.num_epoch = 5\n"
    assert main(["spec", "set", str(spec), "training_config.num_epochs", "7", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.err == "" and printed.out == f"{out}: training_config.num_epochs = 7\n"


def test_spec_set_judges_nested_and_map_fields_against_the_networks_spec(fixtures_dir, tmp_path, capsys):
    """Fields TAO's spec has but the file lacks are set silently, at any depth and through map
    entries; a typo deep in a block or in a block's own name is refused with TAO's spelling."""
    specs = fixtures_dir / SPECS
    out = tmp_path / "spec.txt"
    ssd = str(specs / "tao_ssd_default_spec.txt")
    dnv2 = str(specs / "tao_detectnet_v2_default_spec.txt")
    fine = [(ssd, "training_config.visualizer.enabled", "true"),  # visualizer is not in the file
            (ssd, "dataset_config.target_class_mapping[key=bus].value", "car"),
            (dnv2, "postprocessing_config.target_class_config[key=car].value.clustering_config.dbscan_eps", "0.3"),
            (str(specs / "tao_mask_rcnn_default.txt"), "maskrcnn_config.mrcnn_resolution", "28"),
            (str(specs / "facemask_detectnet_v2_inference_kitti_etlt.txt"), "inferencer_config.batch_size", "4")]
    for spec, path, value in fine:
        assert main(["spec", "set", spec, path, value, "-o", str(out)]) == 0, path
        printed = capsys.readouterr()
        assert printed.err == "" and load_spec(out).has(path), (path, printed.err)
    wrong = [(ssd, "nms_config.top_kk", "nms_config.top_k", "ssd/dssd"),
             (ssd, "trainig_config.batch_size_per_gpu", "training_config.batch_size_per_gpu", "ssd/dssd"),
             (dnv2, "postprocessing_config.target_class_config[key=car].value.clustering_config.dbscan_ep",
              "postprocessing_config.target_class_config[key=car].value.clustering_config.dbscan_eps", "detectnet_v2"),
             (str(specs / "tao_yolo_v4_yolo_v4_tiny_kitti.txt"), "yolov4_config.big_anchor_shapes",
              "yolov4_config.big_anchor_shape", "yolo_v4/yolo_v4_tiny"),
             (ssd, "dssd_config.frobnicate", None, "ssd/dssd")]
    refused = tmp_path / "refused.txt"
    for spec, path, right, kind in wrong:
        assert main(["spec", "set", spec, path, "1", "-o", str(refused)]) == 2, path
        err = capsys.readouterr().err
        hint = f"; did you mean {right}?" if right else ""
        assert err == (f"taostream: error: {spec}: '{path}' is not a field of TAO's {kind} spec{hint} "
                       "(--allow-new-field adds it anyway)\n"), err
        assert not refused.exists()


def test_spec_set_only_warns_where_taostream_cannot_know_the_fields(fixtures_dir, tmp_path, capsys):
    """TAO's UNet spec fixture is an older one (data_source at the top, not in TAO 5's UNet
    definition): taostream cannot tell a typo there, so it adds the field and says why."""
    spec = fixtures_dir / SPECS / "tao_unet_default_spec.txt"
    out = tmp_path / "spec.txt"
    assert main(["spec", "set", str(spec), "training_config.epochs", "4", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.err == (
        f"taostream: warning: {spec}: 'training_config.epochs' is not in the spec, so it is added as a new "
        "field (its top-level fields (data_source, dataset_config, model_config, random_seed, training_config) are "
        "not those of any TAO TF1 spec taostream knows, so it cannot tell a new field from a misspelt one)\n")
    assert load_spec(out).get("training_config.epochs") == 4


def test_the_tao_field_table_holds_every_field_of_the_real_specs(fixtures_dir):
    """Each real spec's every field, removed from the file, is still known from TAO's definition
    (the table is not missing what TAO's own specs use). The exceptions are the older UNet spec
    (judged by nobody) and the TLT 2.0 facemask inference specs' per-class confidence_threshold,
    which TAO's inference definition no longer has (setting it where the file has it is fine)."""
    from taostream.converter.tao_spec import SpecMessage
    from taostream.training.spec_fields import judge_field

    def leaf_paths(message, prefix=""):
        for name in message.keys():
            value = message.get(name)
            path = f"{prefix}{name}"
            if isinstance(value, SpecMessage) and len(value):
                yield from leaf_paths(value, path + "[0].")
            else:
                yield path

    checked, missing = 0, set()
    for spec_file in sorted((fixtures_dir / SPECS).glob("*.txt")):
        if spec_file.name == "tao_unet_default_spec.txt":
            continue
        for path in leaf_paths(load_spec(spec_file)):
            spec = load_spec(spec_file)
            spec.remove(path)
            if judge_field(spec, path).known is not True:
                missing.add((spec_file.name, path))
            checked += 1
    old_field = "bbox_handler_config[0].classwise_bbox_handler_config[0].value[0].confidence_threshold"
    assert missing == {(f"facemask_detectnet_v2_inference_kitti_{kind}.txt", old_field) for kind in ("etlt", "tlt")}
    assert checked > 400


def test_ctrl_c_while_the_commands_are_still_loading_is_one_line(fixtures_dir):
    """Ctrl-C in the first second (the command modules import numpy, onnx, ...) printed a 40-line
    KeyboardInterrupt traceback: it is 'taostream: interrupted', exit 130, like Ctrl-C later on.

    The child gets SIGINT's default disposition, as a terminal gives it: CI starts the test run as a
    background job, with SIGINT ignored, and Python keeps it ignored (the stop-22 CI failure). The
    signal goes at fractions of a measured uninterrupted run, so a slow or fast machine both hit
    the loading window."""
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "taostream", "labels",
               str(fixtures_dir / "specs" / "tao_ssd_default_spec.txt"), "--network", "ssd"]

    def start() -> subprocess.Popen:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    began = time.monotonic()
    assert start().wait(timeout=120) == 0
    whole_run = time.monotonic() - began
    interrupted = 0
    for fraction in (0.5, 0.65, 0.8, 0.4, 0.9):
        process = start()
        time.sleep(whole_run * fraction)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert "Traceback" not in err, err
        if process.returncode == 130:
            assert err.strip() == "taostream: interrupted", err
            interrupted += 1
            if interrupted == 2:
                break
    assert interrupted, "no run was interrupted inside taostream: the test proves nothing"


def test_counts_of_one_are_singular_in_dataset_check_and_infer(ssd, tmp_path, capsys):
    """"1 images, 1 label files, 1 objects" and "1 errors, 0 warnings" in `dataset check`; "1 images,
    ... 1 detections" in `infer`: a count of one takes the singular."""
    data = tmp_path / "kitti"
    (data / "images").mkdir(parents=True)
    (data / "labels").mkdir()
    ok, jpeg = cv2.imencode(".jpg", np.full((272, 480, 3), 90, np.uint8))
    (data / "images" / "000001.jpg").write_bytes(jpeg.tobytes())
    (data / "labels" / "000001.txt").write_text("car 0.00 0 0.00 10 20 110 120 0 0 0 0 0 0 0\n"
                                               "car 0.00 0 0.00 10 20 nan 120 0 0 0 0 0 0 0\n")
    assert main(["dataset", "check", str(data)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{data}: 1 image, 1 label file, 1 object" and out[-1] == "1 error, 0 warnings", out
    assert main(["infer", str(ssd / "bundle"), str(ssd / "photo.jpg"), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {tmp_path / 'out'}: 1 image, 0 video frames, "), printed


def test_num_detected_classes_advice_keeps_the_models_count_when_labels_has_an_extra_line(tmp_path):
    """labels.txt with one line too many: num-detected-classes matches the model, so the advice is to
    delete the extra line, not to set num-detected-classes to the label file's count."""
    sample, bundle = tmp_path / "sample", tmp_path / "bundle"
    assert main(["sample", "--network", "yolo_v4", "-o", str(sample)]) == 0
    assert main(["bundle", str(sample / "model.etlt"), "--network", "yolo_v4", "--spec", str(sample / "spec.txt"),
                 "--key", "nvidia_tlt", "-o", str(bundle)]) == 0
    labels = bundle / "labels.txt"
    labels.write_text(labels.read_text() + "truck\n")
    result = run_cli("check", bundle)
    config = bundle / "deepstream" / "config_infer_primary.txt"
    assert result.returncode == 1
    assert (f"{config}:18: error: [property] num-detected-classes: is 4 but ../labels.txt has 5 lines; 4 is what "
            "model.onnx outputs, so keep it and delete the 1 extra line in the label file (one class per line, model "
            "id order)") in result.stdout.splitlines(), result.stdout
    assert "set num-detected-classes=5" not in result.stdout


def test_a_classmap_with_a_shared_or_missing_index_names_the_classes(fixtures_dir, tmp_path, capsys):
    """The classmap error said only "class indices must run 0..2 without gaps"; it names the two classes
    that share an index, or the class past the gap."""
    spec = str(fixtures_dir / SPECS / "tao_makenet_default_spec.txt")
    shared, gap = tmp_path / "shared.json", tmp_path / "gap.json"
    shared.write_text(json.dumps({"cat": 0, "dog": 0, "bird": 1}))
    gap.write_text(json.dumps({"cat": 0, "dog": 2}))
    assert main(["labels", spec, "--network", "classification", "--classmap", str(shared)]) == 2
    assert capsys.readouterr().err == (
        f"taostream: error: {shared}: classes 'cat' and 'dog' both have index 0; indices must run 0..2, one per class: "
        "use the classmap.json `tao classification train` wrote\n")
    assert main(["labels", spec, "--network", "classification", "--classmap", str(gap)]) == 2
    assert capsys.readouterr().err == (
        f"taostream: error: {gap}: 'dog' has index 2 but no class has index 1; indices must run 0..1, one per class: "
        "use the classmap.json `tao classification train` wrote\n")


def test_mask_rcnn_labels_without_the_background_line_say_to_put_bg_first(fixtures_dir, tmp_path, capsys):
    """MaskRCNN's num_classes counts the background (TAO's default spec: num_classes 91 for COCO's 90
    category ids, labels BG first): labels.txt without the BG line is told to put BG first, not to
    change a class count."""
    assert load_spec(fixtures_dir / SPECS / "tao_mask_rcnn_default.txt").get("data_config.num_classes") == 91
    sample, bundle = tmp_path / "sample", tmp_path / "bundle"
    assert main(["sample", "--network", "mask_rcnn", "-o", str(sample)]) == 0
    categories = (sample / "labels.txt").read_text().splitlines()[1:]  # the sample's labels.txt starts with BG
    no_bg = tmp_path / "labels.txt"
    no_bg.write_text("".join(f"{name}\n" for name in categories))
    fix = (f"the model keeps class id 0 for the background, and its count of {len(categories) + 1} includes it "
           "(TAO's MaskRCNN num_classes is the categories + 1), so line 1 of labels.txt names it: put 'BG' (MaskRCNN) "
           f"or 'background' (SSD, DSSD, RetinaNet) first, then the {len(categories)} classes")
    assert main(["bundle", str(sample / "model.etlt"), "--network", "mask_rcnn", "--labels", str(no_bg), "--key",
                 "nvidia_tlt", "-o", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"; {fix}\n") and "labels.txt needs" not in err, err
    assert main(["bundle", str(sample / "model.etlt"), "--network", "mask_rcnn", "--spec", str(sample / "spec.txt"),
                 "--key", "nvidia_tlt", "-o", str(bundle)]) == 0
    (bundle / "labels.txt").write_text(no_bg.read_text())
    result = run_cli("check", bundle)
    config = bundle / "deepstream" / "config_infer_primary.txt"
    lines = result.stdout.splitlines()
    assert (f"{config}:10: error: [property] labelfile-path: ../labels.txt has {len(categories)} classes but "
            f"model.onnx outputs {len(categories) + 1} (its GenerateDetection_TRT node 'generate_detections' has "
            f"num_classes={len(categories) + 1}); {fix}") in lines, result.stdout
    assert (f"{config}:18: error: [property] num-detected-classes: is {len(categories) + 1} but ../labels.txt has "
            f"{len(categories)} lines; {len(categories) + 1} is what model.onnx outputs, so keep it and add the "
            "background line first in the label file (one class per line, model id order)") in lines, result.stdout
