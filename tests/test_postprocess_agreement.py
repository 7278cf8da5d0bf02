"""One bundle, one set of thresholds, one answer: for every network `taostream sample` makes (and the
real facemask DetectNet_v2 model), `taostream infer --backend ort`, the bundle's CPU Triton model
served by a real tritonserver on 127.0.0.1 (`infer --backend triton --url`) and the C++ DeepStream
parser (its exported symbol, called the way nvinfer calls it, with the thresholds and DetectNet_v2
clustering settings the bundle's nvinfer config and parser env file give DeepStream), followed by
nvinfer's own clustering with the config's cluster-mode, nms-iou-threshold and topk, report the same
boxes on the same real photos.

The C++ side is independent of the Python post-processing: it gets the raw output tensors of the
bundle's CPU graph and only what DeepStream would read from the bundle's files."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace

import cv2
import numpy as np
import pytest

from parsers_support import native_parsers  # noqa: F401  (session fixture)
from taostream.cli import main
from taostream.converter.model.preprocess import preprocess_image
from taostream.deepstream_configs.ini import read_ini
from taostream.inference.bundle_info import load_bundle
from taostream.inference.backends.runners import cpu_runner
from test_infer_support import make_bundle, noise_images, start_serve, stop_serve, write_images

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the public-domain test photos")
pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")

SAMPLE_NETWORKS = ["classification", "detectnet_v2", "faster_rcnn", "ssd", "dssd", "retinanet", "yolo_v3",
                   "yolo_v4", "efficientdet", "mask_rcnn"]
FACEMASK = "facemask"
PEOPLENET = "peoplenet"  # published per-class thresholds (deepstream_configs/specs/published_defaults.py)
FINAL_THRESHOLD = 0.5  # a `--threshold` run: a final filter on what the bundle's post-processing reports
# --threshold is checked where it used to change the post-processing itself (DetectNet_v2's coverage
# threshold, FasterRCNN's threshold before its NMS) and on an NMS-output network and a classifier.
FINAL_THRESHOLD_NETWORKS = ("detectnet_v2", FACEMASK, "faster_rcnn", "ssd", "classification")
# results.json rounds boxes to 1e-3 px; C++ and numpy agree to 1e-3 network px (parsers_support),
# which the frame mapping scales by at most ~2 here.
BOX_ATOL = 0.01
CONFIDENCE_RTOL = 1e-5


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("agreement")


@pytest.fixture(scope="module")
def photos(workdir):
    """Real photos (scikit-image's astronaut, coffee and the grayscale cameraman) and one noise frame,
    as image files of different sizes and aspect ratios."""
    frames = [cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR), cv2.cvtColor(skimage_data.coffee(), cv2.COLOR_RGB2BGR),
              skimage_data.camera(), noise_images(1, seed=3, sizes=((360, 640),))[0]]
    return write_images(workdir / "photos", frames)


@pytest.fixture(scope="module")
def bundles(workdir, models_dir, fixtures_dir):
    from taostream.converter.samples.write import SAMPLE_KEY
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle

    found = {network: make_bundle(workdir, network) for network in SAMPLE_NETWORKS}
    facemask = workdir / "bundle_facemask"
    create_bundle(BundleRequest(model=models_dir / "facemask_detectnet_v2_resnet18.etlt", network="detectnet_v2",
                                output=facemask, spec=fixtures_dir / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt",
                                key="tlt_encode", precision="fp32"))
    found[FACEMASK] = facemask
    # As a user bundles an NGC PeopleNet (labels.txt, no spec): NVIDIA's published per-class thresholds
    # (person 0.4, the others 0.2) and NMS; the model is the DetectNet_v2 sample (its 3 classes).
    labels = workdir / "peoplenet_labels.txt"
    labels.write_text("person\nbag\nface\n")
    peoplenet = workdir / "bundle_peoplenet"
    create_bundle(BundleRequest(model=workdir / "sample_detectnet_v2" / "model.etlt", network="peoplenet",
                                output=peoplenet, labels=labels, key=SAMPLE_KEY, precision="fp32"))
    found[PEOPLENET] = peoplenet
    return found


def _served_name(name: str, bundle) -> str:
    return f"{name}_cpu" if name in (FACEMASK, PEOPLENET) else load_bundle(bundle).cpu_model_name


@pytest.fixture(scope="module")
def server(workdir, bundles):
    """One `taostream serve` for the CPU Triton models of every bundle: a repository holding a copy of
    each (the facemask and PeopleNet ones renamed, their network's name being taken by the sample's)."""
    from taostream.inference.backends.triton_server import free_port

    repository = workdir / "repository"
    for name, bundle in bundles.items():
        source = load_bundle(bundle).cpu_model_dir()
        assert source is not None, f"{name}: the bundle has no CPU Triton model"
        target = repository / _served_name(name, bundle)
        shutil.copytree(source, target)
        config = target / "config.pbtxt"
        config.write_text(config.read_text().replace(f'name: "{source.name}"', f'name: "{target.name}"'))
    http_port, grpc_port = free_port(), free_port()
    process, lines = start_serve(repository, http_port, grpc_port)
    yield f"127.0.0.1:{http_port}"
    stop_serve(process, lines)


def _infer(bundle, photos, out, *extra) -> list[dict]:
    assert main(["infer", str(bundle), *map(str, photos), "-o", str(out), "--no-progress", "--force", *extra]) == 0
    return json.loads((out / "results.json").read_text())


# --- what DeepStream's parser reports, from the bundle's DeepStream files only ---------------------


def _deepstream_settings(bundle):
    """(parse function, num classes, per-class pre-cluster thresholds, classifier threshold, parser
    env) from the bundle's nvinfer config and taostream_parser.env, as DeepStream reads them."""
    config = read_ini(bundle / "deepstream" / "config_infer_primary.txt")
    prop = config.group("property")
    # A classifier's config names no custom parser (nvinfer's own softmax parser names the labels):
    # the library's classifier symbol applies the same rule, top-1 at or above classifier-threshold.
    function = next((prop.get(key) for key in ("parse-bbox-func-name", "parse-bbox-instance-mask-func-name",
                                               "parse-classifier-func-name") if prop.get(key)),
                    "NvDsInferClassifierParseCustomTAO")
    num_classes = int(prop.get("num-detected-classes", "0"))
    common = config.group("class-attrs-all")
    default = float(common.get("pre-cluster-threshold", "0.2")) if common is not None else 0.2
    thresholds = []
    for class_id in range(num_classes):
        group = config.group(f"class-attrs-{class_id}")
        thresholds.append(float(group.get("pre-cluster-threshold")) if group is not None and
                          group.get("pre-cluster-threshold") is not None else default)
    env_file = bundle / "deepstream" / "taostream_parser.env"
    env = env_file.read_text().strip().split("=", 1)[1].strip('"') if env_file.is_file() else None
    return function, num_classes, thresholds, float(prop.get("classifier-threshold", "0") or 0), env


def _to_frame(box, letterbox, width: int, height: int):
    x1, x2 = ((v - letterbox.offset_x) / letterbox.scale_x for v in (box[0], box[2]))
    y1, y2 = ((v - letterbox.offset_y) / letterbox.scale_y for v in (box[1], box[3]))
    return [min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width), min(max(y2, 0.0), height)]


