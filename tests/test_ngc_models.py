"""`bundle --labels` and TAO inference specs: models as NGC ships them (an .etlt, its labels.txt and
cal cache, no training spec), on NVIDIA's real DetectNet_v2 models in shared/fixtures.

Expected thresholds are NVIDIA's own published nvinfer values (deepstream_tao_apps configs, cited in
deepstream_configs/specs/published_defaults.py and docs/deepstream.md), and the facemask inference spec's own numbers."""

from __future__ import annotations

import json

import pytest

from cli_support import assert_clean_error, run_cli
from ngc_support import (CALIBRATION_PHOTOS, FACEMASK, HELD_OUT_PHOTOS, LPD_MODELS, write_photo_plate_scenes,
                          write_plate_scene)
from taostream.converter.registry import get_network
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.bundle.labels_file import read_ngc_labels
from taostream.deepstream_configs.specs.published_defaults import published_cluster_settings
from taostream.parsers.reference import DetectNetV2Clustering

INFERENCE_SPEC = "specs/facemask_detectnet_v2_inference_kitti_etlt.txt"


def test_ngc_label_files_in_both_forms(tmp_path):
    detector = tmp_path / "labels_peoplenet.txt"
    detector.write_text("person\nbag\n\nface\n")
    classifier = tmp_path / "labels_vehicletypenet.txt"
    classifier.write_text("coupe;largevehicle;sedan;suv;truck;van\n")
    assert read_ngc_labels(detector) == ["person", "bag", "face"]
    assert read_ngc_labels(classifier) == ["coupe", "largevehicle", "sedan", "suv", "truck", "van"]


def test_published_peoplenet_defaults_become_the_parsers_nms():
    # NVIDIA's PeopleNet config: cluster-mode=2, [class-attrs-all] topk 20, nms-iou 0.5, threshold 0.2,
    # [class-attrs-0] threshold 0.4.
    result = published_cluster_settings(get_network("detectnet_v2"), "PeopleNet", ["person", "bag", "face"])
    assert result.settings.class_thresholds == [0.4, 0.2, 0.2]
    assert result.settings.cluster_mode == 4
    assert DetectNetV2Clustering.from_env(result.settings.parser_settings) == DetectNetV2Clustering(
        mode="nms", nms_iou=0.5, top_k=20)
    assert "NVIDIA's published peoplenet defaults" in result.notes[0]
    assert "config_infer_primary_peoplenet.txt" in result.notes[0]
    plain = published_cluster_settings(get_network("detectnet_v2"), "detectnet_v2", ["car"])
    assert "registry defaults" in plain.notes[0] and plain.settings.class_thresholds == [0.2]


@pytest.fixture(scope="module")
def lpd_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("lpd")
    (root / "labels.txt").write_text("lpd\n")
    return root, {name: write_plate_scene(root / f"{name}.png", name) for name in LPD_MODELS}


@pytest.mark.parametrize("name", sorted(LPD_MODELS))
def test_real_lpdnet_bundles_with_its_labels_and_no_spec(lpd_inputs, fixtures_dir, tmp_path, name):
    root, scenes = lpd_inputs
    key, cache, _, _, _ = LPD_MODELS[name]
    bundle = tmp_path / "bundle"
    result = run_cli("bundle", fixtures_dir / "models" / name, "--network", "lpdnet", "--labels", root / "labels.txt",
                     "--key", key, "--precision", "int8", "--calibration-cache", fixtures_dir / "calibration" / cache,
                     "-o", bundle)
    assert result.returncode == 0, result.stderr
    assert "default: pre-cluster-threshold 0.3, cluster-mode 3 (DBSCAN+NMS): NVIDIA's published lpdnet" in result.stdout
    assert "sgie_lpd_DetectNet2_us.txt" in result.stdout
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["labels"] == 1 and any("NVIDIA's published lpdnet" in d for d in manifest["defaults"])
    assert (bundle / "labels.txt").read_text() == "lpd\n"
    config = read_ini(bundle / "deepstream" / "config_infer_primary.txt")
    assert config.group("class-attrs-all").get("pre-cluster-threshold") == "0.3"
    env = (bundle / "deepstream" / "taostream_parser.env").read_text()
    assert "mode=dbscan_nms" in env
    verify = run_cli("verify", bundle, scenes[name], "--no-progress")
    assert "2 matched" in verify.stdout.splitlines()[-1], verify.stdout  # both plates of the scene


