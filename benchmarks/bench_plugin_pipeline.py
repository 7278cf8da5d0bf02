"""MaskRCNN on the CPU, one process, same inputs, the compiled plugin pipeline
(plugins/pipeline.py, split and ONNX Runtime sessions built once) with three implementations
of the plugin nodes:

- before: the numpy references as they were before the vectorized NMS and the host library
  (plugins/maskrcnn.py at commit BASELINE_COMMIT, read from git) -- "today" in the plugins issue;
- numpy: today's numpy references (the fallback when the host library is not built);
- host: the C++ host implementations (libtaostream_plugins_host.so via ctypes; brought up to date here);
- triton: the CPU Triton model's own pipeline, loaded from a repository folder as the server loads
  it (model.py with the copied references, host_calls module and library; no taostream import).

Prints seconds per image of each and the ratios, and checks that the outputs of numpy and host are
equal. ``--per-call`` adds the per-call runner ``run_with_plugin_references`` (graph split and
sessions built on every call), the comparison this benchmark made first.

    python benchmarks/bench_plugin_pipeline.py [--images 3] [--repeat 2] [--per-call]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from taostream.plugins.host import build_plugin_host_library, host_implementation_for
from taostream.plugins.pipeline_compile import compile_plugin_pipeline
from taostream.plugins.reference import reference_for, run_with_plugin_references
from taostream.converter.samples.write import make_sample_model

BASELINE_COMMIT = "683b39e"  # main before the MaskRCNN CPU speed-up
REPO = Path(__file__).resolve().parent.parent


def seconds_per_image(function, images: np.ndarray, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for image in images:
            function({"Input": image[None]})
        best = min(best, time.perf_counter() - began)
    return best / len(images)


def baseline_lookup(commit: str):
    """reference_for with the MaskRCNN references of plugins/maskrcnn.py at ``commit``."""
    for path in ("plugins/maskrcnn.py", "converter/pluginref_mrcnn.py"):  # its place before the sub-packages
        shown = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            source = shown.stdout
            break
    else:
        raise SystemExit(f"commit {commit} has no MaskRCNN references (plugins/maskrcnn.py, converter/pluginref_mrcnn.py)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "baseline_pluginref_mrcnn.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("baseline_pluginref_mrcnn", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    old = {}
    module.register_references(lambda names, fn: old.update(dict.fromkeys(names, fn)))
    return lambda op: old.get(op) or reference_for(op)


def triton_model_pipeline(pipeline, folder: Path):
    """The pipeline the CPU Triton model runs: written as `taostream bundle` writes it, loaded by its
    model.py (the copied modules resolve the plugins, the host library where copied)."""
    from taostream.deepstream_configs.triton.repository import _write_pipeline
    from taostream.plugins.pipeline_compile import serving_host_library

    _write_pipeline(folder, pipeline, "bench", serving_host_library(pipeline))
    (folder / "model.py").write_text((REPO / "deepstream_configs" / "triton" / "python_model.py").read_text())
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("bench_triton_model", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_plugin_pipeline(str(folder / "pipeline"))


def host_lookup(op: str):
    return host_implementation_for(op) or reference_for(op)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="commit of the 'before' numpy references")
    parser.add_argument("--per-call", action="store_true", help="also time the per-call runner")
    args = parser.parse_args()
    print("building libtaostream_plugins_host.so (if out of date) ...", file=sys.stderr)
    build_plugin_host_library()
    model = make_sample_model("mask_rcnn")
    images = np.random.default_rng(0).standard_normal((args.images, 3, 832, 1344)).astype(np.float32)
    pipelines = {"before": compile_plugin_pipeline(model, baseline_lookup(args.baseline)),
                 "numpy": compile_plugin_pipeline(model, reference_for),
                 "host": compile_plugin_pipeline(model, host_lookup)}
    assert host_lookup("MultilevelProposeROI_TRT") is not reference_for("MultilevelProposeROI_TRT")
    folder = Path(tempfile.mkdtemp(prefix="bench_triton_model_"))
    pipelines["triton"] = triton_model_pipeline(pipelines["numpy"], folder)
    seconds = {name: seconds_per_image(p.run, images, args.repeat) for name, p in pipelines.items()}
    same = all(np.array_equal(a, b) for a, b in zip(pipelines["numpy"].run({"Input": images[:1]}).values(),
                                                   pipelines["host"].run({"Input": images[:1]}).values()))
    print(f"MaskRCNN 832x1344 on the CPU, compiled pipeline, ms/image: before (numpy @ {args.baseline}) "
          f"{seconds['before'] * 1000:.0f}; numpy {seconds['numpy'] * 1000:.0f}; host {seconds['host'] * 1000:.0f}; "
          f"Triton CPU model {seconds['triton'] * 1000:.0f}")
    print(f"ratio before/host {seconds['before'] / seconds['host']:.1f}x; before/numpy "
          f"{seconds['before'] / seconds['numpy']:.1f}x; numpy/host {seconds['numpy'] / seconds['host']:.1f}x; "
          f"host outputs equal numpy's: {same}")
    print(f"Triton CPU model: before/triton {seconds['before'] / seconds['triton']:.1f}x; "
          f"numpy/triton {seconds['numpy'] / seconds['triton']:.1f}x")
    if args.per_call:
        per_call = seconds_per_image(lambda feeds: run_with_plugin_references(model, feeds), images, args.repeat)
        print(f"per-call runner: {per_call * 1000:.0f} ms/image; compiled host pipeline {seconds['host'] * 1000:.0f} "
              f"ms/image; ratio {per_call / seconds['host']:.2f}x")


if __name__ == "__main__":
    main()
