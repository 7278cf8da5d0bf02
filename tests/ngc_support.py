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