# (model, label source) -> what it takes: NVIDIA's three real .etlt models with their labels.txt (no
# spec) and, where one exists, their TAO inference spec; each with its own real calibration cache.
REAL_CELLS = {
    ("lpd_usa_detectnet_v2_pruned.etlt", "labels"): ("lpdnet", ("lpd",), None),
    ("lpd_ccpd_detectnet_v2_pruned.etlt", "labels"): ("lpdnet", ("lpd",), None),
    (FACEMASK, "labels"): ("detectnet_v2", ("mask", "no-mask"), None),
    (FACEMASK, "inference spec"): ("detectnet_v2", None, INFERENCE_SPEC),
}


@pytest.fixture(scope="module")
def real_inputs(lpd_inputs, tmp_path_factory):
    import cv2

    from test_uff_to_onnx import astronaut_photo

    root, scenes = lpd_inputs
    photo = root / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut_photo(), cv2.COLOR_RGB2BGR))
    return {**scenes, FACEMASK: photo}


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize("model, source", sorted(REAL_CELLS))
def test_real_models_as_ngc_ships_them_verify_against_fp32(real_inputs, fixtures_dir, tmp_path, model, source,
                                                          precision):
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
    from taostream.inference.verify import VerifyRequest, run_verify

    network, labels, spec = REAL_CELLS[(model, source)]
    key, cache = (LPD_MODELS[model][:2] if model in LPD_MODELS else ("tlt_encode", "facemask_detectnet_v2_cal.bin"))
    request = BundleRequest(model=fixtures_dir / "models" / model, network=network, output=tmp_path / "bundle",
                            key=key, precision=precision, calibration_cache=fixtures_dir / "calibration" / cache
                            if precision == "int8" else None)
    if labels:
        request.labels = tmp_path / "labels.txt"
        request.labels.write_text("\n".join(labels) + "\n")
    else:
        request.spec = fixtures_dir / spec
    result = create_bundle(request)
    assert bool(result.defaults) == (spec is None)  # defaults only where no spec gave the values
    report = run_verify(VerifyRequest(bundle=tmp_path / "bundle", inputs=[str(real_inputs[model])], progress=False))
    totals = report.totals()
    assert totals["matched"] == (1 if model == FACEMASK else 2), report.lines()  # the face / both plates
    assert totals["missing"] == totals["extra"] == 0 and totals["worst_iou"] >= 0.95, report.lines()
    if (model, precision) == ("lpd_usa_detectnet_v2_pruned.etlt", "int8"):
        # Known (docs/int8.md): with its real (QAT) cache, quantized where TensorRT's implicit INT8
        # quantizes (residual Add inputs included), the small plate's cells lose 0.05 coverage on
        # average and its edge cell 0.15 (0.345 -> 0.19): its summed coverage drops by 23%, beyond
        # the INT8 tolerance of 0.1, every plate box matching. No borderline cell is involved: a real
        # INT8 change of this model and cache, not verify's threshold arithmetic.
        assert not report.passed and totals["borderline_cells"] == 0, report.lines()
        assert 0.1 < totals["worst_score_delta"] < 0.35, report.lines()
    else:
        assert report.passed, report.lines()