# --- nvinfer's own clustering after the custom parser -------------------------------------------------
# DeepStream does not report the parser's list as it is: nvinfer filters it by pre-cluster-threshold,
# then clusters per class as the config's cluster-mode says (2 NMS at nms-iou-threshold; 3 DBSCAN+NMS,
# which without minBoxes is the NMS alone; 4 none), drops what is not above post-cluster-threshold and
# keeps topk per class. Written here from DeepStream's open nvdsinfer_context_impl_output_parsing.cpp
# (DetectPostprocessor: preClusteringThreshold, nonMaximumSuppression, clusterAndFillDetectionOutputNMS /
# Hybrid, fillUnclusteredOutput, filterTopKOutputs), not from taostream: infer must report what that
# step leaves, with the settings the bundle's nvinfer config gives it.


def _deepstream_iou(a, b) -> float:
    """nvinfer's computeIoU: left/top/width/height in network pixels, no +1, 0 for an empty union."""
    def overlap(a1, a2, b1, b2):
        if a1 > b1:
            a1, a2, b1, b2 = b1, b2, a1, a2
        return 0.0 if a2 < b1 else min(a2, b2) - b1

    ax, ay, aw, ah = a.left, a.top, a.right - a.left, a.bottom - a.top
    bx, by, bw, bh = b.left, b.top, b.right - b.left, b.bottom - b.top
    inter = overlap(ax, ax + aw, bx, bx + bw) * overlap(ay, ay + ah, by, by + bh)
    union = aw * ah + bw * bh - inter
    return 0.0 if union == 0 else inter / union


