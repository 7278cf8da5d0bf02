"""nvinfer's own clustering after a detector's parser (parsers.reference.NvinferClustering) and the
settings an nvinfer config gives it (deepstream_configs.nvinfer_clustering): NVIDIA's DeepStream 5
configs read as gst-nvinfer reads them, and the clustering on boxes whose answer is worked out by hand
from DeepStream's nvdsinfer rules (per class, descending confidence, IoU of left/top/width/height
without +1 kept when not over the threshold, confidence above post-cluster-threshold, topk)."""

from __future__ import annotations

import pytest

from taostream.deepstream_configs.nvinfer_clustering import nvinfer_clustering
from taostream.parsers.reference import Detection, NvinferClustering

CONFIGS = "configs"


def test_nvidias_yolov3_config_is_nms_at_nvinfers_default_iou(fixtures_dir):
    # cluster-mode=3 (DBSCAN + NMS) without minBoxes or nms-iou-threshold: nvinfer's NMS at its 0.3, no topk.
    clustering = nvinfer_clustering(fixtures_dir / CONFIGS / "pgie_yolov3_tlt_config.txt")
    assert clustering == NvinferClustering(mode=3, nms_iou=(0.3,) * 4, top_k=(-1,) * 4, post_cluster_threshold=(0.0,) * 4)


@pytest.mark.parametrize("name", ["pgie_ssd_tlt_config.txt", "pgie_detectnet_v2_tlt_config.txt", "pgie_frcnn_tlt_config.txt"])
def test_nvidias_configs_without_cluster_mode_group_rectangles_and_are_not_reproduced(fixtures_dir, name):
    # No cluster-mode: nvinfer's default 0, OpenCV's groupRectangles (confidence -0.1): infer cannot say so.
    assert nvinfer_clustering(fixtures_dir / CONFIGS / name) is None


def test_segmentation_and_classifier_configs_have_no_detector_clustering(fixtures_dir, tmp_path):
    assert nvinfer_clustering(fixtures_dir / CONFIGS / "pgie_unet_tlt_config_peoplesemsegnet_shuffleseg.txt") is None
    classifier = tmp_path / "sgie.txt"
    classifier.write_text("[property]\nnetwork-type=1\nnum-detected-classes=3\ncluster-mode=2\n")
    assert nvinfer_clustering(classifier) is None


def test_class_attrs_n_override_class_attrs_all(tmp_path):
    config = tmp_path / "c.txt"
    config.write_text("[property]\nnum-detected-classes=3\ncluster-mode=2\n"
                      "[class-attrs-all]\nnms-iou-threshold=0.5\ntopk=20\n"
                      "[class-attrs-1]\nnms-iou-threshold=0.7\npost-cluster-threshold=0.4\n")
    assert nvinfer_clustering(config) == NvinferClustering(
        mode=2, nms_iou=(0.5, 0.7, 0.5), top_k=(20, 20, 20), post_cluster_threshold=(0.0, 0.4, 0.0))


def test_dbscan_with_min_boxes_is_not_reproduced(tmp_path):
    config = tmp_path / "c.txt"
    config.write_text("[property]\nnum-detected-classes=1\ncluster-mode=3\n[class-attrs-all]\nminBoxes=3\neps=0.2\n")
    assert nvinfer_clustering(config) is None


def _box(class_id, left, top, right, bottom, confidence):
    return Detection(class_id, float(left), float(top), float(right), float(bottom), float(confidence))


def test_nms_per_class_in_confidence_order_keeps_the_parsers_order():
    a = _box(0, 0, 0, 10, 10, 0.6)
    b = _box(0, 0, 0, 10, 12, 0.9)   # IoU(a, b) = 100/120 = 0.833: a goes
    c = _box(1, 0, 0, 10, 10, 0.5)   # another class: kept whatever it overlaps
    d = _box(0, 0, 5, 10, 15, 0.7)   # IoU(d, b) = 70/150 = 0.467: kept at 0.5, gone at 0.4
    found = [a, b, c, d]
    assert NvinferClustering(mode=2, nms_iou=(0.5,)).apply(found) == [b, c, d]
    assert NvinferClustering(mode=2, nms_iou=(0.4,)).apply(found) == [b, c]
    assert NvinferClustering(mode=3, nms_iou=(0.9,)).apply(found) == found
    assert NvinferClustering(mode=4).apply(found) == found


def test_iou_exactly_at_the_threshold_is_kept_and_an_empty_union_is_zero():
    a = _box(0, 0, 0, 10, 10, 0.9)
    half = _box(0, 0, 0, 10, 5, 0.8)  # IoU 50/100 = 0.5
    assert NvinferClustering(mode=2, nms_iou=(0.5,)).apply([a, half]) == [a, half]
    point = _box(0, 3, 3, 3, 3, 0.7)  # zero area inside a: union 100, IoU 0
    assert NvinferClustering(mode=2, nms_iou=(0.0,)).apply([a, point]) == [a, point]


def test_post_cluster_threshold_and_topk_per_class():
    boxes = [_box(0, 20 * i, 0, 20 * i + 10, 10, s) for i, s in enumerate((0.3, 0.9, 0.5, 0.0))]
    other = _box(1, 0, 50, 10, 60, 0.2)
    found = [*boxes, other]
    # NMS modes keep only what is above post-cluster-threshold (0 by default: a 0.0 box goes).
    assert NvinferClustering(mode=2, nms_iou=(0.5,)).apply(found) == [*boxes[:3], other]
    assert NvinferClustering(mode=2, nms_iou=(0.5,), post_cluster_threshold=(0.4, 0.0)).apply(found) == [boxes[1], boxes[2], other]
    # topk keeps the most confident per class, in every mode; the parser's order stays.
    assert NvinferClustering(mode=4, top_k=(2, -1)).apply(found) == [boxes[1], boxes[2], other]
    assert NvinferClustering(mode=4, top_k=(0,)).apply(found) == []


def test_settings_round_trip_through_the_triton_parameter_text():
    clustering = NvinferClustering(mode=2, nms_iou=(0.6, 0.45), top_k=(200, 10), post_cluster_threshold=(0.0, 0.25))
    assert NvinferClustering.from_text(clustering.to_text()) == clustering
    with pytest.raises(ValueError, match="cluster-mode 0"):
        NvinferClustering(mode=0)
    with pytest.raises(ValueError, match="unknown"):
        NvinferClustering.from_text("mode=2 eps=0.2")