def _lpd_int8_bundle(fixtures_dir, folder, model):
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle

    key, cache = LPD_MODELS[model][:2]
    labels = folder / "labels.txt"
    labels.write_text("lpd\n")
    request = BundleRequest(model=fixtures_dir / "models" / model, network="lpdnet", output=folder / "bundle", key=key,
                            precision="int8", calibration_cache=fixtures_dir / "calibration" / cache)
    request.labels = labels
    create_bundle(request)
    return folder / "bundle"


def test_real_lpdnet_ccpd_int8_verifies_against_fp32_on_six_scenes(fixtures_dir, tmp_path):
    """The real LPDNet CCPD model with its own real cache on six plate scenes (noise seeds 0-5). Judged by
    the summed coverage with threshold-crossing cells counted, it failed on two of them (score deltas
    0.11 and 0.13), each plate box matching (docs/int8.md). With borderline cells (a few per scene)
    clustered as in FP32 all pass."""
    import cv2

    from taostream.inference.verify import VerifyRequest, run_verify
    from ngc_support import plate_scene

    model = "lpd_ccpd_detectnet_v2_pruned.etlt"
    _, _, (height, width), plate, ink = LPD_MODELS[model]
    scenes = []
    for seed in range(6):
        scenes.append(str(tmp_path / f"scene{seed}.png"))
        cv2.imwrite(scenes[-1], cv2.cvtColor(plate_scene(height, width, plate, ink, seed=seed), cv2.COLOR_RGB2BGR))
    report = run_verify(VerifyRequest(bundle=_lpd_int8_bundle(fixtures_dir, tmp_path, model), inputs=scenes,
                                      progress=False))
    totals = report.totals()
    assert report.passed and totals["matched"] == 12 and totals["borderline_cells"] >= 1, report.lines()