def _nvinfer_clustering(found: list, bundle_path, num_classes: int, thresholds: list[float]) -> list:
    """The detections nvinfer keeps of the parser's list, in the parser's order."""
    config = read_ini(bundle_path / "deepstream" / "config_infer_primary.txt")
    mode = int(config.group("property").get("cluster-mode", "0"))
    assert mode in (2, 3, 4), f"cluster-mode={mode}: GroupRectangles/DBSCAN reports other confidences than infer"
    common = config.group("class-attrs-all")

    def attr(class_id: int, key: str, default):
        group = config.group(f"class-attrs-{class_id}")
        value = group.get(key) if group is not None else None
        if value is None and common is not None:
            value = common.get(key)
        return default if value is None else type(default)(value)

    if mode == 3:  # DBSCAN runs only with minBoxes > 0; taostream's configs leave it at nvinfer's 0
        assert all(attr(c, "minBoxes", 0) == 0 for c in range(num_classes))
    kept = []
    for class_id in range(num_classes):
        members = [(i, d) for i, d in enumerate(found) if d.class_id == class_id and d.confidence >= thresholds[class_id]]
        members.sort(key=lambda item: -item[1].confidence)  # stable, as std::stable_sort
        if mode in (2, 3):
            iou_threshold = attr(class_id, "nms-iou-threshold", -1.0)
            assert iou_threshold >= 0, f"cluster-mode={mode} without nms-iou-threshold for class {class_id}"
            chosen = []
            for item in members:
                if all(_deepstream_iou(item[1], other[1]) <= iou_threshold for other in chosen):
                    chosen.append(item)
            members = [item for item in chosen if item[1].confidence > attr(class_id, "post-cluster-threshold", 0.0)]
        top_k = attr(class_id, "topk", -1)
        kept.extend(members if top_k < 0 else members[:top_k])
    return [d for _, d in sorted(kept, key=lambda item: item[0])]


