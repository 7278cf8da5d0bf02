"""`taostream migrate` on NVIDIA's real DeepStream 5.0 nvinfer configs (deepstream_tao_apps, TLT 2.0):
each paired with a model of its network (the synthetic TAO sample, or the real DetectNet_v2 .etlt files,
since the original .etlt files are not public), the result (made for the default DeepStream) must pass
`taostream check` for DeepStream 9.0 and `infer` on it must give the boxes of a bundle made directly from the same model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import FIXTURES
from migrate_support import CONFIGS, DS5_CONFIGS, bundle_files_text, config_tree, infer_results, lower_bundle_thresholds
from taostream.cli import main
from taostream.converter.samples.write import SAMPLE_KEY, write_sample
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.versions import DEFAULT_DEEPSTREAM
from taostream.inference.bundle_info import load_bundle
from test_infer_support import noise_images, write_images

LPD_USA = FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt"  # key nvidia_tlt, as the config's
FACEMASK = FIXTURES / "models" / "facemask_detectnet_v2_resnet18.etlt"  # key tlt_encode
FACEMASK_SPEC = FIXTURES / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("migrate")


@pytest.fixture(scope="module")
def images(work):
    return write_images(work / "images", noise_images(2, seed=11, sizes=((360, 640), (544, 960))))


def _model_and_labels(work, network: str):
    """(model, labels, key to pass, training spec) for a config's network."""
    if network == "detectnet_v2":
        return FACEMASK, ["mask", "no-mask"], "tlt_encode", FACEMASK_SPEC
    sample = write_sample(network, work / f"sample_{network}", force=True)
    config_key = next(key for net, key in DS5_CONFIGS.values() if net == network)
    return sample.model, list(sample.labels_list), None if config_key == SAMPLE_KEY else SAMPLE_KEY, sample.spec


def _migrate(config, out, *extra) -> int:
    return main(["migrate", str(config), "-o", str(out), *extra])


def _check(target, capsys, deepstream="9.0") -> str:
    capsys.readouterr()
    code = main(["check", str(target), "--deepstream", deepstream])
    text = capsys.readouterr().out
    assert code == 0, text
    return text


@pytest.fixture(scope="module")
def migrated(work):
    """NVIDIA's config name -> (migrated bundle, model, labels, key given, the model's training spec)."""
    made = {}
    for name, (network, _) in DS5_CONFIGS.items():
        model, labels, key, spec = _model_and_labels(work, network)
        config = config_tree(work / f"tree_{network}", name, model, labels)
        out = work / f"migrated_{network}"
        assert _migrate(config, out, *(["--key", key] if key else [])) == 0
        made[name] = (out, model, labels, key, spec)
    return made


@pytest.mark.parametrize("name", sorted(DS5_CONFIGS))
def test_each_nvidia_ds5_config_migrates_and_passes_check(name, migrated, capsys):
    out, _, labels, _, _ = migrated[name]
    network, _ = DS5_CONFIGS[name]
    text = _check(out, capsys)
    assert "0 error(s)" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["network"] == network and manifest["deepstream"] == DEFAULT_DEEPSTREAM
    assert (out / "labels.txt").read_text().split() == labels
    prop = read_ini(out / "deepstream" / "config_infer_primary.txt").group("property")
    for gone in ("tlt-encoded-model", "tlt-model-key", "uff-input-dims", "uff-input-blob-name", "is-classifier"):
        assert prop.get(gone) is None
    assert prop.get("onnx-file") == "../model.onnx"
    assert prop.get("custom-lib-path") == "../lib/libnvds_infercustomparser_taostream.so"
    assert prop.get("network-mode") == "2"  # the configs' FP16
    assert prop.get("num-detected-classes") == str(len(labels))
    old = read_ini(CONFIGS / name).group("class-attrs-all").get("pre-cluster-threshold")
    assert load_bundle(out).threshold == float(old)  # the config's, in the CPU Triton model too


