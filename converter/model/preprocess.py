"""Image preprocessing exactly as DeepStream's nvinfer does it for a network of the registry.

nvinfer: scale the frame to the network size (plain resize, or with maintain-aspect-ratio the largest
size that fits, placed top-left, or centred with symmetric-padding, the rest black), convert to the
model's color format, then per pixel y = net-scale-factor * (x - offsets[c]) (offsets in the
model's channel order). Padding is black (0) BEFORE the normalization, so after it a padded pixel is
-net-scale-factor * offsets[c], as in nvinfer's buffer.

Calibration (converter/int8/calibrate.py) and the ONNX Runtime runner use this one function, so the
scales are computed on exactly the tensors the deployed model will see.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.registry import get_network

# nvinfer's scaling-filter: 0 nearest, 1 bilinear (NvBufSurfTransform_Inter).
INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
# What every deployment path scales with: nvinfer's default scaling-filter (0), which taostream's
# nvinferserver configs write explicitly and the CPU runners use, so all paths see the same pixels.
DEFAULT_INTERPOLATION = "nearest"


class ImageError(TaostreamError):
    """An image that cannot be read or preprocessed."""


@dataclass(frozen=True)
class Letterbox:
    """Where the scaled image sits in the network input (for mapping boxes back to the frame)."""

    scale_x: float
    scale_y: float
    offset_x: int
    offset_y: int
    width: int
    height: int


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Pixels scaled to 8 bits by their bit depth: uint16 (16-bit PNG/TIFF) / 257, uint32 / 16843009,
    other integers clipped to 0-255; float images are OpenCV's [0, 1] (x 255) unless they hold values
    above 1, which are taken as already on the 0-255 scale. Rounded to nearest, never wrapped."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(image.dtype, np.unsignedinteger) and image.dtype.itemsize > 1:
        full = float(np.iinfo(image.dtype).max)
        return np.rint(image.astype(np.float64) * (255.0 / full)).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        values = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if values.size and values.max() <= 1.0:
            values = values * 255.0
        return np.rint(np.clip(values, 0.0, 255.0)).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        return np.clip(image, 0, 255).astype(np.uint8)
    raise ImageError(f"image of dtype {image.dtype}: expected integer or floating-point pixels")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def without_png_chunks(data: bytes, drop: frozenset = frozenset({b"iCCP"})) -> bytes:
    """A PNG without the ancillary chunks ``drop``. OpenCV ignores colour profiles anyway, but libpng
    prints "libpng warning: iCCP: ..." for every PNG whose profile it dislikes (many cameras' and
    editors' PNGs), which would flood a run's output; the pixels are the same without the chunk."""
    if not data.startswith(PNG_SIGNATURE):
        return data
    kept, pos = [data[:8]], 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        end = pos + 12 + length
        if data[pos + 4:pos + 8] not in drop:
            kept.append(data[pos:end])
        pos = end
    kept.append(data[pos:])  # a truncated tail is left for the decoder to judge
    return b"".join(kept)


def _png_cut_short(data: bytes) -> bool:
    """Whether a PNG's last chunk runs past the end of the file (a copy or download cut short)."""
    pos = 8
    while pos + 12 <= len(data):
        chunk_type = data[pos + 4:pos + 8]
        pos += 12 + int.from_bytes(data[pos:pos + 4], "big")
        if chunk_type == b"IEND":
            return pos > len(data)
    return True


# what the first bytes of a file say it is (the extension is only what its name says)
_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (PNG_SIGNATURE, "PNG"), (b"BM", "BMP"), (b"II*\0", "TIFF"),
               (b"MM\0*", "TIFF"), (b"GIF8", "GIF"))


def _content_kind(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for signature, kind in _SIGNATURES if data.startswith(signature)), None)


def _undecodable(path, data: bytes) -> ImageError:
    """Why OpenCV could not decode ``data`` (the file at ``path``), in the words a user can act on."""
    kind = _content_kind(data)
    if not data:
        why = "the file is empty (0 bytes): an interrupted copy? copy it again"
    elif kind is None:
        why = "its content is not an image (JPEG, PNG, BMP, TIFF or WebP), whatever its extension says"
    elif kind == "GIF":
        why = "a GIF, which OpenCV does not read; convert it to PNG or JPEG"
    elif (kind == "PNG" and _png_cut_short(data)) or (kind == "JPEG" and b"\xff\xd9" not in data[-4096:]):
        why = f"a {kind} cut short (its end is missing: an interrupted copy or download?); copy it again"
    else:
        why = f"a damaged {kind} (its header is one, its data does not decode)"
    return ImageError(f"{path}: not an image OpenCV can read: {why}")


