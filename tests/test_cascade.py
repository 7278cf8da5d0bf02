"""`taostream infer APP`: the CPU cascade of a `taostream pipeline` folder, on NVIDIA's real face-mask
DetectNet_v2 (.etlt) and the astronaut photo: each secondary's label and confidence equal the
classifier run by hand on the crop nvinfer would take from the detector's box; class and min-size
filters apply; a tracker keeps one id for the face across video frames."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
import pytest

from cli_support import assert_clean_error, run_cli
from taostream.cli import main
from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.pipeline.make import PipelineRequest, create_pipeline, parse_secondary

KEY = "cascade-k3y"


@pytest.fixture(scope="module")
def work(tmp_path_factory, fixtures_dir):
    from test_uff_to_onnx import astronaut_photo

    root = tmp_path_factory.mktemp("cascade")
    photo = cv2.cvtColor(astronaut_photo(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(root / "astronaut.png"), photo)
    writer = cv2.VideoWriter(str(root / "pan.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (512, 512))
    for step in range(6):  # the photo panned right by 4 pixels per frame
        frame = np.zeros_like(photo)
        frame[:, 4 * step:] = photo[:, :512 - 4 * step]
        writer.write(frame)
    writer.release()
    detector = root / "facemask"
    create_bundle(BundleRequest(
        model=fixtures_dir / "models" / "facemask_detectnet_v2_resnet18.etlt", network="detectnet_v2", output=detector,
        spec=fixtures_dir / "specs" / "facemask_detectnet_v2_inference_kitti_etlt.txt", key="tlt_encode"))
    sample = write_sample("classification", root / "sample", key=KEY)
    classifiers = []
    for name in ("expression", "glasses"):
        out = root / name
        create_bundle(BundleRequest(model=sample.model, network="classification", output=out, spec=sample.spec, key=KEY,
                                    classmap=sample.extra["classmap.json"]))
        classifiers.append(out)
    return {"root": root, "photo": root / "astronaut.png", "video": root / "pan.mp4", "detector": detector,
            "classifiers": classifiers}


def _pipeline(work, name: str, first: str, second: str, tracker: str = "nvdcf") -> Path:
    app = work["root"] / name
    if not app.exists():
        create_pipeline(PipelineRequest(output=app, primary=work["detector"], tracker=tracker,
                                        secondaries=[parse_secondary(f"{work['classifiers'][0]}:{first}"),
                                                     parse_secondary(f"{work['classifiers'][1]}:{second}")]))
    return app


def _run(app: Path, out: Path, *inputs) -> dict:
    assert main(["infer", str(app), *map(str, inputs), "-o", str(out), "--no-progress"]) == 0
    return json.loads((out / "results.json").read_text())


def _by_hand(classifier: Path, frame: np.ndarray, box: list[float]) -> tuple[str, float]:
    """The classifier on nvinfer's crop of ``box``, preprocessed from its nvinfer config's numbers."""
    left, top = int(box[0]), int(box[1])
    width, height = int(box[2] - box[0]), int(box[3] - box[1])
    left, top = left + left % 2, top + top % 2  # GST_ROUND_UP_2
    width, height = width - width % 2, height - height % 2  # GST_ROUND_DOWN_2
    crop = frame[top:top + height, left:left + width]
    prop = read_ini(classifier / "deepstream" / "config_infer_primary.txt").group("property")
    channels, net_h, net_w = (int(v) for v in prop.get("infer-dims").split(";"))
    assert prop.get("model-color-format") == "1" and prop.get("maintain-aspect-ratio") == "0"  # BGR, plain resize
    scaled = cv2.resize(crop, (net_w, net_h), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    offsets = np.array([float(v) for v in prop.get("offsets").split(";")], dtype=np.float32)
    tensor = ((scaled - offsets) * float(prop.get("net-scale-factor"))).transpose(2, 0, 1)[None]
    session = onnxruntime.InferenceSession(str(classifier / "model.onnx"), providers=["CPUExecutionProvider"])
    probabilities = session.run(None, {session.get_inputs()[0].name: tensor})[0][0].reshape(-1)
    names = (classifier / "labels.txt").read_text().strip().split(";")
    best = int(np.argmax(probabilities))
    return names[best], float(probabilities[best])


def test_secondary_results_equal_the_classifier_run_by_hand_on_the_crops(work, tmp_path):
    app = _pipeline(work, "app", "classes=no-mask,mask:min-size=32x32", "classes=mask")
    data = _run(app, tmp_path / "out", work["photo"])
    (image,) = data["images"]
    faces = image["objects"]
    assert [o["label"] for o in faces] == ["no-mask"]  # the astronaut's face, no mask
    assert faces[0]["track_id"] is None  # a still image: no tracking
    frame = cv2.imread(str(work["photo"]))
    expected_label, expected_confidence = _by_hand(work["classifiers"][0], frame, faces[0]["bbox"])
    result = faces[0]["secondaries"]
    assert set(result) == {"2"}  # gie 3 operates on 'mask' objects only
    assert result["2"]["label"] == expected_label
    assert result["2"]["confidence"] == pytest.approx(expected_confidence, abs=2e-6)
    kitti = (tmp_path / "out" / "labels" / "astronaut.txt").read_text().split()
    assert kitti[0] == "no-mask" and [float(v) for v in kitti[4:8]] == pytest.approx(faces[0]["bbox"], abs=1e-2)
    assert data["secondaries"][1]["operate_on_class_ids"] == [0]  # 'mask' is class 0 of the detector


def test_min_size_keeps_small_objects_from_a_secondary(work, tmp_path):
    app = _pipeline(work, "app_big", "min-size=400x400", "min-size=64x64")
    (image,) = _run(app, tmp_path / "out", work["photo"])["images"]
    (face,) = image["objects"]
    width, height = face["bbox"][2] - face["bbox"][0], face["bbox"][3] - face["bbox"][1]
    assert width < 400 and height >= 64 and width >= 64
    assert set(face["secondaries"]) == {"3"}


def test_tracker_keeps_the_face_id_across_video_frames(work, tmp_path):
    pytest.importorskip("norfair", reason="the `track` extra is not installed (pip install -e '.[track]')")
    app = _pipeline(work, "app", "classes=no-mask,mask:min-size=32x32", "classes=mask")
    data = _run(app, tmp_path / "out", work["video"])
    frames = data["images"]
    assert len(frames) == 6 and data["tracking_library"].startswith("norfair")
    ids = [[o["track_id"] for o in f["objects"] if o["label"] == "no-mask"] for f in frames]
    assert all(len(i) == 1 for i in ids) and len({i[0] for i in ids}) == 1 and ids[0][0] is not None
    lefts = [f["objects"][0]["bbox"][0] for f in frames]
    assert lefts[-1] - lefts[0] > 10  # the face did move
    assert sorted(p.name for p in (tmp_path / "out" / "labels").iterdir())[0] == "pan_000000.txt"
    untracked = _run(_pipeline(work, "app_untracked", "classes=no-mask", "classes=mask", tracker="none"),
                     tmp_path / "out2", work["video"])
    assert {o["track_id"] for f in untracked["images"] for o in f["objects"]} == {None}


def test_pipeline_infer_refuses_other_backends(work, tmp_path):
    app = _pipeline(work, "app", "classes=no-mask,mask:min-size=32x32", "classes=mask")
    result = run_cli("infer", app, work["photo"], "-o", tmp_path / "out", "--backend", "trt")
    assert_clean_error(result, "a pipeline runs on the CPU with ONNX Runtime")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage,says", [
    (lambda app: (app / "pipeline.json").write_text("{\n"), "pipeline.json: unreadable pipeline manifest"),
    (lambda app: (app / "pipeline.json").write_text((app / "pipeline.json").read_text().replace(
        str(Path(json.loads((app / "pipeline.json").read_text())["secondaries"][0]["path"])), "/nonexistent/bundle")),
     "/nonexistent/bundle"),
], ids=["garbage-manifest", "bundle-gone"])
def test_damaged_pipeline_is_one_line(damage, says, work, tmp_path):
    import shutil

    app = tmp_path / "app"
    shutil.copytree(_pipeline(work, "app", "classes=no-mask,mask:min-size=32x32", "classes=mask"), app)
    damage(app)
    result = run_cli("infer", app, work["photo"], "-o", tmp_path / "out")
    assert result.returncode == 2
    assert_clean_error(result, says)
    assert not (tmp_path / "out").exists()
