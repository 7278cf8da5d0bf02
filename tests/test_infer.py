"""`taostream infer` on real bundles of every sample network and on the real face-mask model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
import pytest

from taostream.cli import main
from taostream.converter.model.preprocess import preprocess_image
from taostream.deepstream_configs.ini import read_ini
from taostream.inference.bundle_info import load_bundle
from taostream.inference.results import read_kitti
from taostream.parsers.reference import DecodeParams, NvinferClustering, decode
from test_infer_support import make_bundle, noise_images, write_images

CPU_NETWORKS = ["classification", "detectnet_v2", "faster_rcnn", "ssd", "dssd", "retinanet", "yolo_v3", "yolo_v4",
                "efficientdet"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("infer")


@pytest.fixture(scope="module")
def images(workdir) -> list[Path]:
    return write_images(workdir / "images", noise_images(2, seed=3))


def _check_outputs(out: Path, bundle: Path, images: list[Path]) -> dict:
    data = json.loads((out / "results.json").read_text())
    assert [Path(i["source"]).name for i in data["images"]] == [p.name for p in images]
    labels = {"_".join(l.split()) for l in re.split("[;\n]", (bundle / "labels.txt").read_text()) if l}
    for image, record in zip(images, data["images"]):
        frame = cv2.imread(str(image))
        assert (record["width"], record["height"]) == (frame.shape[1], frame.shape[0])
        annotated = cv2.imread(str(out / "images" / f"{image.stem}.jpg"))
        assert annotated.shape == frame.shape
        if "classification" in record:
            assert record["classification"]["label"] in labels
            continue
        objects = read_kitti(out / "labels" / f"{image.stem}.txt")
        assert len(objects) == len(record["detections"])
        for obj, det in zip(objects, record["detections"]):
            assert obj.label == det["label"] and obj.label in labels
            assert 0 <= obj.left < obj.right <= frame.shape[1] and 0 <= obj.top < obj.bottom <= frame.shape[0]
            np.testing.assert_allclose([obj.left, obj.top, obj.right, obj.bottom], det["bbox"], atol=0.006)
            assert obj.score == pytest.approx(det["confidence"], abs=5e-4)
    return data


@pytest.mark.parametrize("network", CPU_NETWORKS)
def test_infer_writes_kitti_that_parses_back(network, workdir, images):
    bundle = make_bundle(workdir, network)
    out = workdir / f"out_{network}"
    assert main(["infer", str(bundle), *map(str, images), "-o", str(out), "--no-progress"]) == 0
    data = _check_outputs(out, bundle, images)
    assert data["network"] == load_bundle(bundle).network.name and data["backend"] == "ort"
    if network == "classification":
        assert not (out / "labels").exists()
        assert all("classification" in record for record in data["images"])


def test_infer_matches_an_independent_onnxruntime_pipeline(workdir, images):
    """SSD (plain resize): run the bundle's ONNX by hand, decode with the parsers' reference, scale
    boxes by frame/network size; `taostream infer` must write the same boxes."""
    bundle_path = make_bundle(workdir, "ssd")
    bundle = load_bundle(bundle_path)
    out = workdir / "out_ssd_oracle"
    assert main(["infer", str(bundle_path), str(images[0]), "-o", str(out), "--no-progress", "--threshold", "0.35"]) == 0
    frame = cv2.imread(str(images[0]))
    tensor = preprocess_image(frame, "ssd", bundle.dims, **bundle.preprocessing.as_kwargs())
    session = onnxruntime.InferenceSession(str(bundle.onnx_for_cpu()), providers=["CPUExecutionProvider"])
    raw = dict(zip([o.name for o in session.get_outputs()], session.run(None, {bundle.input_name: tensor[None]})))
    # then nvinfer's own NMS with the config's cluster-mode, nms-iou-threshold and topk (test_nvinfer_clustering)
    config = read_ini(bundle_path / "deepstream" / "config_infer_primary.txt")
    common = config.group("class-attrs-all")
    nvinfer = NvinferClustering(mode=int(config.group("property").get("cluster-mode")),
                                nms_iou=(float(common.get("nms-iou-threshold")),), top_k=(int(common.get("topk")),))
    dets = decode("ssd", raw, 300, 300, DecodeParams.uniform(len(bundle.labels), 0.35, nvinfer=nvinfer), batched=True)[0]
    dets = sorted(dets, key=lambda d: -d.confidence)[:100]
    sx, sy = frame.shape[1] / 300, frame.shape[0] / 300
    expected = [(bundle.labels[d.class_id], d.left * sx, d.top * sy, d.right * sx, d.bottom * sy) for d in dets]
    expected = [e for e in expected if e[3] > e[1] and e[4] > e[2]]
    written = read_kitti(out / "labels" / f"{images[0].stem}.txt")
    assert len(expected) > 5, "the sample should give detections at threshold 0.35"
    assert [o.label for o in written] == [e[0] for e in expected]
    np.testing.assert_allclose([[o.left, o.top, o.right, o.bottom] for o in written],
                               [e[1:] for e in expected], atol=0.006)


def test_infer_on_a_video_and_a_folder_with_batches(workdir, images):
    bundle = make_bundle(workdir, "ssd")
    video = workdir / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for frame in noise_images(5, seed=9, sizes=((240, 320),)):
        writer.write(frame)
    writer.release()
    out = workdir / "out_video"
    assert main(["infer", str(bundle), str(images[0].parent), str(video), "-o", str(out), "--batch-size", "3",
                 "--no-progress"]) == 0
    data = json.loads((out / "results.json").read_text())
    assert len(data["images"]) == len(images) + 5
    for n in range(5):
        read_kitti(out / "labels" / f"clip_{n:06d}.txt")
    capture = cv2.VideoCapture(str(out / "videos" / "clip.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    capture.release()


def test_bad_inputs_fail_cleanly_and_write_nothing(workdir, images, capsys):
    bundle = make_bundle(workdir, "ssd")
    out = workdir / "out_bad"
    assert main(["infer", str(bundle), str(workdir / "missing.png"), "-o", str(out)]) == 2
    assert "missing.png: no such file or folder" in capsys.readouterr().err
    notes = workdir / "notes.txt"
    notes.write_text("hello")
    assert main(["infer", str(bundle), str(images[0]), str(notes), "-o", str(out)]) == 2
    assert "notes.txt: not an image or video file" in capsys.readouterr().err
    assert main(["infer", str(workdir), str(images[0]), "-o", str(out)]) == 2
    assert "not a taostream bundle (no manifest.json)" in capsys.readouterr().err
    broken = workdir / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    assert main(["infer", str(bundle), str(broken), "-o", str(out), "--no-progress"]) == 2  # no image readable
    assert "broken.png: not an image OpenCV can read: its content is not an image" in capsys.readouterr().err
    assert not out.exists(), "a failed run must leave no output folder"
    assert not any(p.name.startswith(".out_bad") for p in workdir.iterdir())


def test_stream_urls_are_pointed_at_deepstream_app_and_file_uris_read(workdir, images, capsys):
    """A camera URL where infer reads files (was "rtsp:/cam:554/live: no such file or folder", the URL
    folded by Path), and the file:// URI of an image, as a DeepStream source names it."""
    bundle = make_bundle(workdir, "ssd")
    out = workdir / "out_url"
    assert main(["infer", str(bundle), "rtsp://cam:554/live", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("taostream: error: rtsp://cam:554/live: a stream URL") and "deepstream-app" in err, err
    assert not out.exists()
    assert main(["infer", str(bundle), images[0].resolve().as_uri(), "-o", str(out), "--no-progress"]) == 0
    assert (out / "labels" / f"{images[0].stem}.txt").is_file()


def test_plugin_model_without_cpu_graph_runs_with_plugin_references(workdir, images):
    bundle = make_bundle(workdir, "mask_rcnn")  # no CPU Triton model: the graph keeps the MaskRCNN plugins
    out = workdir / "out_mrcnn"
    assert main(["infer", str(bundle), *map(str, images), "-o", str(out), "--threshold", "0.5", "--no-progress"]) == 0
    data = _check_outputs(out, bundle, images)
    assert any(record["detections"] for record in data["images"])


def test_infer_on_the_real_face_mask_model(workdir, models_dir, fixtures_dir):
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle

    bundle = workdir / "bundle_facemask"
    create_bundle(BundleRequest(model=models_dir / "facemask_detectnet_v2_resnet18.etlt", network="detectnet_v2",
                                output=bundle, spec=fixtures_dir / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt",
                                key="tlt_encode", precision="fp32"))
    assert load_bundle(bundle).labels == ["mask", "no-mask"]
    frames = write_images(workdir / "face_images", noise_images(1, seed=5, sizes=((544, 960),)))
    out = workdir / "out_facemask"
    assert main(["infer", str(bundle), *map(str, frames), "-o", str(out), "--no-progress", "--threshold", "0.01"]) == 0
    _check_outputs(out, bundle, frames)


@pytest.mark.parametrize("network", ["yolo_v4", "classification"])
def test_triton_backend_writes_what_onnxruntime_writes(workdir, images, network):
    """`--backend triton` (a server started for the run, gRPC, shared memory) and `--backend ort`
    give the same results.json detections."""
    pytest.importorskip("tritonclient.grpc", reason="the `triton` extra is not installed")
    bundle = make_bundle(workdir, network)
    runs = {}
    for backend, extra in (("ort", []), ("triton", ["--protocol", "grpc", "--shared-memory"])):
        out = workdir / f"out_{network}_{backend}"
        assert main(["infer", str(bundle), *map(str, images), "-o", str(out), "--backend", backend,
                     "--no-progress", "--no-annotate", *extra]) == 0
        runs[backend] = json.loads((out / "results.json").read_text())
        assert not (out / "images").exists()
    assert runs["triton"]["backend"] == "triton"
    key = "classification" if network == "classification" else "detections"
    assert all(i.get(key) for i in runs["ort"]["images"])
    assert [i[key] for i in runs["triton"]["images"]] == [i[key] for i in runs["ort"]["images"]]