def _activation_scales(path) -> dict[str, float]:
    """{tensor: scale} of the activation Q/DQ pairs of an INT8 model.onnx."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    constants.update({node.output[0]: numpy_helper.to_array(node.attribute[0].t) for node in model.graph.node
                      if node.op_type == "Constant"})
    return {node.input[0]: float(constants[node.input[1]]) for node in model.graph.node
            if node.op_type == "QuantizeLinear" and node.input[0] not in constants}


def test_fresh_calibration_of_lpdnet_us_finds_its_cache_scales_and_fails_the_same_way(fixtures_dir, tmp_path):
    """Issue 15: calibrating LPDNet US afresh (`bundle --calibrate-images`, minmax) on eight plate scenes
    over public-domain photos gives the ReLU6 tensors the scales of NVIDIA's QAT cache (6/127 there, 5.9998/127
    in the cache: the activations reach the ReLU6 bound), and INT8 still fails verify on held-out
    scenes (other photos, other plates), every plate box matching: re-calibrating is no remedy for
    this model (docs/int8.md, benchmarks/int8_lpd_recalibration.py); its float16 graph passes."""
    from taostream.converter.int8.calib_cache import read_calibration_cache
    from taostream.inference.verify import VerifyRequest, run_verify

    model = "lpd_usa_detectnet_v2_pruned.etlt"
    key, cache = LPD_MODELS[model][:2]
    calibration = write_photo_plate_scenes(tmp_path / "calibration", model, CALIBRATION_PHOTOS, seed=0)
    held_out = write_photo_plate_scenes(tmp_path / "held_out", model, HELD_OUT_PHOTOS, seed=100)
    held_out.append(write_plate_scene(tmp_path / "held_out" / "synthetic.png", model))
    assert not {p.name for p in calibration} & {p.name for p in held_out}
    (tmp_path / "labels.txt").write_text("lpd\n")
    result = run_cli("bundle", fixtures_dir / "models" / model, "--network", "lpdnet", "--labels", tmp_path / "labels.txt",
                     "--precision", "int8", "--calibrate-images", tmp_path / "calibration", "--calibration-method",
                     "minmax", "--key", key, "-o", tmp_path / "bundle")
    assert result.returncode == 0, result.stderr

    fresh = _activation_scales(tmp_path / "bundle" / "model.onnx")
    nvidia = read_calibration_cache(fixtures_dir / "calibration" / cache).scales
    relu6 = [name for name in fresh if name.endswith("/Relu6") and name in nvidia]
    assert len(relu6) >= 15, sorted(fresh)
    assert all(abs(fresh[name] - nvidia[name]) <= 1e-3 * nvidia[name] for name in relu6), \
        {name: (fresh[name], nvidia[name]) for name in relu6}

    report = run_verify(VerifyRequest(bundle=tmp_path / "bundle", inputs=[str(p) for p in held_out], progress=False))
    totals = report.totals()
    assert totals["matched"] >= 6 and totals["missing"] == totals["extra"] == 0, report.lines()
    assert not report.passed and totals["worst_score_delta"] > 0.2, report.lines()


def test_entropy_calibration_of_lpdnet_us_keeps_its_relu6_ranges_and_clips_its_residual_inputs(fixtures_dir, tmp_path):
    """`--calibration-method entropy` is TensorRT's EntropyCalibration2 (|x| histograms from 0, zero bin
    set aside): on the eight plate scenes the ReLU6 outputs keep amax 6 (onnxruntime's own entropy,
    used before, clipped them all to 0.38-3.8 but two), a few slightly lower; the four batch-norm outputs
    read by a residual Add are clipped well below their maximum (minmax 8-22), which still loses every
    plate (docs/int8.md)."""
    model = "lpd_usa_detectnet_v2_pruned.etlt"
    key = LPD_MODELS[model][0]
    write_photo_plate_scenes(tmp_path / "calibration", model, CALIBRATION_PHOTOS, seed=0)
    (tmp_path / "labels.txt").write_text("lpd\n")
    result = run_cli("bundle", fixtures_dir / "models" / model, "--network", "lpdnet", "--labels", tmp_path / "labels.txt",
                     "--precision", "int8", "--calibrate-images", tmp_path / "calibration", "--key", key,
                     "-o", tmp_path / "bundle")
    assert result.returncode == 0, result.stderr

    amax = {name: scale * 127 for name, scale in _activation_scales(tmp_path / "bundle" / "model.onnx").items()}
    relu6 = {name: value for name, value in amax.items() if name.endswith("/Relu6")}
    assert len(relu6) == 17, sorted(amax)
    assert sum(abs(value - 6.0) < 1e-3 for value in relu6.values()) >= 13, relu6
    assert all(3.0 <= value <= 6.0 + 1e-3 for value in relu6.values()), relu6
    residual = {name: value for name, value in amax.items() if name.endswith("_bn_2/batchnorm/add_1")}
    assert len(residual) == 4 and all(value < 6.0 for value in residual.values()), residual


def test_a_worse_int8_graph_of_the_real_lpdnet_still_fails_verify(fixtures_dir, tmp_path, lpd_inputs):
    """Borderline cells do not hide real INT8 error: the same model and cache with weights quantized per
    tensor (one scale per kernel, docs/int8.md) moves the plates' coverage far more and fails."""
    import onnx

    from taostream.converter.int8.calib_cache import read_calibration_cache
    from taostream.converter.int8.qdq import insert_qdq_from_cache
    from taostream.inference.bundle_info import load_bundle
    from taostream.inference.verify import VerifyRequest, run_verify

    model = "lpd_usa_detectnet_v2_pruned.etlt"
    bundle = _lpd_int8_bundle(fixtures_dir, tmp_path, model)
    fp32 = onnx.load(str(load_bundle(bundle).onnx_for_cpu()))
    cache = read_calibration_cache(fixtures_dir / "calibration" / LPD_MODELS[model][1])
    per_tensor, _ = insert_qdq_from_cache(fp32, cache, network="lpdnet", per_channel=False)
    onnx.save(per_tensor, str(tmp_path / "per_tensor.onnx"))
    _, scenes = lpd_inputs
    report = run_verify(VerifyRequest(bundle=bundle, inputs=[str(scenes[model])], onnx=tmp_path / "per_tensor.onnx",
                                      progress=False))
    totals = report.totals()
    assert not report.passed and totals["matched"] == 2 and totals["worst_score_delta"] > 0.3, report.lines()


