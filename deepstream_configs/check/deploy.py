"""`taostream check BUNDLE`: do README.md, compose.yaml and k8s/ still agree with manifest.json, and
does every Triton config.pbtxt parse as Triton's ModelConfig?

- image tags: the DeepStream image must be the bundle's release (and platform); a tritonserver image
  must ship the TensorRT the bundle's x86 target runs (versions.py's Triton table);
- paths: bundle files the README's commands and compose's mounts name must exist; models that
  `--load-model` names must be in triton/;
- Triton configs: parsed with tritonclient's model_config proto (the `triton` extra); the onnx-trt
  model's TensorRT accelerator must run at the bundle's precision, and its model.onnx must be there;
  each config's tensor names and dims must be its model.onnx's (triton_tensors.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from taostream.deepstream_configs.check.plugins_library import check_bundle_plugins
from taostream.deepstream_configs.check.run import ERROR, WARNING, CheckReport, Finding, is_readable, note_unreadable
from taostream.deepstream_configs.check.triton_tensors import check_triton_tensors
from taostream.deepstream_configs.bundle.deploy import COMPOSE, K8S_REPOSITORY, K8S_TRITON, README, x86_tensorrt
from taostream.deepstream_configs.versions import (
    DEEPSTREAM_IMAGES, TRITON_IMAGE, TritonRelease, _same_release, deepstream_image,
    deepstream_image_version, deepstream_release, triton_release, triton_release_for)

_IMAGE = re.compile(r"((?:nvcr\.io/nvidia/(?:deepstream(?:-l4t)?|tritonserver|tensorrt)|ghcr\.io/nvidia/deepstream)"
                    r":[A-Za-z0-9._-]+)")
TENSORRT_IMAGE = "nvcr.io/nvidia/tensorrt"  # builds the plan: the release of the Triton image (same TensorRT)
_CODE = re.compile(r"```sh\n(.*?)```", re.S)
_PRECISION = {"fp32": "FP32", "fp16": "FP16", "int8": "INT8"}


def check_deployment(folder: Path, manifest: dict, report: CheckReport) -> None:
    """Findings where the bundle's deployment files or Triton configs disagree with its manifest."""
    check_bundle_plugins(folder, manifest, report)
    check_triton_configs(folder, manifest, report)
    try:
        release = deepstream_release(str(manifest.get("deepstream")))
    except Exception:  # an unknown version is reported by the config checks
        return
    expected_ds = deepstream_image(release.version, manifest.get("platform", "x86"))
    trt = x86_tensorrt(manifest)
    models = {p.parent.name for p in (folder / "triton").glob("*/config.pbtxt")}
    readme = folder / README
    if readme.is_file() and is_readable(readme):
        text = readme.read_text(encoding="utf-8")
        _check_images(readme, None, _IMAGE.findall(text), expected_ds, trt, report)
        for block in _CODE.findall(text):
            _check_command_paths(folder, readme, block, report)
            _check_load_models(readme, None, block, models, report)
    compose = folder / COMPOSE
    if compose.is_file():
        _check_compose(folder, compose, expected_ds, trt, models, report)
    for relative in (K8S_REPOSITORY, K8S_TRITON):
        path = folder / relative
        if path.is_file():
            _check_k8s(path, expected_ds, trt, models, report)


# --- images -----------------------------------------------------------------------------------------