def _cpp_results(native_parsers, bundle_path, photos, monkeypatch, final_threshold=None) -> list[dict]:  # noqa: F811
    bundle = load_bundle(bundle_path)
    function, num_classes, thresholds, classifier_threshold, env = _deepstream_settings(bundle_path)
    if env is not None:
        monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", env)
    else:
        monkeypatch.delenv("TAOSTREAM_DETECTNET_V2", raising=False)
    c, h, w = bundle.dims
    records = []
    with cpu_runner(bundle.onnx_for_cpu()) as runner:
        for path in photos:
            frame = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            tensor, letterbox = preprocess_image(frame, bundle.network, bundle.dims, return_geometry=True,
                                                 **bundle.preprocessing.as_kwargs())
            outputs = {name: array[0] for name, array in runner.infer({bundle.input_name: tensor[None]}).items()}
            if bundle.network.output_layout == "softmax":
                threshold = classifier_threshold if final_threshold is None else final_threshold
                attributes = native_parsers.classify(function, outputs, threshold, net=(w, h, c))
                assert attributes is not None, f"{function} returned false"
                records.append({"classification": [(a.value, a.confidence) for a in attributes]})
                continue
            parsed = native_parsers.parse(function, outputs, w, h, num_classes, thresholds,
                                          masks=bundle.network.output_layout == "mask_rcnn")
            assert parsed is not None, f"{function} returned false"
            found = _nvinfer_clustering(parsed, bundle_path, num_classes, thresholds)
            if final_threshold is not None:
                found = [d for d in found if d.confidence >= final_threshold]
            found = sorted(found, key=lambda d: -d.confidence)[:100]
            height, width = frame.shape[:2]
            boxes = [(d.class_id, _to_frame((d.left, d.top, d.right, d.bottom), letterbox, width, height), d.confidence)
                     for d in found]
            records.append({"detections": [b for b in boxes if b[1][2] > b[1][0] and b[1][3] > b[1][1]],
                            "clustered_away": len(parsed) - len(found) if final_threshold is None else 0})
    return records


def _assert_same(cpp: list[dict], written: dict, what: str) -> int:
    """The C++ records against one results.json; returns the number of detections compared."""
    compared = 0
    for expected, record in zip(cpp, written["images"], strict=True):
        if "classification" in expected:
            got = record.get("classification")
            want = expected["classification"]
            assert (got is None) == (not want), (what, record["source"], got, want)
            if want:
                assert got["class_id"] == want[0][0], (what, record["source"])
                assert got["confidence"] == pytest.approx(want[0][1], rel=CONFIDENCE_RTOL, abs=1e-6)
                compared += 1
            continue
        dets = record["detections"]
        assert len(dets) == len(expected["detections"]), (
            f"{what}, {record['source']}: {len(dets)} detections, the C++ parser {len(expected['detections'])}")
        for det, (class_id, box, confidence) in zip(dets, expected["detections"]):
            assert det["class_id"] == class_id, (what, record["source"])
            np.testing.assert_allclose(det["bbox"], box, atol=BOX_ATOL, rtol=0, err_msg=f"{what}, {record['source']}")
            assert det["confidence"] == pytest.approx(confidence, rel=CONFIDENCE_RTOL, abs=1e-6), (what, record["source"])
        compared += len(dets)
    return compared


@pytest.mark.parametrize("threshold", [None, FINAL_THRESHOLD], ids=["bundle-thresholds", "final-threshold"])
def test_ort_triton_and_the_cpp_parser_report_the_same_boxes(bundles, photos, server, native_parsers, monkeypatch,  # noqa: F811
                                                              workdir, threshold):
    extra = [] if threshold is None else ["--threshold", str(threshold)]
    totals, clustered_away = {}, {}
    for name, bundle in bundles.items():
        if threshold is not None and name not in FINAL_THRESHOLD_NETWORKS:
            continue
        # MaskRCNN's CPU graph runs its plugins' numpy references (seconds per frame): one photo.
        photos_here = photos[:1] if name == "mask_rcnn" else photos
        cpp = _cpp_results(native_parsers, bundle, photos_here, monkeypatch, threshold)
        tag = f"{name}_{'bundle' if threshold is None else threshold}"
        ort = _infer(bundle, photos_here, workdir / f"ort_{tag}", *extra)
        triton = _infer(bundle, photos_here, workdir / f"triton_{tag}", "--backend", "triton", "--url", server,
                        "--model-name", _served_name(name, bundle), *extra)
        totals[name] = _assert_same(cpp, ort, f"{name}: infer --backend ort vs the C++ parser")
        clustered_away[name] = sum(record.get("clustered_away", 0) for record in cpp)
        _assert_same(cpp, triton, f"{name}: infer --backend triton vs the C++ parser")
        # Reported as applied: the floor the bundle's post-processing guarantees, or --threshold.
        assert ort["thresholds"] == triton["thresholds"]
        assert ort["threshold"] == triton["threshold"]
        if threshold is not None:
            assert ort["threshold"] == threshold
    # The comparison is not vacuous: most networks detect something on these frames.
    assert sum(1 for n in totals.values() if n) >= len(totals) - 3, totals
    assert totals[FACEMASK] >= 1, totals
    if threshold is None:
        # nvinfer's NMS after the plugin's is not a no-op: boxes clipped to the frame overlap more.
        assert clustered_away["ssd"] > 0, clustered_away


