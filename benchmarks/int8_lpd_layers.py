"""Where the INT8 error of NVIDIA's real DetectNet_v2 models comes from, layer by layer (docs/int8.md).

For each real .etlt in shared/fixtures/models with its own TensorRT 7 cache: the model is bundled in
FP32 (taostream's UFF translation, `--labels`, NVIDIA's published thresholds), then Q/DQ graphs are
built from its FP32 graph and the cache and judged like `taostream verify` on the test scene of
tests/test_ngc_models.py (a plate scene, the astronaut photo for facemask):

- placements: Q/DQ on every Conv's input and per-channel weights, output convolutions included (as
  first made); without the output convolutions; `insert_qdq_from_cache` as it is (also the residual
  Add inputs TensorRT reads in INT8: the main branch where a projection shortcut takes the Add, the
  identity otherwise); and, for comparison, the shortcut branch quantized instead of the main one;
- weights only (activations only cannot be run this way: ONNX Runtime quantizes the float weights of
  a Conv whose input is dequantized itself); each Conv quantized alone; each Conv left in float.

Each row gives verify's score delta twice: with grid cells that cross the pre-cluster threshold
counted into the cluster sums as they fall ("summed"), and with borderline cells clustered as in FP32
(what verify does), and the largest coverage change of the cells either side clusters.
Run: python benchmarks/int8_lpd_layers.py [--shared ../shared] [--layers]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnx_graphsurgeon as gs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from ngc_support import FACEMASK, LPD_MODELS, write_plate_scene  # noqa: E402

from taostream.converter.int8.calib_cache import read_calibration_cache  # noqa: E402
from taostream.converter.int8.qdq import insert_qdq_from_cache, map_cache_names, weight_scales  # noqa: E402
from taostream.converter.model.preprocess import load_bgr  # noqa: E402
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle  # noqa: E402
from taostream.inference.backends.runners import cpu_runner  # noqa: E402
from taostream.inference.bundle_info import load_bundle  # noqa: E402
from taostream.inference.detector import Detector  # noqa: E402
from taostream.inference.verify import TOLERANCES, compare_detections, with_reference_membership  # noqa: E402

INT8 = TOLERANCES["int8"]
MODELS = {name: (key, cache, ("lpd",), "lpdnet") for name, (key, cache, *_rest) in LPD_MODELS.items()}
MODELS[FACEMASK] = ("tlt_encode", "facemask_detectnet_v2_cal.bin", ("mask", "no-mask"), "detectnet_v2")


def qdq_graph(fp32: onnx.ModelProto, scales: dict, *, float_convs=(), extra_tensors=(), weights=True,
              activations=True) -> onnx.ModelProto:
    """Q/DQ on the activation input of every Conv with a scale, per-channel weights; ``float_convs``
    (name prefixes) keep weights and input in float; ``extra_tensors`` get one Q/DQ for their Add consumers."""
    graph = gs.import_onnx(fp32)
    tensors = graph.tensors()

    def pair(tensor, scale, consumers, axis=None):
        s = gs.Constant(f"{tensor.name}_qs{len(graph.nodes)}", np.asarray(scale, np.float32))
        z = gs.Constant(f"{tensor.name}_qz{len(graph.nodes)}", np.zeros(np.shape(scale), np.int8))
        q, dq = gs.Variable(f"{s.name}_q", np.int8), gs.Variable(f"{s.name}_dq", np.float32)
        attrs = {} if axis is None else {"axis": axis}
        graph.nodes += [gs.Node("QuantizeLinear", attrs=attrs, inputs=[tensor, s, z], outputs=[q]),
                        gs.Node("DequantizeLinear", attrs=attrs, inputs=[q, s, z], outputs=[dq])]
        for node in consumers:
            for index, t in enumerate(node.inputs):
                if t is tensor:
                    node.inputs[index] = dq

    convs = [n for n in graph.nodes if n.op == "Conv" and not any(n.name.startswith(p) for p in float_convs)]
    if activations:
        by_tensor: dict[str, list] = {}
        for node in convs:
            if node.inputs[0].name in scales:
                by_tensor.setdefault(node.inputs[0].name, []).append(node)
        for name in extra_tensors:
            by_tensor.setdefault(name, []).extend(n for n in tensors[name].outputs if n.op == "Add")
        for name, consumers in by_tensor.items():
            pair(tensors[name], scales[name], consumers)
    if weights:
        for node in convs:
            pair(node.inputs[1], weight_scales(node.inputs[1].values, 0), [node], axis=0)
    graph.cleanup().toposort()
    out = gs.export_onnx(graph)
    out.ir_version = fp32.ir_version
    return out


def judge(bundle, image, candidate: Path) -> str:
    """verify's score delta with threshold crossings counted, with borderline cells, and the largest
    coverage change of the clustered cells."""
    frame = load_bgr(image)
    with cpu_runner(bundle.onnx_for_cpu()) as ref_runner, cpu_runner(candidate) as cand_runner:
        ref, cand = Detector(bundle, ref_runner), Detector(bundle, cand_runner)
        batch, boxes = ref.preprocess([frame])
        ref_out, cand_out = ref.infer(batch), cand.infer(batch)
        params = ref.decode_params
        thresholds = [params.class_threshold(c) for c in range(params.num_classes)]
        paired, cells = with_reference_membership(ref_out, cand_out, thresholds, INT8.score)

        def detections(detector, outputs):
            return detector.results([frame], boxes, ["scene"], detector.decode(outputs, 1))[0].detections

        reference = detections(ref, ref_out)
        summed = compare_detections(reference, detections(cand, cand_out), INT8, ref.lowest_confidence)
        borderline = compare_detections(reference, detections(cand, paired), INT8, ref.lowest_confidence)
    name = next(n for n in ref_out if "cov" in n)
    r, c = ref_out[name], cand_out[name]
    clustered = (r >= thresholds[0]) | (c >= thresholds[0])
    worst = float(np.abs(c - r)[clustered].max()) if clustered.any() else 0.0

    def verdict(report):
        return f"{'PASS' if report.passed else 'FAIL'} {report.worst_score_delta:.4f}"

    return f"{verdict(summed)} | {verdict(borderline)} ({int(cells.sum())}) | {worst:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--layers", action="store_true", help="also each Conv alone / each Conv in float")
    args = parser.parse_args()
    fixtures = args.shared / "fixtures"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for model, (key, cache_file, labels, network) in MODELS.items():
            folder = work / model
            folder.mkdir()
            (folder / "labels.txt").write_text("\n".join(labels) + "\n")
            if model == FACEMASK:
                from skimage import data

                image = folder / "astronaut.png"
                cv2.imwrite(str(image), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
            else:
                image = write_plate_scene(folder / "scene.png", model)
            request = BundleRequest(model=fixtures / "models" / model, network=network, output=folder / "bundle",
                                    key=key, precision="fp32")
            request.labels = folder / "labels.txt"
            create_bundle(request)
            bundle = load_bundle(folder / "bundle")
            fp32 = onnx.load(str(bundle.onnx_for_cpu()))
            cache = read_calibration_cache(fixtures / "calibration" / cache_file)
            graph = gs.import_onnx(fp32)
            scales = {v.name: cache.scales[k] for k, v in map_cache_names(graph, cache.scales)[0].items()}
            heads = tuple(n.name for n in graph.nodes if n.op == "Conv" and n.name.startswith("output_"))
            kept = () if any(n.startswith("output_") for n in cache.scales) else heads
            product, report = insert_qdq_from_cache(fp32, cache, network=network)
            shortcut = [t if "bn_2" not in t else t.replace("bn_2", "bn_shortcut")
                        for t in report.residual_inputs.values()]
            variants = {
                "all Conv, output convs too (as first made)": qdq_graph(fp32, scales),
                "output convs float if the cache has no scale after them": qdq_graph(fp32, scales, float_convs=kept),
                "insert_qdq_from_cache: + residual Add inputs as TensorRT reads them": product,
                "  (shortcut branch quantized instead of the main one)": qdq_graph(fp32, scales, float_convs=kept,
                                                                                  extra_tensors=shortcut),
                "  weights only": qdq_graph(fp32, scales, float_convs=kept, activations=False),
            }
            if args.layers:
                convs = [n.name for n in graph.nodes if n.op == "Conv"]
                for conv in convs:
                    short = conv.split("/")[0]
                    variants[f"{short} alone"] = qdq_graph(fp32, scales, float_convs=[c for c in convs if c != conv])
                    variants[f"{short} in float"] = qdq_graph(fp32, scales, float_convs=[conv])
            print(f"\n{model} ({image.name}, cache {cache_file})\n")
            print("| Q/DQ graph | summed | borderline cells (n) | max cell change |")
            print("|---|---|---|---|")
            for label, candidate in variants.items():
                path = folder / "candidate.onnx"
                onnx.save(candidate, str(path))
                print(f"| {label} | {judge(bundle, image, path)}")


if __name__ == "__main__":
    main()