def test_the_label_count_is_checked_against_the_model(fixtures_dir, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("car;bicycle\n")
    result = run_cli("bundle", fixtures_dir / "models/lpd_usa_detectnet_v2_pruned.etlt", "--network", "lpdnet",
                     "--labels", labels, "--key", "nvidia_tlt", "-o", tmp_path / "b")
    assert_clean_error(result, f"--labels {labels} gives 2 label(s) (car, bicycle)", "outputs 1 class id(s)")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("content", [b"mask\r\nno-mask\r\n\r\n", b"mask\nno-mask\n  \n"],
                         ids=["windows-trailing-line", "spaces-line"])
def test_a_blank_but_not_empty_label_line_is_named_as_the_fix(fixtures_dir, tmp_path, content):
    # NVIDIA's face-mask model outputs 2 classes; the file has them, then a line nvinfer also counts
    labels = tmp_path / "labels.txt"
    labels.write_bytes(content)
    result = run_cli("bundle", fixtures_dir / "models/facemask_detectnet_v2_resnet18.etlt", "--network", "detectnet_v2",
                     "--labels", labels, "--key", "tlt_encode", "-o", tmp_path / "b")
    assert_clean_error(result, f"--labels {labels} gives 3 label(s) (mask, no-mask, (blank))", "outputs 2 class id(s)",
                       "nvinfer counts such a line as a class", "delete the blank line(s)")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("content, message", [
    ("", "--labels is empty"),
    ("lpd\nlpd\n", "names 'lpd' twice"),
])
def test_bad_label_files_are_clean_errors(fixtures_dir, tmp_path, content, message):
    labels = tmp_path / "labels.txt"
    labels.write_text(content)
    result = run_cli("bundle", fixtures_dir / "models/lpd_usa_detectnet_v2_pruned.etlt", "--network", "lpdnet",
                     "--labels", labels, "--key", "nvidia_tlt", "-o", tmp_path / "b")
    assert_clean_error(result, message)


def test_neither_spec_nor_labels_names_both_options(fixtures_dir, tmp_path):
    result = run_cli("bundle", fixtures_dir / "models/lpd_usa_detectnet_v2_pruned.etlt", "--network", "lpdnet",
                     "--key", "nvidia_tlt", "-o", tmp_path / "b")
    assert_clean_error(result, "--spec SPEC or --labels LABELS is needed")


def test_labels_reads_a_tao_inference_spec(fixtures_dir):
    result = run_cli("labels", fixtures_dir / INFERENCE_SPEC, "--network", "detectnet_v2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "mask\nno-mask\n"


def test_facemask_bundles_with_its_inference_spec(fixtures_dir, tmp_path, real_inputs):
    photo = real_inputs[FACEMASK]
    bundle = tmp_path / "bundle"
    result = run_cli("bundle", fixtures_dir / "models" / FACEMASK, "--network", "detectnet_v2",
                     "--spec", fixtures_dir / INFERENCE_SPEC, "--key", "tlt_encode", "--precision", "int8",
                     "--calibration-cache", fixtures_dir / "calibration/facemask_detectnet_v2_cal.bin", "-o", bundle)
    assert result.returncode == 0, result.stderr
    assert "default:" not in result.stdout  # every value came from the spec
    assert (bundle / "labels.txt").read_text() == "mask\nno-mask\n"
    # The spec's clustering_config (eps 0.3, min_samples 0.05, min height 4, coverage 0.0) and its
    # bbox handler's confidence_threshold 0.9 reach the parser.
    env = (bundle / "deepstream" / "taostream_parser.env").read_text().split("=", 1)[1].strip().strip('"')
    assert DetectNetV2Clustering.from_env(env) == DetectNetV2Clustering(
        mode="dbscan", eps=0.3, min_samples=0.05, confidence_threshold=0.9, min_height=4.0)
    config = read_ini(bundle / "deepstream" / "config_infer_primary.txt")
    assert float(config.group("class-attrs-0").get("pre-cluster-threshold")) == 0.0
    assert config.group("property").get("infer-dims") == "3;544;960"
    verify = run_cli("verify", bundle, photo, "--no-progress")
    assert verify.returncode == 0, verify.stdout
    assert "1 matched" in verify.stdout.splitlines()[-1]  # the astronaut's face


def test_inference_spec_with_an_unknown_class_key_is_a_clean_error(fixtures_dir, tmp_path):
    text = (fixtures_dir / INFERENCE_SPEC).read_text().replace('key:"no-mask"', 'key:"nomask"')
    spec = tmp_path / "inference.txt"
    spec.write_text(text)
    assert_clean_error(run_cli("labels", spec, "--network", "detectnet_v2"),
                       "classwise_bbox_handler_config key 'nomask' is not one of inferencer_config.target_classes")


def test_an_ngc_classifier_with_its_one_line_labels_and_published_preprocessing(tmp_path):
    """VehicleTypeNet-style: a TAO classifier (taostream's sample, 4 classes) with a labels file in the
    classifier form; NVIDIA's VehicleTypeNet config feeds RGB with offsets 124;117;104, scale 1."""
    from taostream.inference.bundle_info import load_bundle

    assert run_cli("sample", "--network", "classification", "-o", tmp_path / "sample").returncode == 0
    labels = tmp_path / "labels_vehicletypenet.txt"
    labels.write_text("coupe;sedan;suv;truck\n")
    bundle = tmp_path / "bundle"
    result = run_cli("bundle", tmp_path / "sample/model.etlt", "--network", "vehicletypenet", "--labels", labels,
                     "--key", "nvidia_tlt", "-o", bundle)
    assert result.returncode == 0, result.stderr
    assert "NVIDIA's published vehicletypenet preprocessing" in result.stdout
    assert "config_infer_secondary_vehicletypenet.txt" in result.stdout
    assert (bundle / "labels.txt").read_text() == "coupe;sedan;suv;truck\n"  # nvinfer's classifier form
    prop = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    assert (prop.get("model-color-format"), prop.get("net-scale-factor"), prop.get("offsets")) == ("0", "1", "124;117;104")
    assert prop.get("classifier-threshold") == "0.2"
    # infer and verify feed the model what DeepStream would: RGB planes minus 124;117;104.
    import numpy as np

    from taostream.converter.model.preprocess import preprocess_image

    loaded = load_bundle(bundle)
    assert loaded.preprocessing.color == "RGB" and loaded.preprocessing.offsets == (124.0, 117.0, 104.0)
    red = np.zeros((224, 224, 3), np.uint8)
    red[:, :, 2] = 200  # BGR frame, pure red
    tensor = preprocess_image(red, loaded.network, loaded.dims, **loaded.preprocessing.as_kwargs())
    assert [float(tensor[c, 0, 0]) for c in range(3)] == [200 - 124, -117, -104]
    labels.write_text("coupe;largevehicle;sedan;suv;truck;van\n")
    assert_clean_error(run_cli("bundle", tmp_path / "sample/model.etlt", "--network", "vehicletypenet", "--labels",
                               labels, "--key", "nvidia_tlt", "-o", tmp_path / "b2"), "gives 6 label(s)", "4 class id(s)")


def test_a_labels_file_saved_with_a_byte_order_mark_gives_clean_class_names(fixtures_dir, tmp_path):
    # Notepad's "UTF-8 with BOM": the mark must not become part of class 0's name ('\ufeffmask' matched
    # no KITTI ground truth 'mask' in evaluate, no --secondary classes=mask), and check says DeepStream keeps it.
    labels = tmp_path / "labels.txt"
    labels.write_bytes(b"\xef\xbb\xbfmask\r\nno-mask\r\n")
    bundle = tmp_path / "bundle"
    result = run_cli("bundle", fixtures_dir / "models" / FACEMASK, "--network", "detectnet_v2", "--labels", labels,
                     "--key", "tlt_encode", "-o", bundle)
    assert result.returncode == 0, result.stderr
    assert (bundle / "labels.txt").read_bytes() == b"mask\nno-mask\n"
    config = bundle / "deepstream" / "config_infer_primary.txt"
    config.write_text(config.read_text().replace("labelfile-path=../labels.txt", f"labelfile-path={labels}"))
    check = run_cli("check", config)
    assert "starts with a UTF-8 byte-order mark" in check.stdout + check.stderr, check.stdout


def test_a_classifier_without_a_published_model_names_the_key_its_config_gets(tmp_path):
    """--network classification --labels: the default note said 'pre-cluster-threshold 0.2' for a classifier,
    whose nvinfer config gets classifier-threshold=0.2 (and no pre-cluster-threshold)."""
    sample = run_cli("sample", "--network", "classification", "-o", tmp_path / "sample")
    assert sample.returncode == 0, sample.stderr
    labels = tmp_path / "labels.txt"
    labels.write_text("coupe;largevehicle;sedan;suv\n")
    result = run_cli("bundle", tmp_path / "sample/model.etlt", "--network", "classification", "--labels", labels,
                     "--key", "nvidia_tlt", "-o", tmp_path / "b")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "b/deepstream/config_infer_primary.txt").read_text()
    assert "classifier-threshold=0.2" in config and "pre-cluster-threshold" not in config
    assert "default: classifier-threshold 0.2: taostream's registry defaults for classification" in result.stdout


def test_published_per_class_thresholds_are_not_put_on_another_models_classes(fixtures_dir, tmp_path):
    """--network peoplenet on NVIDIA's 2-class facemask model: PeopleNet's [class-attrs-0] 0.4 (its person)
    was written for class 0 'mask'; with another class count only the common threshold applies, and says so."""
    labels = tmp_path / "labels.txt"
    labels.write_text("mask\nno-mask\n")
    result = run_cli("bundle", fixtures_dir / "models" / FACEMASK, "--network", "peoplenet", "--labels", labels,
                     "--key", "tlt_encode", "-o", tmp_path / "b")
    assert result.returncode == 0, result.stderr
    config = read_ini(tmp_path / "b/deepstream/config_infer_primary.txt")
    assert [config.group(f"class-attrs-{i}").get("pre-cluster-threshold") for i in (0, 1)] == ["0.2", "0.2"]
    assert "peoplenet outputs 3 classes (person, bag, face), the labels give 2" in result.stdout
    # PeopleNet's own three classes keep NVIDIA's person threshold
    own = published_cluster_settings(get_network("detectnet_v2"), "peoplenet", ["person", "bag", "face"])
    assert own.settings.class_thresholds == [0.4, 0.2, 0.2]


def test_a_model_without_an_image_input_is_refused_not_bundled(fixtures_dir, tmp_path):
    """A real UFF that is no vision model (a policy net, input [N, 67], output policy/output [N, 2]) given with
    --network detectnet_v2 and two labels: a bundle with made-up infer-dims 3;544;960 was written and passed check."""
    labels = tmp_path / "labels.txt"
    labels.write_text("mask\nno-mask\n")
    result = run_cli("bundle", fixtures_dir / "models" / "ppo_hil_fc.uff", "--network", "detectnet_v2",
                     "--labels", labels, "-o", tmp_path / "b")
    assert_clean_error(result, "ppo_hil_fc.uff", "input_state_placeholder is [N, 67]", "not a TAO vision model")
    assert not (tmp_path / "b").exists()
