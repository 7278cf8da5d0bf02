"""`taostream bundle`, `taostream check`, `taostream labels` and `taostream migrate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_text, check_input_file, check_output_file
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.converter.model.loader import load_onnx_model, open_model
from taostream.converter.registry import get_network, network_names
from taostream.deepstream_configs.migrate.cli import register_migrate
from taostream.deepstream_configs.pipeline.cli import register_pipeline
from taostream.deepstream_configs.nvinfer import DEEPSTREAM_VERSIONS, DEFAULT_DEEPSTREAM


def register(subparsers) -> None:
    _register_bundle(subparsers)
    _register_check(subparsers)
    _register_labels(subparsers)
    register_migrate(subparsers)
    register_pipeline(subparsers)


def _register_bundle(subparsers) -> None:
    parser = subparsers.add_parser(
        "bundle", help="decode a TAO model and write a complete DeepStream + Triton deployment folder",
        description="Decode (and translate/modernize as the target needs) a TAO model, then write model.onnx, "
                    "labels.txt, deepstream/, triton/, lib/ and manifest.json into one folder, atomically.")
    parser.add_argument("model", type=Path, help="the model: .etlt (encrypted) or .onnx")
    parser.add_argument("--network", required=True, help=f"one of {', '.join(network_names())} (TAO/TLT spellings accepted)")
    parser.add_argument("--spec", type=Path, help="the TAO experiment spec the model was trained with, or its TAO "
                        "inference spec (inferencer_config + bbox_handler_config)")
    parser.add_argument("--labels", type=Path, help="the labels.txt an NGC model ships with (one class per line, or "
                        "a;b;c); without --spec, thresholds are NVIDIA's published defaults for the model --network names")
    add_key_arguments(parser, required=False)
    parser.add_argument("--deepstream", default=DEFAULT_DEEPSTREAM, help=f"target DeepStream version ({', '.join(DEEPSTREAM_VERSIONS)})")
    parser.add_argument("--platform", choices=("x86", "jetson"), default="x86")
    parser.add_argument("--precision", choices=("fp32", "fp16", "int8"), default="fp16")
    parser.add_argument("--calibration-cache", type=Path, help="TensorRT INT8 calibration cache (cal.bin)")
    parser.add_argument("--calibrate-images", type=Path, metavar="DIR",
                        help="INT8 from fresh scales of the images in DIR (instead of a calibration cache)")
    parser.add_argument("--calibration-method", choices=("entropy", "minmax", "percentile"), default="entropy",
                        help="with --calibrate-images: how scales are chosen (default entropy, as TensorRT's "
                        "EntropyCalibration2; minmax is much faster on a CPU)")
    parser.add_argument("--dla-core", type=int, help="Jetson: run on this DLA core (GPU fallback on)")
    parser.add_argument("--classmap", type=Path, help="classification: classmap.json from `tao classification train`")
    parser.add_argument("--annotations", type=Path, help="MaskRCNN/EfficientDet: the COCO annotation json")
    parser.add_argument("--tlt2-labels", action="store_true", help="TLT 2.0 SSD/DSSD/RetinaNet: no background label")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--triton-gpu", choices=("onnx-trt", "plan", "both"), default="onnx-trt",
                        help="the Triton GPU model: onnx-trt (ONNX Runtime with the TensorRT accelerator, no build "
                             "step; default), plan (a TensorRT plan you build), or both")
    parser.add_argument("--plugins", choices=("tensorrt", "taostream"), default="tensorrt",
                        help="whose plugin library runs the plugins model.onnx keeps: tensorrt (default: plugins "
                             "TensorRT 11 removed are rewritten) or taostream (NMS/BatchedNMS/MaskRCNN plugins kept "
                             "for lib/libtaostream_plugins.so, which nvinfer's custom-lib-path loads)")
    parser.add_argument("--plugins-library", type=Path, metavar="SO",
                        help="with --plugins taostream: the built libtaostream_plugins.so to ship (for the bundle's "
                             "platform; default: this checkout's build/plugins/ when built)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the bundle folder to create")
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    parser.set_defaults(func=_run_bundle)


def _run_bundle(args: argparse.Namespace) -> int:
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle  # lazy: CLI start-up

    request = BundleRequest(
        model=args.model, network=args.network, output=args.output, spec=args.spec,
        key=resolve_key(args, required=False), deepstream=args.deepstream, platform=args.platform,
        precision=args.precision, calibration_cache=args.calibration_cache, classmap=args.classmap,
        annotations=args.annotations, batch_size=args.batch_size, force=args.force,
        tlt2_labels=args.tlt2_labels, labels=args.labels,
        calibrate_images=args.calibrate_images, calibration_method=args.calibration_method,
        triton_gpu=args.triton_gpu, plugins=args.plugins, plugins_library=args.plugins_library)
    result = create_bundle(request, dla_core=args.dla_core)
    for warning in result.warnings:
        print(f"taostream: warning: {warning}", file=sys.stderr)
    for note in result.defaults:
        print(f"default: {note}")
    print(f"bundle written: {result.path} ({len(result.manifest['files'])} files; see manifest.json)")
    return 0


def _register_check(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="validate nvinfer / deepstream-app / nvinferserver configs",
        description="Validate DeepStream configs. Exit status 1 when any error is found; warnings do not fail.")
    parser.add_argument("configs", nargs="+", type=Path, metavar="CONFIG|BUNDLE",
                        help="config files, or bundle folders (their files against manifest.json, then their configs)")
    parser.add_argument("--deepstream", help=f"the DeepStream version to check against ({', '.join(DEEPSTREAM_VERSIONS)}; "
                        f"default: a bundle's own, else {DEFAULT_DEEPSTREAM})")
    parser.add_argument("--model", type=Path, help="the ONNX model, when the config's model path is not reachable here")
    parser.set_defaults(func=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from taostream.deepstream_configs.check import bundle as bundle_check  # lazy: CLI start-up
    from taostream.deepstream_configs.check import pipeline as pipeline_check  # lazy: CLI start-up
    from taostream.deepstream_configs.check.bundle_consistency import check_bundle_paths_agree  # lazy: CLI start-up
    from taostream.deepstream_configs.check.run import CheckReport, check_configs  # lazy: CLI start-up
    from taostream.deepstream_configs.check.deploy import check_deployment  # lazy: CLI start-up
    from taostream.deepstream_configs.check.calibration import check_bundle_calibration  # lazy: CLI start-up

    if args.model is not None:  # refused before any config is read: an unusable --model would be passed over
        check_input_file(args.model, "--model", "the ONNX model the config runs")
        if args.model.suffix.lower() != ".onnx":
            raise TaostreamError(f"{args.model}: --model takes the ONNX model (.onnx) the config runs; decode an "
                                 ".etlt first (`taostream decode MODEL --to-onnx -o model.onnx`)")
    report, configs, bundles, versions = CheckReport(), [], 0, set()
    for path in [part for path in args.configs for part in _migrated_app_parts(path)]:
        if pipeline_check.is_pipeline(path):  # a `taostream pipeline` folder
            app_configs, version = pipeline_check.pipeline_configs(path, report)
            configs.extend(app_configs)
            bundles += pipeline_check.pipeline_bundle_count(path)
            if version:
                versions.add(str(version))
            continue
        if not bundle_check.is_bundle(path):
            if path.is_dir():
                raise TaostreamError(f"{path}: a folder without manifest.json or pipeline.json; give config files, a "
                                     "bundle folder (`taostream bundle`) or a pipeline folder (`taostream pipeline`)")
            configs.append(path)
            continue
        bundles += 1
        manifest = bundle_check.read_manifest(path, report)
        if manifest is not None:
            bundle_check.check_bundle_files(path, manifest, report)
            check_bundle_paths_agree(path, report)
            check_deployment(path, manifest, report)
            check_bundle_calibration(path, manifest, report)
            versions.add(str(manifest.get("deepstream") or DEFAULT_DEEPSTREAM))
        configs.extend(bundle_check.bundle_configs(path, report))
    if args.deepstream is None and len(versions) > 1:
        raise TaostreamError(f"the bundles target different DeepStream versions ({', '.join(sorted(versions))}); "
                             "check them one at a time or pass --deepstream")
    deepstream = args.deepstream or (versions.pop() if versions else DEFAULT_DEEPSTREAM)
    if configs:
        # a file two checks met (a bundle file the configs use, unreadable) is reported once
        report.findings.extend(f for f in check_configs(configs, deepstream=deepstream, model=args.model).findings
                               if f not in report.findings)

    def position(finding):
        return (str(finding.path), finding.line or 0)

    for finding in sorted(report.errors, key=position) + sorted(report.warnings, key=position):
        print(finding)
    checked = f"{len(configs)} config(s)" + (f" and {bundles} bundle(s) (DeepStream {deepstream})" if bundles else "")
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in {checked}")
    return 1 if report.errors else 0


def _migrated_app_parts(path: Path) -> list[Path]:
    """What `taostream migrate` wrote for a deepstream-app config (migration.json + deepstream_app.txt):
    its GIE bundles and its app config (which names the nvinfer configs); any other path as it is."""
    from taostream.deepstream_configs.check.bundle import is_bundle  # lazy: CLI start-up
    from taostream.deepstream_configs.migrate.nvinfer import REPORT_FILE  # lazy: CLI start-up

    app = path / "deepstream_app.txt"
    if not (path.is_dir() and (path / REPORT_FILE).is_file() and app.is_file()) or is_bundle(path):
        return [path]
    return [*sorted(p for p in path.iterdir() if is_bundle(p)), app]


def _register_labels(subparsers) -> None:
    parser = subparsers.add_parser("labels", help="print labels.txt for a TAO spec, in the model's class-id order")
    parser.add_argument("spec", type=Path, help="the TAO experiment spec")
    parser.add_argument("--network", required=True)
    parser.add_argument("--classmap", type=Path, help="classification: classmap.json")
    parser.add_argument("--annotations", type=Path, help="MaskRCNN/EfficientDet: COCO annotation json")
    parser.add_argument("--tlt2", action="store_true", help="TLT 2.0 SSD/DSSD/RetinaNet: no background line")
    parser.add_argument("--model", type=Path, help="the model (.etlt or .onnx): refuse labels whose count is not "
                        "the number of classes its graph outputs")
    add_key_arguments(parser, required=False)
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    parser.set_defaults(func=_run_labels)


def _model_classes(path: Path, network: str, key: str | None):
    """The class count the model's graph outputs (converter.model_classes), or None."""
    from taostream.converter.model.classes import model_classes  # lazy: CLI start-up

    return model_classes(load_onnx_model(open_model(path, key)), network)


def _run_labels(args: argparse.Namespace) -> int:
    # lazy: CLI start-up
    from taostream.deepstream_configs.labels import LabelSources, labels_from_spec_file, require_label_count

    if args.output:  # replaced like a shell redirect would, but never a folder or the spec itself
        check_output_file(args.output, force=True, inputs=(args.spec, args.classmap, args.annotations, args.model))
    classes = _model_classes(args.model, args.network, resolve_key(args, required=False)) if args.model else None
    labels = labels_from_spec_file(args.spec, args.network, LabelSources(
        classmap=args.classmap, coco_annotations=args.annotations, tlt2=args.tlt2,
        class_count_hint=classes.count if classes else None))
    source = f"--classmap {args.classmap}" if args.classmap else f"{args.spec}"
    require_label_count(labels.names, classes, source, str(args.model), args.tlt2)
    for warning in labels.warnings:
        print(f"taostream: warning: {warning}", file=sys.stderr)

    text = labels.text(get_network(args.network).network_type)  # a classifier's: one ';'-separated line
    if args.output:
        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0