def read_image_file(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file as OpenCV's imread(IMREAD_UNCHANGED) would, without libpng's iCCP noise;
    a file it cannot decode is an ImageError saying why (empty, not an image, cut short, damaged)."""
    import cv2  # lazy: heavy

    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise ImageError(f"{path}: is a folder, not an image") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read the image ({exc.strerror})") from None
    if data.startswith(PNG_SIGNATURE) and _png_cut_short(data):  # libpng would print its own error line first
        raise _undecodable(path, data)
    image = cv2.imdecode(np.frombuffer(without_png_chunks(data), np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if image is None:
        raise _undecodable(path, data)
    return image


def load_bgr(path_or_array) -> np.ndarray:
    """An HxWx3 uint8 BGR image from a path or an array, the one place every reader goes through:
    grayscale (HxW or HxWx1) and BGRA are converted, deeper images (16-bit PNG/TIFF, float) are scaled
    by their bit depth (``to_uint8``), not clipped."""
    import cv2  # lazy: heavy

    if isinstance(path_or_array, (str, os.PathLike)):
        image = read_image_file(path_or_array)
    else:
        image = np.asarray(path_or_array)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ImageError(f"image of shape {image.shape}: expected HxWx3 (BGR), HxWx4 or HxW")
    image = to_uint8(image)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def letterbox_geometry(src_w: int, src_h: int, net_w: int, net_h: int, maintain_aspect_ratio: bool,
                       symmetric_padding: bool) -> Letterbox:
    if not maintain_aspect_ratio:
        return Letterbox(net_w / src_w, net_h / src_h, 0, 0, net_w, net_h)
    ratio = min(net_w / src_w, net_h / src_h)
    width = max(1, min(net_w, int(src_w * ratio)))
    height = max(1, min(net_h, int(src_h * ratio)))
    ox, oy = ((net_w - width) // 2, (net_h - height) // 2) if symmetric_padding else (0, 0)
    return Letterbox(width / src_w, height / src_h, ox, oy, width, height)


def preprocess_image(path_or_array, network, dims=None, *, offsets=None, net_scale_factor=None,
                     maintain_aspect_ratio=None, symmetric_padding=None, interpolation: str = DEFAULT_INTERPOLATION,
                     return_geometry: bool = False, color: str | None = None):
    """The network input for one image: float32 CHW (or HWC for NHWC networks).

    ``network``: a registry Network (or its name); ``dims``: (C, H, W), default the network's.
    The keyword arguments override the registry (e.g. FasterRCNN's offsets come from the training
    spec; ``color``, RGB/BGR/GRAY, e.g. an nvinfer config's model-color-format). ``interpolation``: nvinfer's scaling-filter, "nearest" (nvinfer's default as we read
    NvBufSurfTransformInter_Default; unverified on hardware) or "bilinear".
    """
    import cv2  # lazy: heavy

    if isinstance(network, str):
        network = get_network(network)
    channels, net_h, net_w = dims or network.default_dims
    if interpolation not in INTERPOLATIONS:
        raise ImageError(f"interpolation {interpolation!r}: use one of {', '.join(INTERPOLATIONS)}")
    image = load_bgr(path_or_array)
    keep = network.maintain_aspect_ratio if maintain_aspect_ratio is None else maintain_aspect_ratio
    sym = network.symmetric_padding if symmetric_padding is None else symmetric_padding
    box = letterbox_geometry(image.shape[1], image.shape[0], net_w, net_h, keep, sym)
    flag = cv2.INTER_NEAREST if interpolation == "nearest" else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (box.width, box.height), interpolation=flag)
    if (box.width, box.height) == (net_w, net_h):
        canvas = scaled  # no padding
    else:
        canvas = np.zeros((net_h, net_w, 3), dtype=np.uint8)
        canvas[box.offset_y : box.offset_y + box.height, box.offset_x : box.offset_x + box.width] = scaled
    chw = network.input_order != "NHWC"
    # CHW RGB: the planes are taken in reverse order below instead of a BGR->RGB pixel swap
    color = network.color if color is None else color
    swap = chw and channels == 3 and color == "RGB"
    pixels = canvas if swap else _to_color(canvas, color, channels)
    scale = network.net_scale_factor if net_scale_factor is None else net_scale_factor
    mean = network.offsets if offsets is None else offsets
    tensor = _normalize(pixels, scale, mean, chw=chw, reverse_channels=swap)
    return (tensor, box) if return_geometry else tensor


def _to_color(bgr: np.ndarray, color: str, channels: int) -> np.ndarray:
    import cv2  # lazy: heavy

    if channels == 1 or color == "GRAY":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[:, :, None]
    if color == "RGB":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return bgr


def _normalize(pixels: np.ndarray, scale: float, offsets, chw: bool = False, reverse_channels: bool = False) -> np.ndarray:
    """float32 ``scale * (pixel - offset)``, written straight into the CHW (or HWC) result: one
    float32 subtraction and one multiplication per element, as nvinfer computes it, without the
    intermediate float copies and the transpose copy."""
    channels = pixels.shape[2]
    mean = np.asarray(offsets if offsets else [0.0], dtype=np.float32).reshape(-1)
    if mean.size not in (1, channels):
        raise ImageError(f"offsets {list(offsets)}: expected {channels} values, one per channel")
    mean = np.broadcast_to(mean, (channels,))
    scale = np.float32(scale)
    if not chw:
        out = np.subtract(pixels, mean, dtype=np.float32)
        return np.multiply(out, scale, out=out)
    import cv2  # lazy: heavy

    planes = cv2.split(pixels)  # contiguous uint8 planes: the strided per-channel read is the slow part
    if reverse_channels:
        planes = planes[::-1]
    out = np.empty((channels,) + pixels.shape[:2], dtype=np.float32)
    for c, plane in enumerate(planes):
        np.subtract(plane, mean[c], out=out[c], dtype=np.float32)
        np.multiply(out[c], scale, out=out[c])
    return out


def preprocess_batch(paths, network, dims=None, **kwargs) -> np.ndarray:
    """Stack preprocess_image over several images: [B, C, H, W] (or [B, H, W, C])."""
    return np.stack([preprocess_image(p, network, dims, **kwargs) for p in paths])