@pytest.mark.parametrize("name", sorted(DS5_CONFIGS))
def test_migrated_bundle_infers_like_a_direct_bundle(name, migrated, work, images):
    """`taostream bundle` of the same model (with its training spec): the same raw outputs on the same
    input, and `infer` gives the same boxes at the same threshold (the real face-mask model finds no
    face in noise: its raw coverage maps are what is compared there)."""
    out, model, labels, key, spec = migrated[name]
    network, config_key = DS5_CONFIGS[name]
    direct = work / f"direct_{network}"
    assert main(["bundle", str(model), "--network", network, "--spec", str(spec), "--key", key or config_key,
                 "-o", str(direct), "--force"]) == 0
    assert (direct / "labels.txt").read_text().split() == labels
    # Both bundles' thresholds lowered alike, enough for random weights to find something (the carried
    # thresholds are tested apart; `infer --threshold` is only a final filter and cannot lower them).
    threshold = 0.01 if network == "detectnet_v2" else 0.05
    lowered = []
    for kind, bundle_dir in (("m", out), ("d", direct)):  # copies: the migrated bundle is shared by other tests
        copy = work / f"lowered_{kind}_{network}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(bundle_dir, copy)
        lower_bundle_thresholds(copy, threshold)
        lowered.append(copy)
    got = infer_results(lowered[0], images, work / f"infer_m_{network}")
    expected = infer_results(lowered[1], images, work / f"infer_d_{network}")
    assert got == expected
    assert sum(map(len, expected)) > 0 or network == "detectnet_v2"
    migrated_outputs, direct_outputs = _raw_outputs(out, images[1]), _raw_outputs(direct, images[1])
    assert migrated_outputs.keys() == direct_outputs.keys()
    for name_, value in direct_outputs.items():
        np.testing.assert_array_equal(migrated_outputs[name_], value)


def _raw_outputs(bundle_dir, image) -> dict:
    """The bundle's CPU graph on the image, preprocessed as its nvinfer config says."""
    import onnxruntime

    from taostream.converter.model.preprocess import preprocess_image

    bundle = load_bundle(bundle_dir)
    tensor = preprocess_image(str(image), bundle.network, bundle.dims, **bundle.preprocessing.as_kwargs())
    session = onnxruntime.InferenceSession(str(bundle.onnx_for_cpu()), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {bundle.input_name: tensor[None]})))


def test_faster_rcnn_is_stretched_as_deepstream_5_and_tao_ran_it(migrated):
    """NVIDIA's FasterRCNN config sets no maintain-aspect-ratio (nvinfer's default 0: a plain resize, as TAO's
    own preprocess_images resize_all does for size_height_width); migrate added maintain-aspect-ratio=1,
    letterboxing every frame the model was trained to see stretched."""
    out, *_ = migrated["pgie_frcnn_tlt_config.txt"]
    prop = read_ini(out / "deepstream" / "config_infer_primary.txt").group("property")
    assert prop.get("maintain-aspect-ratio") == "0"
    assert "maintain_aspect_ratio: 0" in (out / "deepstream" / "config_infer_primary_nvinferserver.txt").read_text()
    assert load_bundle(out).network.maintain_aspect_ratio is False  # infer/serve resize the same way


def test_labels_with_the_background_where_the_model_has_none_are_refused(work, migrated, capsys):
    """SSD-style labels (background first) for NVIDIA's FasterRCNN config, whose model keeps the background as
    its LAST id: the count matches, so the names were shifted by one without a word (every car a bicycle)."""
    sample = write_sample("faster_rcnn", work / "sample_faster_rcnn", force=True)
    names = list(sample.labels_list)
    assert names[-1] == "background"
    shifted = ["background", *names[:-1]]
    config = config_tree(work / "tree_frcnn_bg_first", "pgie_frcnn_tlt_config.txt", sample.model, shifted)
    out = work / "frcnn_bg_first"
    capsys.readouterr()
    assert _migrate(config, out, "--key", SAMPLE_KEY) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and not out.exists(), err
    assert "line 1 names the background ('background') but the model keeps class id 4 for it" in err
    assert "put that line last" in err
    # hand-edited into a migrated bundle, check says the same
    bundle = work / "frcnn_bg_first_edit"
    shutil.rmtree(bundle, ignore_errors=True)
    shutil.copytree(migrated["pgie_frcnn_tlt_config.txt"][0], bundle)
    (bundle / "labels.txt").write_text("".join(f"{name}\n" for name in shifted))
    capsys.readouterr()
    assert main(["check", str(bundle / "deepstream" / "config_infer_primary.txt"), "--deepstream", "9.0"]) == 1
    assert "labelfile-path: ../labels.txt: line 1 names the background" in capsys.readouterr().out


