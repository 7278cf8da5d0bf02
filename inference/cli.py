"""`taostream infer` and `taostream serve`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_text, check_output_file, check_writable_folder
from taostream.converter.wording import plural


BACKEND_METAVAR = "{ort,trt,triton}"
BACKENDS = ("ort", "onnx", "trt", "triton")  # what --backend accepts; _backend returns the command's own name


def _backend(onnx_runtime: str):
    """--backend's type: ONNX Runtime is `ort` (the docs' name) or `onnx` in every command, so a user who
    mixes infer's and verify's spelling is understood; returns the name the command's code uses."""
    def parse(value: str) -> str:
        if value in ("ort", "onnx"):
            return onnx_runtime
        if value in ("trt", "triton"):
            return value
        raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from ort (or onnx), trt, triton)")
    parse.__name__ = "backend"
    return parse


def register(subparsers) -> None:
    infer = subparsers.add_parser(
        "infer", help="run a bundle on images, folders or videos (ONNX Runtime, TensorRT or Triton)",
        description="Run a `taostream bundle` on images, folders of images and video files; write KITTI "
                    "labels (TAO's format), results.json and annotated images/videos into OUT. The bundle's "
                    "thresholds apply as in DeepStream; --threshold only filters the result.")
    infer.add_argument("bundle", help="the bundle folder (from `taostream bundle`), or a pipeline folder (from "
                       "`taostream pipeline`: detector, tracker and secondary classifiers on the CPU)")
    infer.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, video files")
    infer.add_argument("-r", "--recursive", action="store_true",
                       help="also read the images and videos in a folder's subfolders (default: the folder's own, as "
                            "TAO's inference reads an image_dir); outputs keep the subfolder paths")
    infer.add_argument("-o", "--output", required=True, help="output folder (created atomically)")
    infer.add_argument("--backend", type=_backend("ort"), choices=BACKENDS, default="ort", metavar=BACKEND_METAVAR,
                       help="ort (or onnx): ONNX Runtime on the CPU (default); trt: TensorRT engine; triton: a Triton server")
    infer.add_argument("--batch-size", type=int, default=1, help="images per inference call (default 1)")
    infer.add_argument("--threshold", type=float, help="final confidence filter after the bundle's post-processing, which "
                       "it does not change (default: none; classifiers: replaces classifier-threshold)")
    infer.add_argument("--engine", type=Path, help="trt: engine file (default BUNDLE/model.plan)")
    infer.add_argument("--url", help="triton: HOST:PORT of a running server (default: start one on the bundle)")
    infer.add_argument("--protocol", choices=("http", "grpc"), default="http", help="triton: protocol (default http)")
    infer.add_argument("--model-name", help="triton: model to query (default: the bundle's CPU model)")
    infer.add_argument("--shared-memory", action="store_true", help="triton: pass tensors through system shared memory")
    infer.add_argument("--no-annotate", action="store_true", help="do not write annotated images/videos")
    infer.add_argument("--force", action="store_true", help="replace OUT if it exists")
    infer.add_argument("--no-progress", action="store_true", help="no progress bar")
    infer.set_defaults(func=run_infer)

    verify = subparsers.add_parser(
        "verify", help="check a deployment (ONNX graph, TensorRT engine, Triton model) against the FP32 reference",
        description="Run the same images through the bundle's FP32 CPU reference and a candidate (default: the "
                    "bundle's model.onnx, the TensorRT 11 graph with replaced plugins and INT8 Q/DQ; or a TensorRT "
                    "engine; or a Triton model) and match the detections. Exit status 0 when they agree within "
                    "the tolerance, 1 when they do not.")
    verify.add_argument("bundle", help="the bundle folder (from `taostream bundle`)")
    verify.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, video files")
    verify.add_argument("-r", "--recursive", action="store_true",
                        help="also read the images and videos in a folder's subfolders (default: the folder's own)")
    verify.add_argument("--backend", type=_backend("onnx"), choices=BACKENDS, default="onnx", metavar=BACKEND_METAVAR,
                        help="ort (or onnx): an ONNX graph in ONNX Runtime (default); trt: a TensorRT engine; triton: a "
                        "Triton model")
    verify.add_argument("--onnx", type=Path, help="onnx: the candidate graph (default BUNDLE/model.onnx)")
    verify.add_argument("--engine", type=Path, help="trt: engine file (default BUNDLE/model.plan)")
    verify.add_argument("--url", help="triton: HOST:PORT of a running server (default: start one on the bundle)")
    verify.add_argument("--protocol", choices=("http", "grpc"), default="http", help="triton: protocol (default http)")
    verify.add_argument("--model-name", help="triton: model to query (default: the bundle's CPU model)")
    verify.add_argument("--tolerance", default="auto", choices=("auto", "exact", "fp32", "fp16", "int8"),
                        help="auto (default): from the candidate's precision; exact for the CPU Triton model")
    verify.add_argument("--threshold", type=float, help="final confidence filter on both sides (default: none)")
    verify.add_argument("--max-frames", type=int, default=25, help="frames compared per video (default 25)")
    verify.add_argument("--batch-size", type=int, default=1, help="images per inference call (default 1)")
    verify.add_argument("--json", type=Path, metavar="REPORT", help="also write the full report as JSON")
    verify.add_argument("--no-progress", action="store_true", help="no progress bar")
    verify.set_defaults(func=run_verify_command)

    evaluate = subparsers.add_parser(
        "evaluate", help="per-class AP / mAP of a deployment on a labelled set (TAO's rules and COCO's)",
        description="Score a bundle (run on the dataset's images) or a folder of KITTI prediction files against "
                    "a KITTI dataset (images/ + labels/) or a COCO annotation file: per-class AP and mAP as TAO's "
                    "evaluate computes them for the network family, and COCO AP@[.5:.95]/AP50/AP75 by pycocotools. "
                    "With --against fp32, also the bundle's FP32 CPU reference; exit status 1 when the mAP drops by "
                    "more than --max-drop. See docs/evaluate.md.")
    evaluate.add_argument("dataset", help="a KITTI folder (images/, labels/), a COCO annotation .json, or for a "
                                          "classifier a folder of class subfolders")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--bundle", type=Path, help="run this bundle on the dataset's images")
    source.add_argument("--predictions", type=Path, metavar="DIR",
                        help="KITTI prediction files (16th field = confidence), named like the images")
    evaluate.add_argument("--backend", type=_backend("onnx"), choices=BACKENDS, default="onnx", metavar=BACKEND_METAVAR,
                          help="with --bundle: ort or onnx (BUNDLE/model.onnx in ONNX Runtime, default), trt, triton")
    evaluate.add_argument("--onnx", type=Path, help="onnx: the graph to evaluate (default BUNDLE/model.onnx)")
    evaluate.add_argument("--engine", type=Path, help="trt: engine file (default BUNDLE/model.plan)")
    evaluate.add_argument("--url", help="triton: HOST:PORT of a running server (default: start one on the bundle)")
    evaluate.add_argument("--protocol", choices=("http", "grpc"), default="http", help="triton: protocol (default http)")
    evaluate.add_argument("--model-name", help="triton: model to query (default: the bundle's CPU model)")
    evaluate.add_argument("--images", type=Path, help="COCO: the image folder (default: the annotation file's folder)")
    evaluate.add_argument("--network", help="with --predictions: the TAO network whose evaluation rules apply "
                                            "(default: SSD/YOLO's ap_evaluator rules)")
    evaluate.add_argument("--spec", type=Path, help="the TAO experiment spec: its evaluation config, class mapping")
    evaluate.add_argument("--ap-mode", choices=("sample", "integrate"), help="override the spec's average_precision_mode")
    evaluate.add_argument("--iou", type=float, help="override the matching IoU for every class")
    evaluate.add_argument("--threshold", type=float, help="with --bundle: pre-cluster threshold to decode with, every class "
                          "(default: the bundle's)")
    evaluate.add_argument("--against", choices=("fp32",), help="also score the bundle's FP32 CPU reference")
    evaluate.add_argument("--max-drop", type=float, default=0.01,
                          help="--against: the largest mAP drop that passes (default 0.01)")
    evaluate.add_argument("--batch-size", type=int, default=1, help="images per inference call (default 1)")
    evaluate.add_argument("--json", type=Path, metavar="REPORT", help="also write every number as JSON")
    evaluate.add_argument("--plots", type=Path, metavar="DIR", help="a precision-recall PNG per class (matplotlib)")
    evaluate.add_argument("--stream", type=int, help="--predictions from DeepStream (<app>_<stream>_<frame>.txt): "
                                                     "the stream that played the dataset's images in name order")
    evaluate.add_argument("--mux-size", metavar="WxH", help="--predictions from DeepStream: nvstreammux's width x "
                                                            "height, to scale the boxes to each image's size")
    evaluate.add_argument("--top-k", type=int, default=5, help="classification: top-k accuracy besides top-1 (default 5)")
    evaluate.add_argument("--coco-engine", choices=("auto", "pycocotools", "faster-coco-eval"), default="auto",
                          help="who computes COCO AP (auto: faster-coco-eval when installed, else pycocotools)")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    evaluate.set_defaults(func=run_evaluate_command)

    bench = subparsers.add_parser(
        "bench", help="throughput and p50/p90/p99 latency of a bundle: the model alone and end to end",
        description="Time a bundle: a bare ONNX Runtime session (the baseline), the model through taostream's "
                    "runner, and end to end (decode + preprocess + infer + parse); with --backend triton, Triton's "
                    "perf_analyzer drives the server. Warm-up calls are not timed. See docs/evaluate.md.")
    bench.add_argument("bundle", help="the bundle folder (from `taostream bundle`)")
    bench.add_argument("--backend", type=_backend("onnx"), choices=BACKENDS, default="onnx", metavar=BACKEND_METAVAR,
                       help="ort (or onnx): BUNDLE/model.onnx in ONNX Runtime (default); trt: a TensorRT engine; "
                       "triton: a server")
    bench.add_argument("--onnx", type=Path, help="onnx: the graph (default BUNDLE/model.onnx)")
    bench.add_argument("--engine", type=Path, help="trt: engine file (default BUNDLE/model.plan)")
    bench.add_argument("--url", help="triton: HOST:PORT of a running server's HTTP endpoint (default: start one)")
    bench.add_argument("--model-name", help="triton: model to drive (default: the bundle's CPU model)")
    bench.add_argument("--images", nargs="+", metavar="IMAGE", default=[],
                       help="images or folders to use (default: one generated 1280x720 JPEG)")
    bench.add_argument("--batch-size", type=int, default=1, help="images per call (default 1)")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per phase (default 10)")
    bench.add_argument("--warmup", type=int, default=3, help="untimed calls per thread first (default 3)")
    bench.add_argument("--concurrency", type=int, default=1, help="calls in flight (threads; default 1)")
    bench.add_argument("--rounds", type=int, default=5,
                       help="phases alternate in this many slices of the duration (default 5; 1 = one after the other)")
    bench.add_argument("--stability", type=float, default=10.0, metavar="PERCENT",
                       help="triton: perf_analyzer's --stability-percentage, how far its last 3 windows may differ "
                            "(default 10; raise it on a busy host)")
    bench.add_argument("--json", type=Path, metavar="REPORT", help="also write the report as JSON")
    bench.set_defaults(func=run_bench_command)

    serve = subparsers.add_parser(
        "serve", help="serve a bundle's Triton repository with a real Triton server on 127.0.0.1",
        description="Start tritonserver (a system one, else the one nvidia-pytriton ships) on 127.0.0.1 with "
                    "a bundle's triton/ repository (or any repository folder); print the URLs; run until Ctrl-C.")
    serve.add_argument("target", help="a bundle folder or a Triton model repository")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port, 1-65535 (default 8000; 0 = any free port)")
    serve.add_argument("--grpc-port", type=int, default=8001, help="gRPC port, 1-65535 (default 8001; 0 = any free port)")
    serve.add_argument("--model", action="append", dest="models", metavar="NAME",
                       help="serve only this model (repeatable; default: every model this server can load)")
    serve.set_defaults(func=run_serve)

    app = subparsers.add_parser(
        "deepstream-app", help="run a bundle or a pipeline folder in DeepStream on video files or RTSP streams (pyds)",
        description="Run the bundle's nvinfer (or, with --triton, nvinferserver) config in a DeepStream "
                    "pipeline on SOURCE and write KITTI labels per frame and results.json into OUT. A "
                    "`taostream pipeline` folder runs as its deepstream_app.txt wires it (sources, tracker, "
                    "secondaries, sink); SOURCEs then replace its sources. Needs DeepStream with pyds.")
    app.add_argument("bundle", metavar="BUNDLE_OR_APP", help="the bundle folder, or a `taostream pipeline` folder")
    app.add_argument("source", nargs="*", metavar="SOURCE",
                     help="video files, file:// or rtsp:// URIs (one for a bundle; optional for a pipeline)")
    app.add_argument("-o", "--output", required=True, help="output folder (created atomically)")
    app.add_argument("--triton", action="store_true", help="use nvinferserver with the bundle's Triton config")
    app.add_argument("--mux-size", default="1920x1080", help="nvstreammux WIDTHxHEIGHT (default 1920x1080)")
    app.add_argument("--annotate", action="store_true", help="also write an annotated MP4 into OUT/videos/")
    app.add_argument("--force", action="store_true", help="replace OUT if it exists")
    app.set_defaults(func=run_deepstream)