def _image_finding(path: Path, key: str | None, image: str, expected_ds: str, trt: str | None) -> str | None:
    name, _, tag = image.rpartition(":")
    if name in DEEPSTREAM_IMAGES:
        if image != expected_ds:
            version = deepstream_image_version(image)
            return (f"image {image} is DeepStream {version} or another platform's, but the bundle targets "
                    f"{expected_ds.rpartition(':')[2].split('-')[0]}: use {expected_ds}")
        return None
    if name == TENSORRT_IMAGE:
        want = triton_release_for(trt) if trt else None
        if want is None or tag.split("-")[0] != want.release:
            fix = f"use {TENSORRT_IMAGE}:{want.release}-py3" if want else "the bundle's x86 target loads no graph"
            return (f"image {image} builds the plan with another TensorRT than the bundle's x86 target "
                    f"(TensorRT {trt}) and its Triton image; {fix}")
        return None
    if name == TRITON_IMAGE:
        row: TritonRelease | None = triton_release(tag)
        want = triton_release_for(trt) if trt else None
        fix = f"use {want.image}" if want else "the bundle's x86 target loads no graph; remove the Triton service"
        if row is None:
            return f"image {image} is a Triton release taostream has no TensorRT version for; {fix}"
        if trt is None or not _same_release(trt, row.tensorrt):
            return (f"image {image} ships TensorRT {row.tensorrt}, but the bundle's x86 target runs TensorRT {trt}: "
                    f"its engines and the models built there would not match; {fix}")
    return None


def _check_images(path: Path, key: str | None, images: list[str], expected_ds: str, trt: str | None,
                  report: CheckReport) -> None:
    for image in dict.fromkeys(images):
        message = _image_finding(path, key, image, expected_ds, trt)
        if message:
            report.findings.append(Finding(ERROR, path, None, None, key, message))


# --- paths ------------------------------------------------------------------------------------------

def command_paths(block: str) -> list[str]:
    """Bundle-relative paths a README code block names: `-c CONFIG` (run in deepstream/), `-f FILE`,
    `--onnx=/bundle/X`, `-v "$PWD/X":...` and `$PWD`-relative mounts, `kubectl cp X`, `cd X`, `. ./X`."""
    found: list[str] = []
    workdir = ""
    for line in block.replace("\\\n", " ").splitlines():
        words = line.split()
        for index, word in enumerate(words):
            nxt = words[index + 1] if index + 1 < len(words) else ""
            if word == "-w" and nxt.startswith("/bundle/"):
                workdir = nxt[len("/bundle/"):].rstrip("/") + "/"
            elif word == "-c" and "deepstream-app" in words[:index] and nxt:
                found.append(workdir + nxt)
            elif word == "-f" and nxt:
                found.append(nxt)
            elif word.startswith("--onnx=/bundle/"):
                found.append(word[len("--onnx=/bundle/"):])
            elif word == "-v" and nxt.startswith('"$PWD/'):
                found.append(nxt.split('"')[1][len("$PWD/"):])
            elif word == "cp" and index > 0 and words[index - 1] == "kubectl" and nxt:
                found.append(nxt)
            elif word == "cd" and nxt:
                workdir = nxt.rstrip("/") + "/"
                found.append(nxt)
            elif word == "." and nxt.startswith("./"):
                found.append(workdir + nxt[2:].rstrip(";"))
    return list(dict.fromkeys(p for p in found if p))


def _check_command_paths(folder: Path, path: Path, block: str, report: CheckReport) -> None:
    for relative in command_paths(block):
        if not (folder / relative).exists():
            report.findings.append(Finding(ERROR, path, None, None, None,
                                           f"a command names {relative}, which the bundle does not have; re-create "
                                           "the bundle (`taostream bundle`) so its README matches its files"))


def _load_models(args) -> list[str]:
    words = args.split() if isinstance(args, str) else [str(a) for a in args or []]
    return [w.split("=", 1)[1] for w in words if w.startswith("--load-model=")]


def _check_load_models(path: Path, key: str | None, args, models: set[str], report: CheckReport) -> None:
    for name in _load_models(args):
        if name not in models:
            report.findings.append(Finding(ERROR, path, None, None, key,
                                           f"--load-model={name}: triton/ has no model '{name}' "
                                           f"(it has {', '.join(sorted(models)) or 'none'})"))


# --- compose and k8s --------------------------------------------------------------------------------

def _load_yaml(path: Path, report: CheckReport) -> list:
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except PermissionError:
        note_unreadable(report, path)
        return []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        report.findings.append(Finding(ERROR, path, None, None, None, f"unreadable YAML ({exc}); re-create the bundle"))
        return []


