"""`taostream pipeline`: the command line of deepstream_configs.pipeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from taostream.deepstream_configs.nvinfer import DEEPSTREAM_VERSIONS, DEFAULT_DEEPSTREAM
from taostream.deepstream_configs.trackers import TRACKERS


def register_pipeline(subparsers) -> None:
    parser = subparsers.add_parser(
        "pipeline", help="a deepstream-app pipeline from bundles: detector, tracker, secondary classifiers, N sources",
        description="Write a deepstream-app config folder from bundles: the primary detector, secondary GIEs on its "
                    "objects (classes by name), a tracker with its YAML, N sources batched together and one sink. "
                    "`taostream check APP` validates it.")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="APP", help="the folder to create")
    parser.add_argument("--primary", type=Path, required=True, metavar="BUNDLE", help="the detector's bundle")
    parser.add_argument("--secondary", action="append", default=[], metavar="BUNDLE[:classes=a,b][:min-size=WxH]",
                        help="a classifier bundle run on the primary's objects (repeatable); classes= names the "
                             "primary's classes it works on, min-size= skips smaller objects")
    parser.add_argument("--tracker", choices=TRACKERS, default="nvdcf")
    parser.add_argument("--source", action="append", default=[], metavar="URI",
                        help="a video file, file://, rtsp://, http(s)://, /dev/videoN or csi://N (repeatable; "
                             "default: DeepStream's sample stream)")
    parser.add_argument("--sink", choices=("fake", "file", "rtsp", "display"), default="fake")
    parser.add_argument("--output-file", default="out.mp4", help="--sink file: the MP4 to write")
    parser.add_argument("--rtsp-port", type=int, default=8554, help="--sink rtsp: the RTSP server's port")
    parser.add_argument("--udp-port", type=int, default=5400, help="--sink rtsp: the internal UDP port")
    parser.add_argument("--deepstream", default=DEFAULT_DEEPSTREAM, help=f"target DeepStream ({', '.join(DEEPSTREAM_VERSIONS)})")
    parser.add_argument("--platform", choices=("x86", "jetson"), default="x86")
    parser.add_argument("--triton", action="store_true", help="also write deepstream_app_triton.txt: the same pipeline "
                        "with nvinferserver GIEs and one Triton repository (APP/triton/) for all models")
    parser.add_argument("--copy", action="store_true", help="copy the bundles into APP/bundles/ (a self-contained folder)")
    parser.add_argument("--force", action="store_true", help="replace an existing APP folder")
    parser.set_defaults(func=_run_pipeline)


def _run_pipeline(args: argparse.Namespace) -> int:
    # lazy: CLI start-up
    from taostream.deepstream_configs.pipeline.make import PipelineRequest, create_pipeline, parse_secondary

    request = PipelineRequest(
        output=args.output, primary=args.primary, secondaries=[parse_secondary(s) for s in args.secondary],
        tracker=args.tracker, sources=list(args.source), sink=args.sink, deepstream=args.deepstream,
        platform=args.platform, triton=args.triton, copy=args.copy, force=args.force, output_file=args.output_file,
        rtsp_port=args.rtsp_port, udp_port=args.udp_port)
    result = create_pipeline(request)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    triton = result.manifest.get("app_config_triton")
    # tensorrt_plan models wait for their engine (their 1/README.txt says how); onnx-trt ones load as written
    plans = [f["path"] for f in result.manifest["files"] if f["path"].endswith("/1/README.txt")]
    build = f" (build each model.plan first: {result.path}/triton/*/1/README.txt)" if plans else ""
    print(f"pipeline written: {result.path} ({len(result.manifest['files'])} files; run: deepstream-app -c "
          f"{result.path / result.manifest['app_config']}"
          + (f" or, with Triton, {result.path / triton}{build}" if triton else "")
          + f"; check: taostream check {result.path})")
    return 0