def _triton_url(args) -> str | None:
    """--url as HOST:PORT, checked before any model runs (serve prints it as http://HOST:PORT)."""
    if args.url is None:
        return None
    from taostream.inference.backends.triton_runner import triton_url  # lazy: CLI start-up (triton_runner loads numpy)

    return triton_url(args.url, args.protocol)


def run_infer(args: argparse.Namespace) -> int:
    from taostream.inference.cascade import is_pipeline  # lazy: CLI start-up
    from taostream.inference.infer_run import InferRequest, run_inference  # lazy: CLI start-up

    if is_pipeline(Path(args.bundle)):  # a `taostream pipeline` folder: the CPU cascade
        return _run_cascade(args)

    summary = run_inference(InferRequest(
        bundle=Path(args.bundle), inputs=args.inputs, output=Path(args.output), backend=args.backend,
        batch_size=args.batch_size, threshold=args.threshold, engine=args.engine, url=_triton_url(args),
        protocol=args.protocol, model_name=args.model_name, shared_memory=args.shared_memory,
        annotate=not args.no_annotate, force=args.force, progress=not args.no_progress, recursive=args.recursive))
    for warning in summary.warnings + [summary.unreadable_text()] * bool(summary.unreadable):
        print(f"taostream: warning: {warning}", file=sys.stderr)
    written = sorted(p.name + ("/" if p.is_dir() else "") for p in summary.output.iterdir())
    print(f"wrote {summary.output}: {plural(summary.images, 'image')}, {plural(summary.frames, 'video frame')}, "
          f"{summary.results_text()} ({', '.join(written)})")
    return 0


