"""Does calibrating afresh rescue LPDNet US at INT8 where NVIDIA's cache fails verify? (issue 15, docs/int8.md)

The real LPDNet US .etlt is bundled at INT8 with NVIDIA's calibration cache and with
`--calibrate-images` (each method asked for), the calibration images being plate scenes over
public-domain / CC0 photos shipped in scikit-image (tests/ngc_support.py: CALIBRATION_PHOTOS, seeds
0.. per pass). Every bundle is then judged by `taostream verify` (ONNX Runtime CPU, the bundle's FP32
reference, INT8 tolerance) on the same held-out scenes: the other photos (HELD_OUT_PHOTOS, four
seeds each, 100 + 10 k) and the six synthetic plate scenes of tests/test_ngc_models.py (noise seeds
0-5). Also printed: how many of each fresh bundle's activation scales equal the cache's, the cache
bundle with its activation Q/DQ removed (weights alone quantized), and the float graph converted to
float16 (onnxconverter-common, input/output kept float) judged at the FP16 tolerance, as an
emulation of an FP16 engine.

Run: python benchmarks/int8_lpd_recalibration.py [--shared ../shared] [--methods minmax percentile entropy]
     [--calibration-passes 1] [--keep DIR]
Entropy calibration (TensorRT's EntropyCalibration2) takes about 30 s for 8 images on a loaded 2-core host.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnx_graphsurgeon as gs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from ngc_support import (CALIBRATION_PHOTOS, HELD_OUT_PHOTOS, LPD_MODELS, plate_scene,  # noqa: E402
                         write_photo_plate_scenes)

from taostream.converter.int8.calib_cache import read_calibration_cache  # noqa: E402
from taostream.inference.verify import VerifyRequest, run_verify  # noqa: E402

MODEL = "lpd_usa_detectnet_v2_pruned.etlt"


def scenes(work: Path, passes: int) -> tuple[Path, Path]:
    calibration, held_out = work / "calibration", work / "held_out"
    for k in range(passes):
        for path in write_photo_plate_scenes(calibration, MODEL, CALIBRATION_PHOTOS, seed=k * len(CALIBRATION_PHOTOS)):
            path.rename(path.with_name(f"{k}_{path.name}"))
    for k in range(4):
        for path in write_photo_plate_scenes(held_out, MODEL, HELD_OUT_PHOTOS, seed=100 + 10 * k):
            path.rename(path.with_name(f"{k}_{path.name}"))
    _, _, (height, width), plate, ink = LPD_MODELS[MODEL]
    for seed in range(6):
        image = plate_scene(height, width, plate, ink, seed=seed)
        cv2.imwrite(str(held_out / f"synthetic_{seed}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return calibration, held_out


def bundle(shared: Path, work: Path, name: str, *int8: str) -> Path:
    key = LPD_MODELS[MODEL][0]
    (work / "labels.txt").write_text("lpd\n")
    out = work / name
    subprocess.run([sys.executable, "-m", "taostream", "bundle", str(shared / "fixtures" / "models" / MODEL),
                    "--network", "lpdnet", "--labels", str(work / "labels.txt"), "--key", key, *int8,
                    "-o", str(out), "--force"], check=True, capture_output=True, text=True)
    return out


def judge(label: str, bundle_dir: Path, held_out: Path, onnx_path: Path | None = None, tolerance: str = "auto") -> None:
    report = run_verify(VerifyRequest(bundle=bundle_dir, inputs=[str(held_out)], onnx=onnx_path,
                                      tolerance=tolerance, progress=False))
    t = report.totals()
    used = [i for i in report.images if i.matched or i.missing or i.extra]
    failed = [Path(i.source).name for i in report.images if not i.passed]
    median = statistics.median(i.worst_score_delta for i in used) if used else 0.0
    print(f"{label:<34} {'PASS' if report.passed else 'FAIL'}  scenes with plates {len(used)}, matched {t['matched']}, "
          f"missing {t['missing']}, extra {t['extra']}; failed {len(failed)}; worst score delta "
          f"{t['worst_score_delta']:.4f}, median {median:.4f}; worst IoU {t['worst_iou']:.4f}"
          + (f"  [{', '.join(failed)}]" if failed else ""), flush=True)


def activation_scales(path: Path) -> dict[str, float]:
    graph = gs.import_onnx(onnx.load(str(path)))
    return {q.inputs[0].name: float(np.asarray(q.inputs[1].values)) for q in graph.nodes
            if q.op == "QuantizeLinear" and not isinstance(q.inputs[0], gs.Constant)}


def weights_only(src: Path, dst: Path) -> None:
    """``src`` with every activation Q/DQ pair bypassed (the weights' Q/DQ kept)."""
    graph = gs.import_onnx(onnx.load(str(src)))
    for q in [n for n in graph.nodes if n.op == "QuantizeLinear" and not isinstance(n.inputs[0], gs.Constant)]:
        for dq in list(q.outputs[0].outputs):
            for consumer in list(dq.outputs[0].outputs):
                for index, tensor in enumerate(consumer.inputs):
                    if tensor is dq.outputs[0]:
                        consumer.inputs[index] = q.inputs[0]
            dq.outputs.clear()
        q.outputs.clear()
    onnx.save(gs.export_onnx(graph.cleanup().toposort()), str(dst))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--methods", nargs="+", default=["minmax", "percentile", "entropy"])
    parser.add_argument("--calibration-passes", type=int, default=1,
                        help="calibration scenes = passes x 8 photos (default 1: 8 images)")
    parser.add_argument("--keep", type=Path, help="keep the scenes and bundles in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taostream-lpd-recal-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        calibration, held_out = scenes(work, args.calibration_passes)
        cache = args.shared / "fixtures" / "calibration" / LPD_MODELS[MODEL][1]
        print(f"LPDNet US, verify on {len(list(held_out.iterdir()))} held-out scenes; "
              f"{len(list(calibration.iterdir()))} calibration scenes")
        cached = bundle(args.shared, work, "cache", "--precision", "int8", "--calibration-cache", str(cache))
        judge("NVIDIA's cache", cached, held_out)
        weights_only(cached / "model.onnx", work / "weights_only.onnx")
        judge("NVIDIA's cache, weights alone", cached, held_out, work / "weights_only.onnx")
        nvidia = read_calibration_cache(cache).scales
        for method in args.methods:
            fresh = bundle(args.shared, work, method, "--precision", "int8", "--calibrate-images", str(calibration),
                           "--calibration-method", method)
            judge(f"--calibrate-images, {method}", fresh, held_out)
            scales = activation_scales(fresh / "model.onnx")
            common = [n for n in scales if n in nvidia]
            same = sum(abs(scales[n] - nvidia[n]) <= 1e-3 * nvidia[n] for n in common)
            print(f"{'':<34} activation scales: {same} of {len(common)} equal to the cache's; amax "
                  f"{min(scales[n] for n in common) * 127:.3g}..{max(scales[n] for n in common) * 127:.3g}")
        fp32 = bundle(args.shared, work, "fp32", "--precision", "fp32")
        from onnxconverter_common import float16

        half = float16.convert_float_to_float16(onnx.load(str(fp32 / "model.onnx")), keep_io_types=True)
        onnx.save(half, str(work / "fp16.onnx"))
        judge("float16 graph (FP16 emulated)", fp32, held_out, work / "fp16.onnx", tolerance="fp16")


if __name__ == "__main__":
    main()
