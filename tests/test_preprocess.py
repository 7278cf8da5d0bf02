"""nvinfer-style preprocessing: y = net-scale-factor * (x - offsets), color order, resize modes, padding.
Expected values are worked out by hand from the nvinfer formula, not from the code."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from taostream.converter.model.preprocess import ImageError, letterbox_geometry, load_bgr, preprocess_batch, preprocess_image
from taostream.converter.registry import get_network


def solid(h, w, bgr):
    return np.tile(np.array(bgr, np.uint8), (h, w, 1))


def test_detectnet_v2_rgb_scaled_by_1_over_255():
    out = preprocess_image(solid(2, 2, (10, 20, 30)), "detectnet_v2", (3, 4, 4))
    assert out.shape == (3, 4, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], [30 / 255, 20 / 255, 10 / 255], rtol=1e-6)  # R, G, B planes
    assert np.ptp(out, axis=(1, 2)).max() == 0


def test_caffe_bgr_offsets_subtracted_in_bgr_order():
    out = preprocess_image(solid(3, 3, (110, 120, 130)), "ssd", (3, 3, 3))
    np.testing.assert_allclose(out[:, 1, 1], [110 - 103.939, 120 - 116.779, 130 - 123.68], rtol=1e-5)


def test_mask_rcnn_scale_and_offsets_in_rgb_order():
    out = preprocess_image(solid(2, 2, (0, 100, 200)), "mask_rcnn", (3, 2, 2))
    np.testing.assert_allclose(out[:, 0, 0], [0.017507 * (200 - 123.675), 0.017507 * (100 - 116.28), 0.017507 * (0 - 103.53)], rtol=1e-5)


def test_letterbox_pads_bottom_with_black_before_normalization():
    # 10 rows x 20 cols into 20x20: scale 1, image in rows 0..9, rows 10..19 black -> -offsets.
    image = solid(10, 20, (200, 200, 200))
    out, box = preprocess_image(image, "yolo_v3", (3, 20, 20), return_geometry=True)
    assert (box.width, box.height, box.offset_x, box.offset_y) == (20, 10, 0, 0)
    np.testing.assert_allclose(out[:, 5, 5], [200 - 103.939, 200 - 116.779, 200 - 123.68], rtol=1e-5)
    np.testing.assert_allclose(out[:, 15, 5], [-103.939, -116.779, -123.68], rtol=1e-5)


def test_symmetric_padding_centres_the_image():
    box = letterbox_geometry(20, 10, 20, 20, maintain_aspect_ratio=True, symmetric_padding=True)
    assert (box.offset_x, box.offset_y, box.height) == (0, 5, 10)
    out = preprocess_image(solid(10, 20, (255, 255, 255)), "detectnet_v2", (3, 20, 20),
                           maintain_aspect_ratio=True, symmetric_padding=True)
    np.testing.assert_allclose(out[0, [4, 5, 14, 15], 0], [0, 1, 1, 0], rtol=1e-6)


def test_plain_resize_stretches_and_interpolation_modes_differ():
    image = np.zeros((1, 2, 3), np.uint8)
    image[0, 1] = 255
    nearest = preprocess_image(image, "detectnet_v2", (3, 1, 4))
    np.testing.assert_allclose(nearest[0, 0], [0, 0, 1, 1], rtol=1e-6)
    bilinear = preprocess_image(image, "detectnet_v2", (3, 1, 4), interpolation="bilinear")
    np.testing.assert_allclose(bilinear[0, 0] * 255, [0, 64, 191, 255], atol=1)  # OpenCV half-pixel centres


def test_nhwc_network_and_overrides(tmp_path):
    out = preprocess_image(solid(4, 4, (1, 2, 3)), "efficientdet", (3, 4, 4))
    assert out.shape == (4, 4, 3)
    np.testing.assert_allclose(out[0, 0], [3, 2, 1])  # RGB, scale 1, offsets 0
    frcnn = get_network("faster_rcnn")
    out = preprocess_image(solid(4, 4, (10, 10, 10)), frcnn, (3, 4, 4), offsets=(1.0, 2.0, 3.0))
    np.testing.assert_allclose(out[:, 0, 0], [9, 8, 7])  # spec image mean replaces the registry default


def test_reads_files_like_arrays_and_reports_bad_input(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), image)
    np.testing.assert_array_equal(preprocess_image(path, "ssd", (3, 6, 8)), preprocess_image(image, "ssd", (3, 6, 8)))
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(ImageError, match="notes.jpg"):
        preprocess_image(bad, "ssd")
    with pytest.raises(ImageError, match="offsets"):
        preprocess_image(image, "ssd", (3, 6, 8), offsets=(1.0, 2.0))


def _photo_bgr() -> np.ndarray:
    """scikit-image's 'astronaut' photo (public domain, shipped with the package), BGR uint8."""
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the public-domain photo")
    return cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)