def _run_cascade(args: argparse.Namespace) -> int:
    from taostream.inference.cascade import run_cascade  # lazy: CLI start-up

    if args.backend != "ort" or args.batch_size != 1:
        raise TaostreamError(f"{args.bundle}: a pipeline runs on the CPU with ONNX Runtime, one frame at a time; drop "
                             "--backend/--batch-size (or run one bundle of it with those)")
    summary = run_cascade(Path(args.bundle), args.inputs, Path(args.output), threshold=args.threshold,
                          annotate=not args.no_annotate, force=args.force, progress=not args.no_progress,
                          recursive=args.recursive)
    if summary.unreadable:
        print(f"taostream: warning: {summary.unreadable_text()}", file=sys.stderr)
    print(f"wrote {summary.output}: {plural(summary.images, 'image')}, {plural(summary.frames, 'video frame')}, "
          f"{plural(summary.objects, 'object')}, {plural(summary.classified, 'secondary result')} (labels/, results.json)")
    return 0


def repository_of(target: Path) -> Path:
    if (target / "pipeline.json").is_file():  # its triton/ holds the GPU models of a --triton pipeline only
        names = ", ".join(sorted(_pipeline_bundles(target))) or "the bundles named in pipeline.json"
        raise TaostreamError(f"{target}: a pipeline folder; `taostream serve` serves one bundle (its CPU model here): "
                             f"serve each bundle it uses ({names}), or run {target / 'triton'} with tritonserver on "
                             "a GPU host (docs/pipelines.md)")
    if (target / "manifest.json").is_file():
        target = target / "triton"
    model = target.parent if target.name == "config.pbtxt" and target.is_file() else target
    if (model / "config.pbtxt").is_file():  # one model's folder (or its config) instead of the repository
        model = model.resolve() if model.name in ("", "..") else model
        raise TaostreamError(f"{target}: one model of a Triton repository; serve the repository, the folder above it: "
                             f"`taostream serve {model.parent} --model {model.name}`")
    if not target.is_dir() or not any(target.glob("*/config.pbtxt")):
        raise TaostreamError(f"{target}: not a bundle or a Triton model repository (no <model>/config.pbtxt); "
                             "create one with `taostream bundle`")
    return target


