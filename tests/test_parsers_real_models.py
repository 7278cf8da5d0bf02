"""The parsers on tensors produced by real NVIDIA DetectNet_v2 models (shared fixtures): the .etlt
is decoded, translated UFF -> ONNX by the converter and run in ONNX Runtime on a synthetic image;
the C++ parser and the numpy reference must agree (parsers_support tolerances), and the licence
plate detector must find the plates drawn into the image."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REAL_ETLT
from taostream.converter.model.etlt import read_etlt
from taostream.converter.uff.to_onnx import uff_to_onnx
from taostream.parsers import reference as ref

from parsers_support import DETECTNET, assert_same_detections, native_parsers  # noqa: F401

PLATES = [(100, 100), (350, 250), (200, 380)]  # top-left corners of 160x50 plates


def plate_image(height: int, width: int) -> np.ndarray:
    """Grey scene with three white plates carrying seven dark characters each (RGB, HWC)."""
    image = np.full((height, width, 3), 90, np.uint8)
    for x, y in PLATES:
        image[y:y + 50, x:x + 160] = 235
        for i in range(7):
            image[y + 10:y + 40, x + 12 + i * 21:x + 24 + i * 21] = 20
    return image


def run_model(models_dir, name: str):
    ort = pytest.importorskip("onnxruntime")
    key, input_name, (_, height, width) = REAL_ETLT[name]
    payload = read_etlt(models_dir / name, key)
    session = ort.InferenceSession(uff_to_onnx(payload.data, input_name=payload.input_name).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    # DetectNet_v2 preprocessing: RGB, scale 1/255, no offsets (FACTS §2).
    tensor = plate_image(height, width).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    cov, bbox = session.run(["output_cov/Sigmoid", "output_bbox/BiasAdd"], {input_name: tensor})
    return cov[0], bbox[0], width, height


def iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("mode", ["dbscan", "nms", "dbscan_nms", "none"])
def test_licence_plate_detector_outputs(native_parsers, models_dir, monkeypatch, mode):
    cov, bbox, width, height = run_model(models_dir, "lpd_usa_detectnet_v2_pruned.etlt")
    config = ref.DetectNetV2Clustering(mode=mode, confidence_threshold=0.1)
    params = ref.DecodeParams.uniform(1, 0.05, detectnet_v2=config)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", config.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, width, height, params)
    got = native_parsers.parse(DETECTNET, {"output_cov/Sigmoid": cov, "output_bbox/BiasAdd": bbox}, width, height, 1, [0.05])
    assert_same_detections(got, expected)
    if mode != "none":
        drawn = [(x, y, x + 160, y + 50) for x, y in PLATES]
        assert len(got) == 3
        for plate in drawn:
            assert max(iou(plate, (d.left, d.top, d.right, d.bottom)) for d in got) > 0.6, plate


@pytest.mark.parametrize("mode", ["nms", "none"])
@pytest.mark.parametrize("name", ["facemask_detectnet_v2_resnet18.etlt", "lpd_ccpd_detectnet_v2_pruned.etlt"])
def test_other_real_detectnet_models_agree_at_a_low_threshold(native_parsers, models_dir, monkeypatch, name, mode):
    # No faces or Chinese plates in the image: the threshold is set just under the 40 strongest
    # cells so the real regressor outputs still reach the clustering (coverage sums stay far
    # below DBSCAN's minimum of 1, hence NMS and raw cells).
    cov, bbox, width, height = run_model(models_dir, name)
    classes = cov.shape[0]
    threshold = float(np.sort(cov.reshape(-1))[-40])
    config = ref.DetectNetV2Clustering(mode=mode, nms_iou=0.3)
    params = ref.DecodeParams.uniform(classes, threshold, detectnet_v2=config)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", config.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, width, height, params)
    got = native_parsers.parse(DETECTNET, {"output_cov/Sigmoid": cov, "output_bbox/BiasAdd": bbox}, width, height,
                               classes, [threshold] * classes)
    assert_same_detections(got, expected)
    assert expected
