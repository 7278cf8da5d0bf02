"""KITTI writer/reader (TAO's line format), the run JSON, and OpenCV drawing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from taostream.converter.errors import TaostreamError
from taostream.inference.detector import ImageResult
from taostream.inference.results import (
    annotate, class_color, kitti_line, label_name, parse_kitti, read_kitti, write_kitti, write_run_json)
from taostream.parsers.reference import Attribute, Detection

LABELS = ["car", "traffic light", "person"]


def test_kitti_line_is_tao_format():
    line = kitti_line("car", (10, 20.5, 110.126, 220), 0.87654)
    assert line == "car 0.00 0 0.00 10.00 20.50 110.13 220.00 0.00 0.00 0.00 0.00 0.00 0.00 0.00 0.877"
    assert len(line.split()) == 16


def test_label_names_have_no_spaces_and_unknown_ids_are_named():
    assert label_name(LABELS, 1) == "traffic_light"
    assert label_name(LABELS, 7) == "class_7"
    assert label_name(LABELS, -1) == "class_-1"


def test_kitti_round_trip(tmp_path):
    dets = [Detection(0, 1.25, 2.5, 30.0, 40.75, 0.9), Detection(1, 100, 50, 120, 90, 0.3333)]
    path = write_kitti(tmp_path / "labels" / "a.txt", dets, LABELS)
    objects = read_kitti(path)
    assert [o.label for o in objects] == ["car", "traffic_light"]
    assert (objects[0].left, objects[0].top, objects[0].right, objects[0].bottom) == (1.25, 2.5, 30.0, 40.75)
    assert objects[1].score == pytest.approx(0.333)


def test_empty_kitti_file(tmp_path):
    assert read_kitti(write_kitti(tmp_path / "e.txt", [], LABELS)) == []
    assert (tmp_path / "e.txt").read_text() == ""


def test_kitti_ground_truth_lines_without_score_parse():
    objects = parse_kitti("Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59\n")
    assert objects[0].label == "Car" and objects[0].score == 1.0


@pytest.mark.parametrize("text, message", [
    ("car 0 0 0 1 2 3\n", r"x.txt:1: 7 fields"),
    ("car 0.00 0 0.00 a 2 3 4 0 0 0 0 0 0 0 0.5\n", r"x.txt:1: the box .* must be numbers"),
    ("\ncar 0.00 0 0.00 10 2 3 4 0 0 0 0 0 0 0 0.5\n", r"x.txt:2: box 10.0,2.0,3.0,4.0 has x2<x1"),
])
def test_kitti_errors_name_the_line(text, message):
    with pytest.raises(TaostreamError, match=message):
        parse_kitti(text, "x.txt")


def test_run_json(tmp_path):
    results = [ImageResult("a.png", 640, 480, [Detection(2, 1, 2, 3, 4, 0.5)]),
               ImageResult("b.png", 224, 224, classification=Attribute(0, 1, 0.75))]
    path = write_run_json(tmp_path / "results.json", {"network": "ssd"}, results, LABELS)
    data = json.loads(path.read_text())
    assert data["network"] == "ssd"
    assert data["images"][0]["detections"] == [{"class_id": 2, "label": "person", "bbox": [1, 2, 3, 4], "confidence": 0.5}]
    assert data["images"][1]["classification"] == {"class_id": 1, "label": "traffic_light", "confidence": 0.75}


def test_annotate_draws_box_edges_in_the_class_color():
    frame = np.zeros((100, 200, 3), np.uint8)
    result = ImageResult("x", 200, 100, [Detection(1, 50, 40, 150, 90, 0.9)])
    image = annotate(frame, result, LABELS)
    color = class_color(1)
    assert tuple(image[65, 50]) == color  # left edge, below the label
    assert tuple(image[65, 150]) == color  # right edge
    assert tuple(image[65, 100]) == (0, 0, 0)  # inside the box: untouched
    assert frame.sum() == 0, "the input frame must not be modified"
    assert image[20:40, 50:100].any(), "the label is drawn above the box"


def test_annotate_blends_instance_masks_inside_the_box():
    frame = np.zeros((100, 100, 3), np.uint8)
    mask = np.zeros((28, 28), np.float32)
    mask[:, :14] = 1.0  # left half of the box
    result = ImageResult("x", 100, 100, [Detection(0, 20, 20, 80, 80, 0.9, mask=mask)])
    image = annotate(frame, result, LABELS)
    expected = (0.5 * np.asarray(class_color(0), np.float32)).astype(np.uint8)
    assert tuple(image[50, 30]) == tuple(expected)  # masked (left half)
    assert tuple(image[50, 70]) == (0, 0, 0)  # unmasked (right half)


def test_class_colors_differ():
    assert len({class_color(i) for i in range(10)}) == 10