def test_key_thresholds_and_preprocessing_come_from_the_old_config(work, capsys):
    """The real LPD model with NVIDIA's DetectNet_v2 config as it is: its tlt-model-key decodes it."""
    config = config_tree(work / "tree_lpd", "pgie_detectnet_v2_tlt_config.txt", LPD_USA, ["lpd"])
    out = work / "lpd"
    assert _migrate(config, out) == 0
    assert "0 error(s)" in _check(out, capsys)
    assert json.loads((out / "migration.json").read_text())["gies"][0]["key"] == "from the config's tlt-model-key"
    assert b"nvidia_tlt" not in bundle_files_text(out)
    bundle = load_bundle(out)
    # the config's pre-cluster-threshold=0.3 (the network's default is 0.2), net-scale-factor and RGB order
    assert bundle.threshold == 0.3 and bundle.postprocess_parameters["class_thresholds"] == "0.3"
    assert bundle.preprocessing.net_scale_factor == pytest.approx(0.0039215697906911373)
    prop = read_ini(out / "deepstream" / "config_infer_primary.txt").group("property")
    assert prop.get("model-color-format") == "0" and prop.get("cluster-mode") == "4"
    # the real LPD model's input is 3x480x640, not the config's uff-input-dims=3;544;960
    assert prop.get("infer-dims") == "3;480;640"


def test_the_report_lists_old_keys_to_new_keys_and_never_the_key(migrated, work, capsys):
    out, *_ = migrated["pgie_ssd_tlt_config.txt"]
    report = json.loads((out / "migration.json").read_text())
    gie = report["gies"][0]
    assert gie["network"] == "ssd" and gie["key"] == "from the config's tlt-model-key"
    pairs = {(c["old"].split("=")[0], c["new"].split("=")[0]): c for c in gie["changes"]}
    assert ("tlt-encoded-model", "onnx-file") in pairs
    assert ("uff-input-dims", "infer-dims") in pairs
    assert pairs[("parse-bbox-func-name", "parse-bbox-func-name")]["old"] == "parse-bbox-func-name=NvDsInferParseCustomSSDTLT"
    assert pairs[("parse-bbox-func-name", "parse-bbox-func-name")]["new"] == "parse-bbox-func-name=NvDsInferParseCustomNMSTLT"
    assert pairs[("custom-lib-path", "custom-lib-path")]["old"].endswith("libnvds_infercustomparser_ssd_tlt.so")
    assert ("output-blob-names", "output-blob-names") in pairs  # NMS -> NMS;NMS_1, the model's outputs
    dropped = {c["old"] for c in gie["not_carried"]}
    assert "tlt-model-key=(secret)" in dropped and "uff-input-blob-name=Input" in dropped
    for folder, *_ in migrated.values():
        assert b"nvidia_tlt" not in bundle_files_text(folder) and b"tlt_encode" not in bundle_files_text(folder)
    # and stdout says the same
    tree = work / "tree_ssd"
    capsys.readouterr()
    assert _migrate(tree / "pgie_ssd_tlt_config.txt", work / "again_ssd") == 0
    text = capsys.readouterr().out
    assert "tlt-encoded-model=./models/ssd/ssd_resnet18.etlt -> onnx-file=../model.onnx" in text
    assert "nvidia_tlt" not in text and "key: from the config's tlt-model-key" in text