def _pipeline_bundles(app: Path) -> list[str]:
    """The bundle folders a pipeline folder's pipeline.json names (empty when it cannot be read)."""
    try:
        manifest = json.loads((app / "pipeline.json").read_text(encoding="utf-8"))
        gies = [manifest.get("primary"), *manifest.get("secondaries", [])]
        paths = [Path(str(gie["path"])) for gie in gies if isinstance(gie, dict) and gie.get("path")]
        return [str(path if path.is_absolute() else app / path) for path in paths]
    except (OSError, ValueError, AttributeError, TypeError):
        return []


def run_serve(args: argparse.Namespace) -> int:
    # lazy: CLI start-up
    from taostream.inference.backends.triton_server import (TritonServer, check_port, fatal_log_line, find_tritonserver, free_port,
                                                   servable_models)

    http_port, grpc_port = check_port(args.port, "--port"), check_port(args.grpc_port, "--grpc-port")
    if http_port and http_port == grpc_port:
        raise TaostreamError(f"--port and --grpc-port are both {http_port}; give them different ports")
    repository = repository_of(Path(args.target))
    installation = find_tritonserver()
    models, skipped = servable_models(repository, installation)
    if args.models:
        unknown = set(args.models) - set(models)
        if unknown:
            raise TaostreamError(f"{repository}: cannot serve {', '.join(sorted(unknown))} (servable: "
                                 f"{', '.join(models) or 'none'}); " + "; ".join(skipped))
        models = args.models
    if not models:
        raise TaostreamError(f"{repository}: no model this Triton server can load: " + "; ".join(skipped))
    server = TritonServer(repository, http_port=http_port or free_port(), grpc_port=grpc_port or free_port(),
                          installation=installation, models=models)  # refuses taken ports before the notes
    for reason in skipped:
        print(f"taostream: not serving {reason}", file=sys.stderr)
    stop = {"requested": False}

    def request_stop(*_):
        stop["requested"] = True

    # Both stop the server cleanly. SIGINT gets a handler too: a process started with SIGINT ignored
    # (a background job of a non-interactive shell, as CI runners start them) would not stop on it.
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with server:
            print(f"serving {', '.join(models)} from {repository} ({installation.kind} tritonserver)")
            print(f"  HTTP: http://{server.http_url}   gRPC: {server.grpc_url}")
            print("ready; press Ctrl-C to stop", flush=True)
            while not stop["requested"] and server.process.poll() is None:
                time.sleep(0.2)
            if server.process.poll() not in (None, 0) and not stop["requested"]:
                raise TaostreamError(f"tritonserver stopped with code {server.process.returncode}: "
                                     f"{fatal_log_line(server.log_text()) or server.last_log_line()}")
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0