def test_facemask_thresholds_have_one_meaning_each(bundles, photos, workdir):
    """The real facemask model on the astronaut photo: her face is found with the same confidence (a
    DBSCAN cluster's summed coverage) whatever --threshold says, --threshold only filters, and
    results.json reports the numbers DeepStream applies (coverage 0.005 per class, the cluster
    confidence 0.1), not the registry's 0.2."""
    bundle = bundles[FACEMASK]
    runs = {t: _infer(bundle, photos[:1], workdir / f"facemask_{t}", "--threshold", str(t)) for t in (0.1, 0.5, 0.9)}
    default = _infer(bundle, photos[:1], workdir / "facemask_default")
    faces = {t: run["images"][0]["detections"] for t, run in runs.items()}
    assert len(faces[0.1]) == 1 and faces[0.1] == faces[0.5] == faces[0.9] == default["images"][0]["detections"]
    assert faces[0.1][0]["label"] in ("mask", "no-mask") and faces[0.1][0]["confidence"] > 1.0
    assert default["thresholds"] == {"pre_cluster_threshold": [pytest.approx(0.005)] * 2,
                                     "cluster_confidence_threshold": [0.1, 0.1], "final_confidence_threshold": None}
    assert default["threshold"] == 0.1
    assert [runs[t]["thresholds"]["final_confidence_threshold"] for t in runs] == [0.1, 0.5, 0.9]
    above = _infer(bundle, photos[:1], workdir / "facemask_high", "--threshold", str(faces[0.1][0]["confidence"] + 1))
    assert above["images"][0]["detections"] == []
    nvinfer = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("class-attrs-all")
    assert load_bundle(bundle).threshold == float(nvinfer.get("pre-cluster-threshold"))


def test_a_16_bit_copy_of_a_photo_gives_the_photos_detections(bundles, photos, workdir):
    # 16-bit pixels used to be clipped to 255 (a white frame): the face disappeared.
    deep = workdir / "astronaut16.png"
    assert cv2.imwrite(str(deep), cv2.imread(str(photos[0])).astype(np.uint16) * np.uint16(257))
    eight, sixteen = (_infer(bundles[FACEMASK], [path], workdir / f"depth_{i}")["images"][0]["detections"]
                      for i, path in enumerate((photos[0], deep)))
    assert len(eight) == 1 and sixteen == eight


def test_a_threshold_below_the_bundles_floor_is_reported_on_every_backend(bundles, photos, workdir, capsys):
    bundle = bundles["ssd"]
    assert main(["infer", str(bundle), str(photos[0]), "-o", str(workdir / "low"), "--no-progress", "--threshold", "0.1"]) == 0
    err = capsys.readouterr().err
    assert "warning: --threshold 0.1 is below the bundle's pre-cluster-threshold (0.3)" in err, err
    assert json.loads((workdir / "low" / "results.json").read_text())["thresholds"]["final_confidence_threshold"] == 0.1


# --- DeepStream's Triton path: the nvinferserver config against the nvinfer config --------------------