def test_int8_calibration_cache_becomes_qdq_and_jetson_keeps_the_cache(work, capsys):
    """NVIDIA's DetectNet_v2 config switched to INT8 with the real face-mask model and its real cache."""
    import onnx

    text = (FIXTURES / "configs" / "pgie_detectnet_v2_tlt_config.txt").read_text()
    text = text.replace("network-mode=2", "network-mode=1").replace(
        "tlt-model-key=nvidia_tlt", "tlt-model-key=tlt_encode\nint8-calib-file=./models/detectnet_v2/cal.bin")
    config = config_tree(work / "tree_int8", "pgie_detectnet_v2_tlt_config.txt", FACEMASK, ["mask", "no-mask"], text)
    cache = FIXTURES / "calibration" / "facemask_detectnet_v2_cal.bin"
    (config.parent / "models" / "detectnet_v2" / "cal.bin").write_bytes(cache.read_bytes())
    out = work / "int8_x86"
    assert _migrate(config, out) == 0
    assert "0 error(s)" in _check(out, capsys)
    prop = read_ini(out / "deepstream" / "config_infer_primary.txt").group("property")
    assert prop.get("network-mode") == "1" and prop.get("int8-calib-file") == "../calibration.bin"  # sets INT8
    ops = {node.op_type for node in onnx.load(str(out / "model.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert b"tlt_encode" not in bundle_files_text(out)
    jetson = work / "int8_jetson"
    assert _migrate(config, jetson, "--platform", "jetson") == 0
    prop = read_ini(jetson / "deepstream" / "config_infer_primary.txt").group("property")
    assert prop.get("onnx-file") == "../model_trt10.onnx" and prop.get("int8-calib-file") == "../calibration.bin"
    # The cache's scales, restated for the Jetson route's TensorRT (bundle_int8.route_cache_text).
    from taostream.converter.int8.calib_cache import read_calibration_cache

    shipped, given = read_calibration_cache(jetson / "calibration.bin"), read_calibration_cache(cache)
    # migrated for the default DeepStream (9.2): the Jetson route runs TensorRT 10.16.1.7
    assert shipped.scales == given.scales and shipped.header == "TRT-101601-EntropyCalibration2"


def test_per_class_thresholds_clustering_and_dbscan_eps_are_carried(work):
    text = (FIXTURES / "configs" / "pgie_yolov3_tlt_config.txt").read_text()
    text += "\n[class-attrs-1]\npre-cluster-threshold=0.7\nnms-iou-threshold=0.45\n"
    sample = write_sample("yolo_v3", work / "sample_yolo_v3", force=True)
    config = config_tree(work / "tree_classes", "pgie_yolov3_tlt_config.txt", sample.model, list(sample.labels_list), text)
    out = work / "classes"
    assert _migrate(config, out) == 0
    ini = read_ini(out / "deepstream" / "config_infer_primary.txt")
    assert ini.group("property").get("cluster-mode") == "3"  # the config's DBSCAN+NMS hybrid
    assert ini.group("class-attrs-1").get("pre-cluster-threshold") == "0.7"
    assert ini.group("class-attrs-1").get("nms-iou-threshold") == "0.45"
    assert load_bundle(out).postprocess_parameters["class_thresholds"] == "0.3,0.7,0.3,0.3"
    # DetectNet_v2 with nvinfer's DBSCAN (enable-dbscan=1): its eps becomes the parser's DBSCAN eps
    text = (FIXTURES / "configs" / "pgie_detectnet_v2_tlt_config.txt").read_text().replace(
        "[class-attrs-all]", "enable-dbscan=1\n\n[class-attrs-all]").replace("eps=0.2", "eps=0.15")
    config = config_tree(work / "tree_dbscan", "pgie_detectnet_v2_tlt_config.txt", LPD_USA, ["lpd"], text)
    out = work / "dbscan"
    assert _migrate(config, out) == 0
    env = (out / "deepstream" / "taostream_parser.env").read_text()
    assert " eps=0.15 " in env
    report = json.loads((out / "migration.json").read_text())["gies"][0]
    assert any(c["old"] == "enable-dbscan=1" and c["new"] == "cluster-mode=4" for c in report["changes"])
    assert any(c["old"] == "group-threshold=1" for c in report["not_carried"])


def test_configs_that_cannot_be_migrated_fail_in_one_line_and_write_nothing(work, capsys):
    out = work / "refused"
    capsys.readouterr()
    # the PeopleSemSegNet config names only a prebuilt engine
    assert _migrate(FIXTURES / "configs" / "pgie_unet_tlt_config_peoplesemsegnet_shuffleseg.txt", out) == 2
    err = capsys.readouterr().err
    assert "model-engine-file" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    # FasterRCNN's config key (tlt) does not decode the sample (nvidia_tlt)
    sample = write_sample("faster_rcnn", work / "sample_faster_rcnn", force=True)
    config = config_tree(work / "tree_wrong_key", "pgie_frcnn_tlt_config.txt", sample.model, list(sample.labels_list))
    assert _migrate(config, out) == 2
    err = capsys.readouterr().err
    assert "tlt-model-key" in err and "--key" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    # the model is not where the config says
    (config.parent / "models" / "frcnn" / "faster_rcnn_resnet10.etlt").unlink()
    assert _migrate(config, out, "--key", SAMPLE_KEY) == 2
    err = capsys.readouterr().err
    assert "tlt-encoded-model" in err and "file not found" in err and not out.exists()
    # an output folder that exists (refused before the model is decoded)
    out.mkdir()
    assert _migrate(config, out, "--key", SAMPLE_KEY) == 2
    assert "already exists" in capsys.readouterr().err and not any(out.iterdir())
    out.rmdir()
    # a label file with another class count than the model's
    config = config_tree(work / "tree_labels", "pgie_detectnet_v2_tlt_config.txt", LPD_USA, ["car", "bicycle"])
    assert _migrate(config, out) == 2
    err = capsys.readouterr().err
    assert "labelfile-path" in err and "gives 2 label(s)" in err and "outputs 1 class id(s)" in err and not out.exists()



# A DeepStream 6 config of deepstream_tao_apps' TAO 3 era: infer-dims, INT8 with a cache, the one
# libnvds_infercustomparser_tao.so for every network, paths up two folders.
DS6_YOLOV4_CONFIG = """\
[property]
gpu-id=0
net-scale-factor=1.0
offsets=103.939;116.779;123.68
model-color-format=1
labelfile-path=../../models/yolov4/yolov4_labels.txt
model-engine-file=../../models/yolov4/yolov4_resnet18.etlt_b1_gpu0_int8.engine
int8-calib-file=../../models/yolov4/cal.bin
tlt-encoded-model=../../models/yolov4/yolov4_resnet18.etlt
tlt-model-key=nvidia_tlt
infer-dims=3;384;1248
maintain-aspect-ratio=1
uff-input-order=0
uff-input-blob-name=Input
batch-size=1
## 0=FP32, 1=INT8, 2=FP16 mode
network-mode=1
num-detected-classes=4
interval=0
gie-unique-id=1
is-classifier=0
#network-type=0
cluster-mode=3
output-blob-names=BatchedNMS
parse-bbox-func-name=NvDsInferParseCustomBatchedNMSTLT
custom-lib-path=../../post_processor/libnvds_infercustomparser_tao.so

[class-attrs-all]
pre-cluster-threshold=0.3
roi-top-offset=0
roi-bottom-offset=0
detected-min-w=0
detected-min-h=0
detected-max-w=0
detected-max-h=0
"""


def test_a_deepstream_6_tao_config_with_int8(work, capsys):
    import onnx

    sample = write_sample("yolo_v4", work / "sample_yolo_v4", force=True)
    folder = work / "tree_ds6" / "configs" / "yolov4_tao"
    config = config_tree(folder, folder / "pgie_yolov4_tao_config.txt", sample.model, list(sample.labels_list),
                         DS6_YOLOV4_CONFIG)
    (work / "tree_ds6" / "models" / "yolov4" / "cal.bin").write_bytes(sample.calibration.read_bytes())
    out = work / "ds6_yolov4"
    assert _migrate(config, out) == 0
    assert "0 error(s)" in _check(out, capsys)
    report = json.loads((out / "migration.json").read_text())["gies"][0]
    assert report["network"] == "yolo_v4"  # BatchedNMSTLT is YOLOv3 or v4: the model's plugins decide
    prop = read_ini(out / "deepstream" / "config_infer_primary.txt").group("property")
    assert (prop.get("network-mode"), prop.get("int8-calib-file"), prop.get("cluster-mode")) == (
        "1", "../calibration.bin", "3")
    assert prop.get("maintain-aspect-ratio") == "1" and prop.get("parse-bbox-func-name") == "NvDsInferParseCustomBatchedNMSTLT"
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node}


def test_a_letterboxing_config_letterboxes_in_the_nvinferserver_config_too(work, capsys):
    """maintain-aspect-ratio=1 + symmetric-padding=1 in the old config: carried into the nvinfer config, and the
    bundle's nvinferserver config (deepstream_app_triton.txt) must preprocess the same way (it kept the
    network's 0 / 0, so the migrated bundle failed its own check)."""
    text = (CONFIGS / "pgie_detectnet_v2_tlt_config.txt").read_text().replace(
        "batch-size=1", "batch-size=1\nmaintain-aspect-ratio=1\nsymmetric-padding=1")
    config = config_tree(work / "tree_letterbox", "pgie_detectnet_v2_tlt_config.txt", LPD_USA, ["lpd"], text=text)
    out = work / "letterbox"
    assert _migrate(config, out) == 0
    prop = read_ini(out / "deepstream" / "config_infer_primary.txt").group("property")
    assert prop.get("maintain-aspect-ratio") == "1" and prop.get("symmetric-padding") == "1"
    server = (out / "deepstream" / "config_infer_primary_nvinferserver.txt").read_text()
    assert "maintain_aspect_ratio: 1" in server and "symmetric_padding: 1" in server
    assert "0 error(s)" in _check(out, capsys)


def test_a_label_file_in_a_legacy_code_page_is_refused_in_one_line(work, capsys):
    """A DeepStream 5 tree whose labels were saved in Latin-1 ('Kennzeichen-\xe4'): the bundle's labels.txt got
    U+FFFD for the letter; now one line names the file, the byte and the fix, and nothing is written."""
    config = config_tree(work / "tree_latin1", "pgie_detectnet_v2_tlt_config.txt", LPD_USA, ["lpd"])
    labels = config.parent / "nvdsinfer_detectNet_v2_tlt" / "detectnet_v2_labels.txt"
    labels.write_bytes("Kennzeichen-\u00e4\n".encode("latin-1"))
    out = work / "latin1"
    capsys.readouterr()
    assert _migrate(config, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "labelfile-path" in err and "not UTF-8 (byte 0xe4 on line 1)" in err, err
    assert not out.exists()


def test_an_int8_calib_file_of_another_model_names_the_config_key_and_migrates_fix(work, capsys):
    """NVIDIA's DetectNet_v2 config switched to INT8 over the real LPDNet, its int8-calib-file the real SSD
    cache: the error names the config, int8-calib-file and the fixes migrate has (no --calibrate-images)."""
    text = (FIXTURES / "configs" / "pgie_detectnet_v2_tlt_config.txt").read_text()
    text = text.replace("network-mode=2", "network-mode=1").replace(
        "tlt-model-key=nvidia_tlt", "tlt-model-key=nvidia_tlt\nint8-calib-file=./models/detectnet_v2/cal.bin")
    config = config_tree(work / "tree_foreign_cache", "pgie_detectnet_v2_tlt_config.txt", LPD_USA, ["lpd"], text)
    shutil.copyfile(FIXTURES / "calibration" / "ssd_tlt_cal.bin", config.parent / "models" / "detectnet_v2" / "cal.bin")
    out = work / "foreign_cache"
    capsys.readouterr()
    assert _migrate(config, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and not out.exists()
    assert err.startswith(f"taostream: error: {config}: [property] int8-calib-file: calibration cache ")
    assert "cal.bin" in err and "no Conv/Gemm/MatMul input of this graph has a scale" in err
    assert "point int8-calib-file at the cache" in err and "--precision fp16" in err
    assert "--calibrate-images" not in err
