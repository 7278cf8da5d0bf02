"""Benchmark of the DeepStream parsers, in one process on one core:

1. DetectNet_v2 decode + DBSCAN at 960x544, 3 classes, a busy frame (>= 500 cells above the
   threshold): the C++ parser (real exported symbol, timed inside C++) vs the numpy reference vs a
   faithful re-implementation of TAO's scikit-learn post-processor (tao_sklearn_dbscan.py).
   Targets: C++ >= 100x faster than scikit-learn, <= 0.1 ms per frame. The previous C++
   clustering is not kept in the library, so the C++ time is compared with the numpy reference's
   (same clusters, boxes within the parser tests' tolerance) in the same run; with --baseline LIB
   (another build of libnvds_infercustomparser_taostream.so, e.g. of an older commit) both
   libraries run interleaved in the same process and the ratio is printed.
   --instructions also counts the instructions of one parser call (valgrind's callgrind, mean of
   20 calls of the exported symbol, the first of which grows the per-thread buffers): the figure
   that does not move when other processes share the core.
2. NMS (SSD layout) and BatchedNMS (YOLO layout) parsers at keepTopK 200: target <= 20 us per frame.

Run: python benchmarks/bench_parsers.py [--baseline LIB] [--instructions]
(builds build/ with CMake if needed)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core for every contender
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from taostream.parsers import build  # noqa: E402
from taostream.parsers import reference as ref  # noqa: E402
from taostream.parsers.native import NativeParsers  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tao_sklearn_dbscan  # noqa: E402

NET_W, NET_H, CLASSES, THRESHOLD = 960, 544, 3, 0.2


def busy_detectnet_frame(seed: int = 0, objects: int = 24):
    """Coverage/bbox tensors of a crowded scene: objects of all sizes, noisy boxes, background."""
    rng = np.random.default_rng(seed)
    gh, gw = NET_H // 16, NET_W // 16
    cov = (rng.random((CLASSES, gh, gw)) * 0.1).astype(np.float32)
    bbox = rng.normal(0, 0.5, (4 * CLASSES, gh, gw)).astype(np.float32)
    cx, cy = (np.arange(gw) * 16 + 0.5) / 35, (np.arange(gh) * 16 + 0.5) / 35
    for _ in range(objects):
        w, h = rng.uniform(40, 250), rng.uniform(40, 300)
        x1, y1, c = rng.uniform(0, NET_W - w), rng.uniform(0, NET_H - h), rng.integers(CLASSES)
        gx = np.flatnonzero((cx * 35 >= x1) & (cx * 35 <= x1 + w))
        gy = np.flatnonzero((cy * 35 >= y1) & (cy * 35 <= y1 + h))
        for j in gy:
            for i in gx:
                cov[c, j, i] = rng.uniform(0.3, 1.0)
                n = rng.normal(0, 3, 4)
                bbox[4 * c:4 * c + 4, j, i] = [cx[i] - (x1 + n[0]) / 35, cy[j] - (y1 + n[1]) / 35,
                                               (x1 + w + n[2]) / 35 - cx[i], (y1 + h + n[3]) / 35 - cy[j]]
    return cov, bbox


ROUNDS = 5  # contenders run round-robin; each keeps its best round (the machine is shared)


def seconds_per_call(fn, min_seconds: float = 0.3) -> float:
    """CPU seconds of this thread per call (the C++ side measures the same clock)."""
    fn()  # warm-up
    calls, start = 0, time.thread_time()
    while True:
        fn()
        calls += 1
        elapsed = time.thread_time() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def best_of_rounds(contenders: dict) -> dict:
    """{name: callable returning seconds per call} -> {name: best seconds per call}."""
    best = {name: float("inf") for name in contenders}
    for _ in range(ROUNDS):
        for name, measure in contenders.items():
            best[name] = min(best[name], measure())
    return best


DETECTNET = "NvDsInferParseCustomDetectNetV2TAO"
CALLGRIND_CALLS = 20


def busy_detectnet_case():
    """The benchmark's frame, its clustering settings (also exported for the parser) and layers."""
    cov, bbox = busy_detectnet_frame()
    config = ref.DetectNetV2Clustering(mode="dbscan", eps=0.3, min_samples=0.05, confidence_threshold=0.1, min_height=4)
    os.environ["TAOSTREAM_DETECTNET_V2"] = config.to_env()
    return cov, bbox, config, {"output_cov/Sigmoid": cov, "output_bbox/BiasAdd": bbox}