def _nvinferserver_post(bundle_path) -> dict:
    from taostream.converter.tao_spec import parse_spec
    from taostream.deepstream_configs.specs.access import as_spec_dict, spec_map, spec_value

    path = bundle_path / "deepstream" / "config_infer_primary_nvinferserver.txt"
    return as_spec_dict(parse_spec(path.read_text(encoding="utf-8"), source=str(path))), spec_value, spec_map


def test_the_nvinferserver_config_post_processes_like_the_nvinfer_config(bundles):
    """The bundle's two DeepStream configs hand the parser the same class count and per-class
    thresholds and cluster the same way (NMS IoU and topk, or nothing), so DeepStream's Triton path
    reports what its nvinfer path reports. Both files are read as DeepStream reads them: nvinfer's
    [class-attrs-N] over [class-attrs-all]; nvinferserver's per_class_params pre_threshold over its
    clustering policy's threshold."""
    post = "infer_config.postprocess."
    for name, bundle in bundles.items():
        config = read_ini(bundle / "deepstream" / "config_infer_primary.txt")
        prop = config.group("property")
        server, value, entries = _nvinferserver_post(bundle)
        function, num_classes, thresholds, classifier_threshold, _ = _deepstream_settings(bundle)
        if prop.get("network-type") == "1":
            assert float(value(server, post + "classification.threshold")) == pytest.approx(classifier_threshold), name
            continue
        det = post + "detection."
        assert int(value(server, det + "num_detected_classes")) == num_classes, name
        assert value(server, det + "custom_parse_bbox_func") == function, name
        policies = [key for key in ("nms", "simple_cluster", "dbscan", "group_rectangle")
                    if value(server, det + key) is not None]
        assert len(policies) == 1, (name, policies)
        policy = det + policies[0] + "."
        default = next(float(value(server, policy + key)) for key in ("confidence_threshold", "threshold", "pre_threshold")
                       if value(server, policy + key) is not None)
        per_class = {int(k): float(value(v, "pre_threshold")) for k, v in entries(server, det + "per_class_params")}
        assert [per_class.get(c, default) for c in range(num_classes)] == pytest.approx(thresholds), name
        mode = int(prop.get("cluster-mode"))
        common = config.group("class-attrs-all")
        if mode in (2, 3):
            assert policies == ["nms"], name
            assert float(value(server, policy + "iou_threshold")) == pytest.approx(float(common.get("nms-iou-threshold"))), name
            assert int(value(server, policy + "topk")) == int(common.get("topk")), name
            assert not any(config.group(f"class-attrs-{c}") is not None and
                           {"nms-iou-threshold", "topk"} & {e.key for e in config.group(f"class-attrs-{c}").entries}
                           for c in range(num_classes)), f"{name}: per-class NMS settings nvinferserver cannot take"
        else:
            assert mode == 4 and policies == ["simple_cluster"], (name, mode, policies)



def test_check_names_an_nvinferserver_config_that_post_processes_unlike_the_nvinfer_config(bundles, tmp_path, capsys):
    """`taostream check BUNDLE` compares the two configs' post-processing too: a PeopleNet bundle made
    before nvinferserver got per-class thresholds, and an nvinfer config whose NMS IoU was edited alone."""
    from taostream.deepstream_configs.check.bundle_consistency import NVINFER, NVINFERSERVER

    assert main(["check", str(bundles[PEOPLENET])]) == 0
    old = tmp_path / "peoplenet"
    shutil.copytree(bundles[PEOPLENET], old)
    server = old / NVINFERSERVER
    text = server.read_text()
    start = text.index("      per_class_params {")
    server.write_text(text[:start] + text[text.index("      simple_cluster {"):])  # as bundled before
    ssd = tmp_path / "ssd"
    shutil.copytree(bundles["ssd"], ssd)
    nvinfer = ssd / NVINFER
    nvinfer.write_text(nvinfer.read_text().replace("nms-iou-threshold=0.6\n", "nms-iou-threshold=0.45\n"))
    capsys.readouterr()
    assert main(["check", str(old)]) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if ": error: " in line]
    assert len(errors) == 1, errors
    assert ("per_class_params[0]: 0.2 but config_infer_primary.txt has [class-attrs-0] pre-cluster-threshold=0.4: "
            "the Triton path would report other detections than the nvinfer path; set per_class_params "
            "{ key: 0 value { pre_threshold: 0.4 } }") in errors[0]
    assert main(["check", str(ssd)]) == 1
    out = capsys.readouterr().out.splitlines()
    errors = [line for line in out if ": error: " in line]
    assert len(errors) == 1 and "nms.iou_threshold: 0.6 but config_infer_primary.txt has nms-iou-threshold=0.45" in errors[0], errors
    # the CPU Triton model's clustering parameter no longer matches the edited nvinfer config either
    warnings = [line for line in out if "nvinfer_clustering" in line]
    assert len(warnings) == 1 and ": warning: " in warnings[0] and "nms_iou=0.45," in warnings[0], warnings