def run_verify_command(args: argparse.Namespace) -> int:
    from taostream.inference.verify import VerifyRequest, run_verify  # lazy: CLI start-up

    if args.json:
        check_output_file(args.json, force=True, option="--json", inputs=(args.bundle, args.onnx, args.engine))
    report = run_verify(VerifyRequest(
        bundle=Path(args.bundle), inputs=args.inputs, backend=args.backend, onnx=args.onnx, engine=args.engine,
        url=_triton_url(args), protocol=args.protocol, model_name=args.model_name, tolerance=args.tolerance,
        threshold=args.threshold, max_frames=args.max_frames, batch_size=args.batch_size,
        progress=not args.no_progress, recursive=args.recursive))
    print("\n".join(report.lines()))
    if args.json:
        atomic_write_text(args.json, json.dumps(report.to_dict(), indent=1) + "\n")
    return 0 if report.passed else 1


def run_evaluate_command(args: argparse.Namespace) -> int:
    from taostream.inference.evaluate.run import EvaluateRequest, run_evaluate  # lazy: CLI start-up

    if args.json:  # checked before the run, not after it
        check_output_file(args.json, force=True, option="--json", inputs=(args.dataset, args.spec, args.onnx))
    if args.plots:
        check_writable_folder(args.plots, "--plots")
    report = run_evaluate(EvaluateRequest(
        dataset=Path(args.dataset), bundle=args.bundle, predictions=args.predictions, backend=args.backend,
        onnx=args.onnx, engine=args.engine, url=_triton_url(args), protocol=args.protocol, model_name=args.model_name,
        images=args.images, network=args.network, spec=args.spec, ap_mode=args.ap_mode, iou=args.iou,
        threshold=args.threshold, against=args.against, max_drop=args.max_drop, batch_size=args.batch_size,
        plots=args.plots, coco_engine=args.coco_engine, top_k=args.top_k, stream=args.stream,
        mux_size=parse_size(args.mux_size) if args.mux_size else None, progress=not args.no_progress))
    print("\n".join(report.lines()))
    if args.json:
        atomic_write_text(args.json, json.dumps(report.to_dict(), indent=1) + "\n")
    return 0 if report.passed else 1