def _check_compose(folder: Path, path: Path, expected_ds: str, trt: str | None, models: set[str],
                   report: CheckReport) -> None:
    documents = _load_yaml(path, report)
    services = documents[0].get("services") if documents and isinstance(documents[0], dict) else None
    if not isinstance(services, dict):
        if documents:
            report.findings.append(Finding(ERROR, path, None, None, "services", "no services; re-create the bundle"))
        return
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        key = f"services.{name}"
        if service.get("image"):
            _check_images(path, f"{key}.image", [str(service["image"])], expected_ds, trt, report)
        _check_load_models(path, f"{key}.command", service.get("command"), models, report)
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if source.startswith(".") and not (folder / source).exists():
                report.findings.append(Finding(ERROR, path, None, None, f"{key}.volumes",
                                               f"mounts {source}, which the bundle does not have"))


def _check_k8s(path: Path, expected_ds: str, trt: str | None, models: set[str], report: CheckReport) -> None:
    for document in _load_yaml(path, report):
        if not isinstance(document, dict):
            continue
        spec = (document.get("spec") or {})
        pod = (spec.get("template") or {}).get("spec") or spec
        for index, container in enumerate(pod.get("containers") or [] if isinstance(pod, dict) else []):
            key = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}.containers[{index}]"
            if container.get("image"):
                _check_images(path, f"{key}.image", [str(container["image"])], expected_ds, trt, report)
            _check_load_models(path, f"{key}.args", container.get("args"), models, report)


# --- Triton configs ---------------------------------------------------------------------------------

def check_triton_configs(folder: Path, manifest: dict, report: CheckReport) -> None:
    try:
        from google.protobuf import text_format  # lazy: optional (triton)
        from tritonclient.grpc import model_config_pb2  # lazy: optional (triton)
    except ImportError:
        configs = sorted((folder / "triton").glob("*/config.pbtxt"))
        if configs:
            report.findings.append(Finding(WARNING, configs[0].parent.parent, None, None, None,
                                           "Triton configs not validated: install taostream[triton] (tritonclient)"))
        return
    for path in sorted((folder / "triton").glob("*/config.pbtxt")):
        try:
            config = text_format.Parse(path.read_text(encoding="utf-8"), model_config_pb2.ModelConfig())
        except PermissionError:
            note_unreadable(report, path)
            continue
        except (text_format.ParseError, UnicodeDecodeError) as exc:
            report.findings.append(Finding(ERROR, path, None, None, None,
                                           f"not a Triton ModelConfig ({exc}); re-create the bundle"))
            continue
        if config.name and config.name != path.parent.name:
            report.findings.append(Finding(ERROR, path, None, None, "name",
                                           f"'{config.name}' but the folder is {path.parent.name}: Triton refuses "
                                           "it; set name to the folder's"))
        if config.platform == "onnxruntime_onnx":
            _check_onnx_trt(path, config, manifest, report)
        check_triton_tensors(path, config, report)


def _check_onnx_trt(path: Path, config, manifest: dict, report: CheckReport) -> None:
    filename = config.default_model_filename or "model.onnx"
    if not (path.parent / "1" / filename).is_file():
        report.findings.append(Finding(ERROR, path, None, None, "default_model_filename",
                                       f"1/{filename} is missing: Triton cannot load the model; copy the bundle again"))
    wanted = _PRECISION.get(str(manifest.get("precision")))
    for accelerator in config.optimization.execution_accelerators.gpu_execution_accelerator:
        if accelerator.name != "tensorrt":
            continue
        mode = accelerator.parameters.get("precision_mode", "FP32")
        if wanted and mode != wanted:
            report.findings.append(Finding(
                ERROR, path, None, None, "optimization.execution_accelerators.precision_mode",
                f"{mode} but the bundle is {manifest.get('precision')}: set precision_mode to \"{wanted}\""))
