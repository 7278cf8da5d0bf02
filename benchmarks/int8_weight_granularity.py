"""INT8 weights per tensor vs per channel on NVIDIA's real DetectNet_v2 models, measured with verify.

For each real .etlt in shared/fixtures/models with its own TensorRT 7 calibration cache: the model as
a TAO 5 export holds it (tf2onnx names, opset 12: tests/tao5_fixtures.py) is bundled at INT8 (Q/DQ,
weights per channel after the opset-12 -> 13 conversion), then `taostream verify` compares against the
FP32 reference (a) the bundle's model.onnx and (b) the same graph with weights quantized per tensor
(what opset 12 allowed before). Activations get the cache's scales in both. Prints a Markdown table
(docs/int8.md). Run: python benchmarks/int8_weight_granularity.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import onnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from ngc_support import LPD_MODELS, write_plate_scene  # noqa: E402
from tao5_fixtures import derive_models  # noqa: E402

from taostream.converter.int8.calib_cache import read_calibration_cache  # noqa: E402
from taostream.converter.int8.qdq import insert_qdq_from_cache  # noqa: E402

MODELS = {  # model -> (key, cache, spec or labels, network argument)
    "facemask_detectnet_v2_resnet18.etlt": ("tlt_encode", "facemask_detectnet_v2_cal.bin",
                                            ("--spec", "specs/facemask_detectnet_v2_train_resnet18_kitti.txt"),
                                            "detectnet_v2"),
    **{name: (key, cache, ("--labels", None), "lpdnet") for name, (key, cache, *_rest) in LPD_MODELS.items()},
}


def taostream(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "taostream", *map(str, args)], capture_output=True, text=True)


def verify(bundle: Path, image: Path, candidate: Path | None, report: Path) -> dict:
    extra = ["--onnx", candidate] if candidate else []
    taostream("verify", bundle, image, "--no-progress", "--json", report, *extra)
    return json.loads(report.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    fixtures = parser.parse_args().shared / "fixtures"
    print("| model | image | weights | verify | matched | worst IoU | worst score delta | borderline cells |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        from skimage import data

        astronaut = work / "astronaut.png"
        cv2.imwrite(str(astronaut), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
        labels = work / "labels.txt"
        labels.write_text("lpd\n")
        for name, (key, cache, (option, value), network) in MODELS.items():
            folder = work / name
            folder.mkdir()
            tao5 = derive_models(fixtures / "models" / name, key, folder)["tao5.onnx"]
            image = astronaut if name not in LPD_MODELS else write_plate_scene(folder / "scene.png", name)
            bundle = folder / "bundle"
            result = taostream("bundle", tao5, "--network", network, option, fixtures / value if value else labels,
                               "--precision", "int8", "--calibration-cache", fixtures / "calibration" / cache,
                               "-o", bundle)
            if result.returncode:
                raise SystemExit(result.stderr)
            per_tensor, _ = insert_qdq_from_cache(onnx.load(str(tao5)), read_calibration_cache(fixtures / "calibration" / cache),
                                                  network="detectnet_v2", per_channel=False)
            per_tensor_path = folder / "per_tensor.onnx"
            onnx.save(per_tensor, str(per_tensor_path))
            for label, candidate in (("per tensor (opset 12)", per_tensor_path), ("per channel (opset 13)", None)):
                report = verify(bundle, image, candidate, folder / "verify.json")
                t = report["totals"]
                print(f"| {name} | {image.name} | {label} | {'PASS' if report['passed'] else 'FAIL'} | {t['matched']} "
                      f"(missing {t['missing']}, extra {t['extra']}) | {t['worst_iou']:.4f} | {t['worst_score_delta']:.4f} | "
                      f"{t['borderline_cells']} |")


if __name__ == "__main__":
    main()
