"""Boxes mapped back from network pixels to the frame, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from taostream.converter.model.preprocess import letterbox_geometry, preprocess_image
from taostream.inference.geometry import detections_to_frame, frame_letterbox, to_frame_coordinates
from taostream.parsers.reference import Detection


def test_plain_resize_scales_each_axis():
    # 1280x720 -> 640x360: every coordinate doubles.
    box = frame_letterbox(1280, 720, 640, 360, maintain_aspect_ratio=False, symmetric_padding=False)
    out = to_frame_coordinates([[10, 20, 110, 220]], box, 1280, 720)
    np.testing.assert_allclose(out, [[20, 40, 220, 440]])


def test_plain_resize_with_different_axis_ratios():
    # 1000x500 -> 960x544: x / 0.96, y / 1.088.
    box = frame_letterbox(1000, 500, 960, 544, False, False)
    out = to_frame_coordinates([[96, 54.4, 480, 272]], box, 1000, 500)
    np.testing.assert_allclose(out, [[100, 50, 500, 250]])


def test_letterbox_right_bottom_padding():
    # 1920x1080 into 960x960 with aspect kept: ratio 0.5, image 960x540 at the top-left.
    box = frame_letterbox(1920, 1080, 960, 960, True, False)
    assert (box.offset_x, box.offset_y, box.width, box.height) == (0, 0, 960, 540)
    out = to_frame_coordinates([[100, 50, 300, 250]], box, 1920, 1080)
    np.testing.assert_allclose(out, [[200, 100, 600, 500]])


def test_letterbox_symmetric_padding():
    # Same frame, centred: (960 - 540) / 2 = 210 px of padding above.
    box = frame_letterbox(1920, 1080, 960, 960, True, True)
    assert (box.offset_x, box.offset_y) == (0, 210)
    out = to_frame_coordinates([[100, 260, 300, 460]], box, 1920, 1080)
    np.testing.assert_allclose(out, [[200, 100, 600, 500]])


def test_symmetric_padding_on_a_tall_frame_pads_left_and_right():
    # 500x1000 into 400x400: ratio 0.4, image 200x400, 100 px each side.
    box = frame_letterbox(500, 1000, 400, 400, True, True)
    assert (box.offset_x, box.offset_y, box.width, box.height) == (100, 0, 200, 400)
    out = to_frame_coordinates([[100, 0, 300, 400]], box, 500, 1000)
    np.testing.assert_allclose(out, [[0, 0, 500, 1000]])


def test_boxes_in_the_padding_are_clipped_or_dropped():
    box = frame_letterbox(1920, 1080, 960, 960, True, False)  # rows 540.. are padding
    dets = [Detection(1, 10, 600, 50, 700, 0.9),  # entirely in the padding: dropped
            Detection(2, 10, 500, 50, 700, 0.8)]  # half in: clipped to the frame bottom
    mapped = detections_to_frame(dets, box, 1920, 1080)
    assert len(mapped) == 1
    assert mapped[0].class_id == 2
    assert (mapped[0].left, mapped[0].top, mapped[0].right, mapped[0].bottom) == (20, 1000, 100, 1080)
    assert mapped[0].confidence == pytest.approx(0.8)


def test_geometry_is_the_one_preprocessing_uses():
    """The letterbox preprocess_image reports puts frame pixels where the mapping expects them."""
    frame = np.zeros((300, 600, 3), np.uint8)
    frame[100:200, 300:400] = 255  # a white square
    tensor, box = preprocess_image(frame, "yolo_v4", (3, 384, 384), net_scale_factor=1.0, offsets=(0, 0, 0),
                                   maintain_aspect_ratio=True, symmetric_padding=True, return_geometry=True)
    assert box == letterbox_geometry(600, 300, 384, 384, True, True)
    ys, xs = np.nonzero(tensor[0] > 127)  # CHW
    found = to_frame_coordinates([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], box, 600, 300)
    np.testing.assert_allclose(found, [[300, 100, 400, 200]], atol=1.0)