def instructions_per_frame(library: Path) -> int | None:
    """Instructions per DetectNet_v2 parser call on the busy frame, counted by callgrind (None
    without valgrind): this script runs again under valgrind with --calls-only."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run([valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", f"--toggle-collect={DETECTNET}",
                        sys.executable, __file__, "--calls-only", str(library)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        totals = re.search(r"^(?:summary|totals):\s*(\d+)", out.read_text(), re.M)
    return int(totals.group(1)) // CALLGRIND_CALLS if totals else None


def calls_only(library: Path) -> None:
    """CALLGRIND_CALLS parser calls on the busy frame and nothing else (run under callgrind)."""
    _, _, _, layers = busy_detectnet_case()
    native = NativeParsers(library, build.harness_library(build.DEFAULT_BUILD_DIR))
    native.seconds_per_call(DETECTNET, layers, NET_W, NET_H, CLASSES, [THRESHOLD] * CLASSES, CALLGRIND_CALLS)


def bench_detectnet(native: NativeParsers, baseline: Path | None = None, instructions: bool = False) -> None:
    cov, bbox, config, layers = busy_detectnet_case()
    cells = int((cov >= THRESHOLD).sum())
    params = ref.DecodeParams.uniform(CLASSES, THRESHOLD, detectnet_v2=config)
    thresholds = [THRESHOLD] * CLASSES

    native_boxes = native.parse("NvDsInferParseCustomDetectNetV2TAO", layers, NET_W, NET_H, CLASSES, thresholds)
    reference_boxes = ref.decode_detectnet_v2(cov, bbox, NET_W, NET_H, params)
    sklearn_boxes = tao_sklearn_dbscan.tao_postprocess(cov, bbox, NET_W, NET_H, THRESHOLD, 0.3, 0.05, 0.1, 4)

    contenders = {
        "cpp": lambda: native.seconds_per_call("NvDsInferParseCustomDetectNetV2TAO", layers, NET_W, NET_H, CLASSES,
                                               thresholds, 500),
        "ref": lambda: seconds_per_call(lambda: ref.decode_detectnet_v2(cov, bbox, NET_W, NET_H, params)),
        "skl": lambda: seconds_per_call(lambda: tao_sklearn_dbscan.tao_postprocess(
            cov, bbox, NET_W, NET_H, THRESHOLD, 0.3, 0.05, 0.1, 4)),
    }
    if baseline is not None:
        old = NativeParsers(baseline, build.harness_library(build.DEFAULT_BUILD_DIR))
        baseline_boxes = old.parse("NvDsInferParseCustomDetectNetV2TAO", layers, NET_W, NET_H, CLASSES, thresholds)
        contenders["old"] = lambda: old.seconds_per_call("NvDsInferParseCustomDetectNetV2TAO", layers, NET_W, NET_H,
                                                          CLASSES, thresholds, 500)
    best = best_of_rounds(contenders)
    t_cpp, t_ref, t_skl = best["cpp"], best["ref"], best["skl"]

    print(f"(thread CPU time, best of {ROUNDS} interleaved rounds, one thread each)")
    print(f"DetectNet_v2 {NET_W}x{NET_H}, {CLASSES} classes, {cells} cells >= {THRESHOLD}, DBSCAN eps 0.3")
    print(f"  boxes: C++ {len(native_boxes)}, numpy reference {len(reference_boxes)}, TAO scikit-learn {len(sklearn_boxes)}")
    print(f"  C++ parser           {t_cpp * 1e3:9.3f} ms/frame   (target <= 0.1 ms)  {'OK' if t_cpp <= 1e-4 else 'MISSED'}")
    if baseline is not None:
        same = "identical output" if baseline_boxes == native_boxes else "DIFFERENT output"
        print(f"  baseline C++ parser  {best['old'] * 1e3:9.3f} ms/frame   {best['old'] / t_cpp:8.1f}x the C++ time "
              f"({baseline}: {same})")
    print(f"  numpy reference      {t_ref * 1e3:9.3f} ms/frame   {t_ref / t_cpp:8.1f}x the C++ time")
    print(f"  TAO scikit-learn     {t_skl * 1e3:9.3f} ms/frame   {t_skl / t_cpp:8.1f}x the C++ time "
          f"(target >= 100x)  {'OK' if t_skl / t_cpp >= 100 else 'MISSED'}")
    if instructions:
        counted = {"C++ parser": Path(native.library.decode())}
        if baseline is not None:
            counted["baseline C++ parser"] = baseline
        for name, library in counted.items():
            count = instructions_per_frame(Path(library))
            figure = f"{count / 1e6:.3f}M per frame (callgrind, mean of {CALLGRIND_CALLS} calls)" if count \
                else "(no valgrind)"
            print(f"  {name + ' instructions':34s} {figure}")


def bench_nms_layouts(native: NativeParsers) -> None:
    rng = np.random.default_rng(1)
    k = 200
    rows = np.zeros((1, k, 7), np.float32)
    x1, y1 = rng.uniform(0, 0.8, k), rng.uniform(0, 0.8, k)
    rows[0, :, 1] = rng.integers(0, 4, k)
    rows[0, :, 2] = np.sort(rng.uniform(0.31, 1.0, k))[::-1]
    rows[0, :, 3:7] = np.stack([x1, y1, x1 + 0.1, y1 + 0.1], 1)
    keep = np.array([k], np.int32).view(np.float32).reshape(1, 1, 1)
    params = ref.DecodeParams.uniform(4, 0.3)
    nms_layers = {"NMS": rows, "NMS_1": keep}
    batched_layers = {"BatchedNMS": np.array([k], np.int32), "BatchedNMS_1": rows[0, :, 3:7].copy(),
                      "BatchedNMS_2": rows[0, :, 2].copy(), "BatchedNMS_3": rows[0, :, 1].copy()}
    print(f"NMS layouts, keepTopK {k}, all {k} rows kept")
    for function, layers, decode in (
        ("NvDsInferParseCustomNMSTLT", nms_layers, lambda: ref.decode_nms7(rows, keep, 1248, 384, params)),
        ("NvDsInferParseCustomBatchedNMSTLT", batched_layers,
         lambda: ref.decode_batched_nms(*batched_layers.values(), 1248, 384, params)),
    ):
        best = best_of_rounds({
            "cpp": lambda: native.seconds_per_call(function, layers, 1248, 384, 4, [0.3] * 4, 20000),
            "ref": lambda: seconds_per_call(decode, 0.2),
        })
        t_cpp, t_ref = best["cpp"], best["ref"]
        print(f"  {function:36s} C++ {t_cpp * 1e6:7.2f} us/frame (target <= 20 us) {'OK' if t_cpp <= 20e-6 else 'MISSED'}"
              f"   numpy reference {t_ref * 1e6:8.1f} us ({t_ref / t_cpp:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another build of the parser library to time against")
    parser.add_argument("--instructions", action="store_true",
                        help="also count the DetectNet_v2 parser's instructions per frame with valgrind's callgrind")
    parser.add_argument("--calls-only", type=Path, metavar="LIB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calls_only:
        calls_only(args.calls_only)
        return
    library = build.build_parser_library(build.DEFAULT_BUILD_DIR)
    native = NativeParsers(library, build.harness_library(build.DEFAULT_BUILD_DIR))
    bench_detectnet(native, args.baseline, args.instructions)
    bench_nms_layouts(native)


if __name__ == "__main__":
    main()