def test_check_names_a_cpu_triton_model_that_does_not_cluster_as_nvinfer_does(bundles, tmp_path, capsys):
    """A bundle made before the CPU Triton model got nvinfer's clustering (no nvinfer_clustering
    parameter): check says the served model reports detections DeepStream drops."""
    assert main(["check", str(bundles["ssd"])]) == 0
    assert "nvinfer_clustering" not in capsys.readouterr().out
    old = tmp_path / "ssd"
    shutil.copytree(bundles["ssd"], old)
    (config,) = old.glob("triton/*_cpu/config.pbtxt")
    block = re.compile(r'parameters \{\n  key: "nvinfer_clustering"\n  value \{\n    string_value: "[^"]*"\n  \}\n\}\n')
    text, dropped = block.subn("", config.read_text())
    assert dropped == 1
    config.write_text(text)
    assert main(["check", str(old)]) == 0  # a warning
    warnings = [line for line in capsys.readouterr().out.splitlines() if "nvinfer_clustering" in line]
    assert len(warnings) == 1 and ": warning: parameters.nvinfer_clustering: missing, but config_infer_primary.txt" in warnings[0]
    assert "re-create the bundle" in warnings[0]


def test_mask_rcnn_masks_of_the_cpp_parser_equal_infers_on_a_photo(bundles, photos, native_parsers):  # noqa: F811
    """MaskRCNN's instance masks (results.json carries boxes only): the C++ parser's 28x28 masks for the
    detections it reports equal those of the reference infer decodes with, on the bundle's outputs for a
    real photo (the plugin graph run by the numpy references)."""
    from parsers_support import assert_same_detections
    from taostream.parsers.reference import decode

    bundle = load_bundle(bundles["mask_rcnn"])
    function, num_classes, thresholds, _, _ = _deepstream_settings(bundles["mask_rcnn"])
    c, h, w = bundle.dims
    frame = cv2.imread(str(photos[0]), cv2.IMREAD_UNCHANGED)
    tensor = preprocess_image(frame, bundle.network, bundle.dims, **bundle.preprocessing.as_kwargs())
    with cpu_runner(bundle.onnx_for_cpu()) as runner:
        outputs = {name: array[0] for name, array in runner.infer({bundle.input_name: tensor[None]}).items()}
    # The sample's random weights score nothing at the bundle's 0.8 on this photo: both sides at 0.05.
    low = [0.05] * num_classes
    got = native_parsers.parse(function, outputs, w, h, num_classes, low, masks=True)
    params = bundle.decode_params()
    assert params.nvinfer is not None  # nvinfer's step (cluster-mode 4) is the parser's list: compare the parser
    expected = decode(bundle.network, outputs, w, h, replace(params, nvinfer=None, pre_cluster_threshold=tuple(low)))
    assert expected and all(d.mask is not None and d.mask.shape == (28, 28) for d in expected)
    assert_same_detections(got, expected, masks=True)
