"""Helpers shared by the inference tests (bundles of the synthetic samples, test images).

No tests here; other inference test modules import it as ``test_infer_support``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_bundle(root: Path, network: str, batch_size: int = 1) -> Path:
    """A real `taostream bundle` of `taostream sample`'s synthetic model for ``network``."""
    from taostream.converter.samples import SAMPLE_KEY, write_sample
    from taostream.deepstream_configs.bundle import BundleRequest, create_bundle

    output = root / f"bundle_{network}_b{batch_size}"
    if (output / "manifest.json").is_file():  # made earlier in this session's folder
        return output
    sample_dir = root / f"sample_{network}"
    sample = write_sample(network, sample_dir, force=sample_dir.exists())
    create_bundle(BundleRequest(model=sample.model, network=network, output=output, spec=sample.spec,
                                key=SAMPLE_KEY, precision="fp32", batch_size=batch_size))
    return output


def noise_images(count: int, seed: int = 0, sizes=((360, 640), (480, 640), (300, 500))) -> list[np.ndarray]:
    """BGR uint8 frames of several sizes and aspect ratios (random weights see random pixels)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*sizes[i % len(sizes)], 3), dtype=np.uint8) for i in range(count)]


def write_images(folder: Path, images: list[np.ndarray]) -> list[Path]:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(images):
        path = folder / f"image_{index:02d}.png"
        assert cv2.imwrite(str(path), image)
        paths.append(path)
    return paths