def test_16_bit_images_are_scaled_by_their_bit_depth_not_clipped(tmp_path):
    # A 16-bit copy of a photo (what a converter writes: value * 257) used to be clipped to 255,
    # i.e. an almost white frame; the DetectNet_v2 facemask model then found nothing in it.
    photo = _photo_bgr()
    deep = photo.astype(np.uint16) * np.uint16(257)
    png = tmp_path / "photo16.png"
    assert cv2.imwrite(str(png), deep)
    assert cv2.imread(str(png), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    np.testing.assert_array_equal(load_bgr(png), photo)
    np.testing.assert_array_equal(load_bgr(deep), photo)
    # Values between two 8-bit levels round to the nearest one (65535 -> 255, 32896 -> 128, 128 -> 0).
    np.testing.assert_array_equal(load_bgr(np.full((2, 2, 3), 32896, np.uint16)), np.full((2, 2, 3), 128, np.uint8))
    np.testing.assert_array_equal(load_bgr(np.full((2, 2, 3), 128, np.uint16)), np.zeros((2, 2, 3), np.uint8))
    # Calibration and inference preprocess through load_bgr: the tensors are the 8-bit photo's.
    np.testing.assert_array_equal(preprocess_batch([png], "detectnet_v2", (3, 96, 160)),
                                  preprocess_batch([photo], "detectnet_v2", (3, 96, 160)))


def test_16_bit_gray_and_rgba_and_float_images_are_converted_in_one_place(tmp_path):
    photo = _photo_bgr()
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    gray16 = tmp_path / "gray16.png"
    assert cv2.imwrite(str(gray16), gray.astype(np.uint16) * np.uint16(257))
    np.testing.assert_array_equal(load_bgr(gray16), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    bgra16 = tmp_path / "bgra16.png"
    alpha = np.full(gray.shape, 65535, np.uint16)
    assert cv2.imwrite(str(bgra16), np.dstack([photo.astype(np.uint16) * np.uint16(257), alpha]))
    np.testing.assert_array_equal(load_bgr(bgra16), photo)
    np.testing.assert_array_equal(load_bgr(gray[:, :, None]), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    # Float images on OpenCV's [0, 1] scale.
    np.testing.assert_array_equal(load_bgr(photo.astype(np.float32) / np.float32(255)), photo)
    with pytest.raises(ImageError, match="HxWx3"):
        load_bgr(np.zeros((4, 4, 2), np.uint16))


@pytest.mark.parametrize("name", ["detectnet_v2", "ssd", "faster_rcnn", "yolo_v4", "mask_rcnn", "efficientdet", "classification"])
def test_every_pixel_is_the_float32_nvinfer_formula(name):
    """Bit for bit: float32(net-scale-factor) * (float32(pixel) - float32(offset)), planes in the
    network's colour order (the fast path writes planes straight into the result)."""
    net = get_network(name)
    rng = np.random.default_rng(7)
    bgr = rng.integers(0, 256, (24, 40, 3), np.uint8)  # already the network size: no resize
    out = preprocess_image(bgr, net, (3, 24, 40))
    pixels = bgr[:, :, ::-1] if net.color == "RGB" else bgr
    mean = np.broadcast_to(np.asarray(net.offsets or [0.0], np.float32), (3,))
    expected = np.float32(net.net_scale_factor) * (pixels.astype(np.float32) - mean)
    if net.input_order != "NHWC":
        expected = expected.transpose(2, 0, 1)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert out.tobytes() == np.ascontiguousarray(expected, np.float32).tobytes()
