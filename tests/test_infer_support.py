"""Helpers shared by the inference tests (bundles of the synthetic samples, test images).

No tests here; other inference test modules import it as ``test_infer_support``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest


def make_bundle(root: Path, network: str, batch_size: int = 1) -> Path:
    """A real `taostream bundle` of `taostream sample`'s synthetic model for ``network``."""
    from taostream.converter.samples.write import SAMPLE_KEY, write_sample
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle

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


def start_serve(target: Path, http_port: int, grpc_port: int, ignore_sigint: bool = False) -> tuple[subprocess.Popen, str]:
    """`taostream serve TARGET` in a subprocess, waited for until it prints "ready"; returns the
    process and the list its output lines keep arriving in."""
    command = [str(Path(sys.executable).parent / "taostream"), "serve", str(target), "--port", str(http_port),
               "--grpc-port", str(grpc_port)]
    import signal

    # ignore_sigint: start it the way a non-interactive shell starts a background job (SIGINT ignored).
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=ignore)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("ready" in line for line in lines) and process.poll() is None:
        time.sleep(0.1)
    if not any("ready" in line for line in lines):
        process.kill()
        pytest.fail("`taostream serve` did not become ready:\n" + "".join(lines))
    return process, lines


def stop_serve(process: subprocess.Popen, lines: list[str]) -> None:
    """Ctrl-C a `start_serve` process and require a clean exit. `serve` bounds its own shutdown
    (tritonserver's --exit-timeout-secs 10, then 5 s, then SIGKILL); 60 s leaves room for a
    loaded 2-core machine."""
    import signal

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, "".join(lines)

