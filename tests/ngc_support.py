"""Inputs shaped like what NGC-model users hold: a car-like scene with licence plates (for NVIDIA's
real LPDNet models in shared/fixtures), written once per session, and NGC-form labels files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# model file -> (key, calibration cache, (H, W), plate colour, ink colour): shared/fixtures/README.md
LPD_MODELS = {
    "lpd_usa_detectnet_v2_pruned.etlt": ("nvidia_tlt", "lpd_usa_cal.bin", (480, 640), (235, 235, 235), (20, 20, 20)),
    "lpd_ccpd_detectnet_v2_pruned.etlt": ("nvidia_tlt", "lpd_ccpd_cal.bin", (1168, 720), (20, 60, 200), (240, 240, 240)),
}
FACEMASK = "facemask_detectnet_v2_resnet18.etlt"


def plate_scene(height: int, width: int, plate_rgb, ink_rgb, seed: int = 0) -> np.ndarray:
    """A car body (RGB) with two plates carrying printed characters, light sensor noise."""
    import cv2

    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), (70, 75, 80), np.uint8)
    cv2.rectangle(image, (20, int(height * 0.25)), (width - 20, height - 20), (150, 40, 40), -1)
    for x, y, plate_w, text in ((0.15, 0.35, 0.3, "7ABC123"), (0.5, 0.7, 0.35, "KX4821")):
        x, y, plate_w = int(width * x), int(height * y), int(width * plate_w)
        plate_h = plate_w * 30 // 100
        cv2.rectangle(image, (x - 3, y - 3), (x + plate_w + 3, y + plate_h + 3), (30, 30, 30), -1)
        cv2.rectangle(image, (x, y), (x + plate_w, y + plate_h), plate_rgb, -1)
        scale = plate_w / 190
        cv2.putText(image, text, (x + plate_w // 14, y + int(plate_h * 0.78)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    ink_rgb, max(1, int(scale * 2.5)), cv2.LINE_AA)
    return np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)


def write_plate_scene(path: Path, model: str) -> Path:
    import cv2

    _, _, (height, width), plate, ink = LPD_MODELS[model]
    cv2.imwrite(str(path), cv2.cvtColor(plate_scene(height, width, plate, ink), cv2.COLOR_RGB2BGR))
    return path


# Public-domain / CC0 photos shipped inside scikit-image (each function's docstring states its licence),
# used as the backgrounds of plate scenes for fresh INT8 calibration of LPDNet; the two sets share no
# photo, so verify on the held-out scenes judges scales computed from other images.
CALIBRATION_PHOTOS = ("coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel", "coins")
HELD_OUT_PHOTOS = ("astronaut", "hubble_deep_field", "retina", "immunohistochemistry", "text")


def photo_plate_scene(photo: str, height: int, width: int, plate_rgb, ink_rgb, seed: int = 0) -> np.ndarray:
    """A scikit-image photo resized to the model's frame, a car body of random colour across its lower
    part and one or two plates with random characters at random places and sizes (RGB)."""
    import cv2
    import skimage.data

    rng = np.random.default_rng(seed)
    image = getattr(skimage.data, photo)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = cv2.resize(np.ascontiguousarray(image[..., :3]), (width, height), interpolation=cv2.INTER_AREA)
    top = int(height * rng.uniform(0.3, 0.5))
    left, right = int(width * rng.uniform(0.0, 0.1)), int(width * rng.uniform(0.9, 1.0))
    body = tuple(int(c) for c in rng.integers(20, 200, 3))
    cv2.rectangle(image, (left, top), (right, height - 1), body, -1)
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    slots = [0.1, 0.55] if rng.random() < 0.5 else [rng.uniform(0.25, 0.45)]
    for x0 in slots:
        plate_w = int(width * rng.uniform(0.22, 0.36))
        plate_h = plate_w * 30 // 100
        x = int(width * x0)
        y = int(rng.uniform(top + 10, height - plate_h - 10))
        text = "".join(rng.choice(list(alphabet), int(rng.integers(5, 8))))
        cv2.rectangle(image, (x - 3, y - 3), (x + plate_w + 3, y + plate_h + 3), (30, 30, 30), -1)
        cv2.rectangle(image, (x, y), (x + plate_w, y + plate_h), plate_rgb, -1)
        scale = plate_w / 190
        cv2.putText(image, text, (x + plate_w // 14, y + int(plate_h * 0.78)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale * 6 / max(6, len(text)), ink_rgb, max(1, int(scale * 2.5)), cv2.LINE_AA)
    return np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)


def write_photo_plate_scenes(folder: Path, model: str, photos, seed: int = 0) -> list[Path]:
    """One scene per photo (seeds ``seed``, ``seed + 1``, ...) written as PNG into ``folder``."""
    import cv2

    _, _, (height, width), plate, ink = LPD_MODELS[model]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, photo in enumerate(photos):
        paths.append(folder / f"{i:02d}_{photo}.png")
        scene = photo_plate_scene(photo, height, width, plate, ink, seed=seed + i)
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(scene, cv2.COLOR_RGB2BGR))
    return paths