def run_bench_command(args: argparse.Namespace) -> int:
    from taostream.inference.bench import BenchRequest, report_lines, run_bench  # lazy: CLI start-up

    if args.json:  # checked before the timing run, not after it
        check_output_file(args.json, force=True, option="--json", inputs=(args.bundle, args.onnx))
    report = run_bench(BenchRequest(
        bundle=Path(args.bundle), backend=args.backend, onnx=args.onnx, engine=args.engine, url=args.url,
        model_name=args.model_name, images=args.images, batch_size=args.batch_size, duration=args.duration,
        warmup=args.warmup, concurrency=args.concurrency, rounds=args.rounds, stability=args.stability))
    print("\n".join(report_lines(report)))
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n")
    return 0


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise TaostreamError(f"--mux-size {text}: use WIDTHxHEIGHT, e.g. 1920x1080") from None
    if width <= 0 or height <= 0:
        raise TaostreamError(f"--mux-size {text}: width and height must be positive")
    return width, height


def run_deepstream(args: argparse.Namespace) -> int:
    from taostream.inference.cascade import is_pipeline  # lazy: CLI start-up
    from taostream.inference.deepstream.app import run_deepstream_app  # lazy: CLI start-up

    if is_pipeline(Path(args.bundle)):
        return _run_deepstream_pipeline(args)
    if len(args.source) != 1:
        raise TaostreamError(f"deepstream-app {args.bundle}: give one SOURCE (a video file, file:// or rtsp:// URI) "
                             "for a bundle" + ("" if args.source else "; none was given"))
    frames = run_deepstream_app(args.bundle, args.source[0], args.output, triton=args.triton,
                                mux_size=parse_size(args.mux_size), annotate=args.annotate, force=args.force)
    print(f"wrote {args.output}: {plural(frames, 'frame')} (labels/, results.json)")
    return 0


def _run_deepstream_pipeline(args: argparse.Namespace) -> int:
    from taostream.inference.deepstream.pipeline import run_pipeline_app  # lazy: CLI start-up

    if args.mux_size != "1920x1080" or args.annotate:
        raise TaostreamError(f"{args.bundle}: a pipeline takes its muxer size and sink from its deepstream_app.txt "
                             "([streammux] width/height, [sink0]); drop --mux-size/--annotate and edit those")
    frames = run_pipeline_app(args.bundle, args.source or None, args.output, triton=args.triton, force=args.force)
    print(f"wrote {args.output}: {plural(frames, 'frame')} (labels/, results.json)")
    return 0
