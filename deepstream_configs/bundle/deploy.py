"""How a bundle is started: README.md (what is inside; the exact commands per target), compose.yaml
(Triton and DeepStream services) and k8s/ (the Triton Deployment, Service and HorizontalPodAutoscaler,
and the volume the model repository reaches the pods by).

Every image tag comes from versions.py: the DeepStream container of the bundle's release and platform,
and the Triton container whose TensorRT is the one the bundle's x86 target runs. Every command runs from
the bundle folder and names files the bundle has; only the video source is the user's to change.
`taostream check BUNDLE` compares these files with manifest.json again (deepstream_configs/check/deploy.py).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from taostream.converter.fileio import atomic_write_text, sha256_file
from taostream.converter.trt_support import plugin_op
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.nvinfer import LPR_DICT_ENV, LPR_DICT_FILE, PARSER_ENV_FILE, PARSER_LIBRARY_NAME
from taostream.deepstream_configs.specs.settings import PARSER_SETTINGS_ENV
from taostream.deepstream_configs.triton.repository import TRT_CACHE
from taostream.deepstream_configs.versions import (
    DEEPSTREAM_GHCR_IMAGE, UNCONFIRMED_IMAGE_TAGS, TritonRelease, deepstream_image, deepstream_release,
    triton_release_for)

README = "README.md"
COMPOSE = "compose.yaml"
K8S_REPOSITORY = "k8s/repository.yaml"
K8S_TRITON = "k8s/triton.yaml"
DEPLOY_FILES = (README, COMPOSE, K8S_REPOSITORY, K8S_TRITON)
HTTP_PORT, GRPC_PORT, METRICS_PORT = 8000, 8001, 8002
CACHE_VOLUME = "taostream-trt-cache"
LOADER_IMAGE = "busybox:1.36"  # has tar, which `kubectl cp` needs
QUEUE_METRIC = "triton_avg_queue_time_us"  # the prometheus-adapter rule in docs/deploy.md makes it
QUEUE_TARGET_US = "20000"
MAX_REPLICAS = 4


# ---------------------------------------------------------------------------------------------------
# The Triton GPU model's graph (bundle/make.py asks once per bundle)

def triton_gpu_models(modern, cpu_model, request, warnings: list[str]) -> dict:
    """write_triton_repository's GPU arguments for ``request.triton_gpu``. The onnx-trt model serves
    model.onnx (INT8 as Q/DQ) when it is plugin-free, else the CPU model's plugin-free graph (ONNX
    Runtime's CUDA provider runs what TensorRT cannot take); a graph that has neither (a plugin
    pipeline) gets the plan variant only, with a warning."""
    import onnx  # lazy: heavy

    variant = request.triton_gpu
    chosen = None
    if not any(plugin_op(node.op_type) for node in modern.graph.node):
        chosen = modern
    elif isinstance(cpu_model, onnx.ModelProto):
        chosen = cpu_model
    if variant != "plan" and chosen is None:
        warnings.append(f"--triton-gpu {variant}: no ONNX graph without TensorRT plugins exists for this model, so "
                        "ONNX Runtime cannot serve it; the Triton GPU model is the TensorRT plan variant only")
        variant = "plan"
    elif variant != "plan" and _fixed_batch(chosen):
        # Triton's ONNX Runtime backend batches on a dynamic first dimension only.
        warnings.append(f"--triton-gpu {variant}: the model fixes its batch dimension, which Triton's ONNX Runtime "
                        "backend cannot batch on; the Triton GPU model is the TensorRT plan variant only")
        variant = "plan"
    graph = chosen.SerializeToString() if chosen is not None and variant != "plan" else None
    return {"gpu_variant": variant, "gpu_onnx": graph, "precision": request.precision}


def _fixed_batch(model) -> bool:
    initializers = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    dims = [v.type.tensor_type.shape.dim for v in inputs]
    return any(d and d[0].HasField("dim_value") for d in dims)


# ---------------------------------------------------------------------------------------------------
# What the deployment files are generated from

@dataclass
class TritonModel:
    name: str
    kind: str  # "onnx-trt" | "plan" | "cpu" | other backend name
    has_file: bool


@dataclass
class Deployment:
    """Facts a bundle's deployment files state, from manifest.json and the folder."""

    name: str  # the Triton model name clients use
    manifest: dict
    labels: list[str]
    triton_models: list[TritonModel]
    deepstream: str  # the release row's version (tags use it)
    deepstream_image: str
    x86_tensorrt: str | None  # None: the x86 target loads no graph
    triton: TritonRelease | None
    parser_env: dict[str, str]  # deepstream/taostream_parser.env: DetectNet_v2 clustering, LPRNet's dictionary
    engine_file: str | None  # nvinfer's model-engine-file, relative to the bundle
    parser_library: bool
    dynamic_batch: bool = True  # model.onnx's batch dimension is not fixed (trtexec takes shapes then)

    @property
    def platform(self) -> str:
        return self.manifest.get("platform", "x86")

    @property
    def gpu_models(self) -> list[TritonModel]:
        return [m for m in self.triton_models if m.kind in ("onnx-trt", "plan")]

    @property
    def served_model(self) -> TritonModel | None:
        """The GPU model the Triton container loads: the onnx-trt one (no build step) when there is one."""
        gpu = self.gpu_models
        return next((m for m in gpu if m.kind == "onnx-trt"), gpu[0] if gpu else None)

    @property
    def k8s_name(self) -> str:
        return k8s_name(self.name)


def k8s_name(name: str) -> str:
    """A DNS-1123 label from a model name (lowercase, '-' for other characters, at most 40 long)."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40].strip("-")
    return text or "taostream"


def _model_kind(config: Path) -> str:
    text = config.read_text(encoding="utf-8", errors="replace")
    if re.search(r'^\s*platform\s*:\s*"onnxruntime_onnx"', text, re.M) and "KIND_GPU" in text:
        return "onnx-trt"
    if re.search(r'^\s*platform\s*:\s*"tensorrt_plan"', text, re.M):
        return "plan"
    if re.search(r'^\s*backend\s*:\s*"python"', text, re.M):
        return "cpu"
    match = re.search(r'^\s*(?:platform|backend)\s*:\s*"([^"]*)"', text, re.M)
    return match.group(1) if match else "unknown"


def triton_models(folder: Path) -> list[TritonModel]:
    files = {"onnx-trt": "model.onnx", "plan": "model.plan", "cpu": "model.py"}
    found = []
    for config in sorted((folder / "triton").glob("*/config.pbtxt")):
        kind = _model_kind(config)
        found.append(TritonModel(config.parent.name, kind, (config.parent / "1" / files.get(kind, "")).is_file()))
    return found


def _parser_env(folder: Path) -> dict[str, str]:
    """Every KEY="value" of deepstream/taostream_parser.env, as written: a relative path in it (LPRNet's
    ../dict.txt) is relative to deepstream/, the working folder of every command written here."""
    path = folder / "deepstream" / PARSER_ENV_FILE
    if not path.is_file():
        return {}
    environment = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().isidentifier():
            environment[key.strip()] = value.strip().strip('"')
    return environment


def _engine_file(folder: Path) -> str | None:
    config = folder / "deepstream" / "config_infer_primary.txt"
    if not config.is_file():
        return None
    engine = (read_ini(config).group("property") or {}).get("model-engine-file")
    if not engine:
        return None
    return posixpath.normpath(posixpath.join("deepstream", engine))


def x86_tensorrt(manifest: dict) -> str | None:
    """The TensorRT the bundle's x86 target runs, when it loads a graph there."""
    for target in manifest.get("targets") or []:
        if isinstance(target, dict) and target.get("platform") == "x86" and target.get("model"):
            return str(target.get("tensorrt"))
    return None


def deployment(folder: Path, manifest: dict) -> Deployment:
    release = deepstream_release(str(manifest.get("deepstream")))
    trt = x86_tensorrt(manifest)
    labels_file = folder / "labels.txt"
    labels = labels_file.read_text(encoding="utf-8").splitlines() if labels_file.is_file() else []
    return Deployment(
        name=str(manifest.get("triton_model")), manifest=manifest, labels=labels,
        triton_models=triton_models(folder), deepstream=release.version,
        deepstream_image=deepstream_image(release.version, manifest.get("platform", "x86")),
        x86_tensorrt=trt, triton=triton_release_for(trt) if trt else None, parser_env=_parser_env(folder),
        engine_file=_engine_file(folder), parser_library=(folder / "lib" / PARSER_LIBRARY_NAME).is_file(),
        dynamic_batch=_dynamic_batch(folder / "model.onnx", manifest["input"]["name"]))


def _dynamic_batch(model: Path, input_name: str) -> bool:
    import onnx  # lazy: heavy

    if not model.is_file():
        return True
    graph = onnx.load(str(model), load_external_data=False).graph
    for value in graph.input:
        if value.name == input_name and value.type.tensor_type.shape.dim:
            return not value.type.tensor_type.shape.dim[0].HasField("dim_value")
    return True


# ---------------------------------------------------------------------------------------------------
# Commands (README.md and compose.yaml say the same)

def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def plugins_library(dep: Deployment) -> str | None:
    """lib/libtaostream_plugins.so's file name when the bundle keeps plugins for it (--plugins taostream)."""
    entry = dep.manifest.get("plugins")
    if isinstance(entry, dict) and entry.get("library") == "taostream":
        return Path(str(entry.get("path") or "lib/libtaostream_plugins.so")).name
    return None


def _tritonserver_args(dep: Deployment, repository: str, plugins_dir: str = "/plugins") -> list[str]:
    served = dep.served_model
    args = ["tritonserver", f"--model-repository={repository}", "--model-control-mode=explicit"]
    library = plugins_library(dep)
    if library:
        # Triton's TensorRT backend dlopens each library of plugins= (tensorrt_backend README)
        args.append(f"--backend-config=tensorrt,plugins={plugins_dir}/{library}")
    return args + ([f"--load-model={served.name}"] if served else [])


def deepstream_command(dep: Deployment, app_config: str = "deepstream_app.txt") -> str:
    gpu = "--gpus all" if dep.platform == "x86" else "--runtime nvidia"
    env = "".join(f" -e {_shell_quote(f'{key}={value}')}" for key, value in dep.parser_env.items())
    return (f'docker run --rm {gpu} -v "$PWD":/bundle -w /bundle/deepstream{env} \\\n'
            f"  {dep.deepstream_image} \\\n  deepstream-app -c {app_config}")


def triton_command(dep: Deployment) -> str:
    args = " ".join(_tritonserver_args(dep, "/models"))
    return (f"docker run --rm --gpus all --shm-size=1g -p {HTTP_PORT}:{HTTP_PORT} -p {GRPC_PORT}:{GRPC_PORT} "
            f"-p {METRICS_PORT}:{METRICS_PORT} \\\n"
            f'  -v "$PWD/triton":/models:ro -v {CACHE_VOLUME}:{TRT_CACHE}'
            + (' -v "$PWD/lib":/plugins:ro' if plugins_library(dep) else "") + " \\\n"
            f"  {dep.triton.image} \\\n  {args}")


def plan_build_command(dep: Deployment, model: TritonModel) -> str:
    """trtexec in NVIDIA's TensorRT container of the same release as the Triton one (same TensorRT)."""
    manifest = dep.manifest
    c, h, w = manifest["input"]["dims_chw"]
    shape = f"{h}x{w}x{c}" if manifest["input"].get("order") == "NHWC" else f"{c}x{h}x{w}"
    name, batch = manifest["input"]["name"], max(int(manifest.get("batch_size") or 1), 1)
    precision = {"fp16": " --fp16", "int8": " --int8 --fp16"}.get(manifest.get("precision"), "")
    command = (f'docker run --rm --gpus all -v "$PWD":/bundle nvcr.io/nvidia/tensorrt:{dep.triton.release}-py3 \\\n'
               f"  trtexec --onnx=/bundle/model.onnx --saveEngine=/bundle/triton/{model.name}/1/model.plan{precision}")
    if plugins_library(dep):
        command += f" \\\n  --staticPlugins=/bundle/lib/{plugins_library(dep)}"
    if not dep.dynamic_batch:  # trtexec refuses shapes for a model that fixes them
        return command
    return command + (f" \\\n  --minShapes={name}:1x{shape} --optShapes={name}:{batch}x{shape} "
                      f"--maxShapes={name}:{batch}x{shape}")


# ---------------------------------------------------------------------------------------------------
# compose.yaml

def compose_document(dep: Deployment) -> dict:
    services: dict = {}
    if dep.triton is not None and dep.served_model is not None:
        services["triton"] = {
            "image": dep.triton.image,
            "command": _tritonserver_args(dep, "/models"),
            "ports": [f"{p}:{p}" for p in (HTTP_PORT, GRPC_PORT, METRICS_PORT)],
            "volumes": ["./triton:/models:ro", f"trt-cache:{TRT_CACHE}",
                        *(["./lib:/plugins:ro"] if plugins_library(dep) else [])],
            "shm_size": "1gb",
            "deploy": {"resources": {"reservations": {"devices": [
                {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]}}},
            "healthcheck": {
                # The tritonserver image has python3 (its Python backend); no curl is needed.
                "test": ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen("
                         f"'http://localhost:{HTTP_PORT}/v2/health/ready', timeout=4)"],
                "interval": "10s", "timeout": "5s", "retries": 3, "start_period": "300s"},
        }
    deepstream = {
        "image": dep.deepstream_image,
        "working_dir": "/bundle/deepstream",
        "command": ["deepstream-app", "-c", "deepstream_app.txt"],
        "volumes": ["./:/bundle"],
    }
    if dep.parser_env:
        deepstream["environment"] = dict(dep.parser_env)
    if dep.platform == "jetson":
        deepstream["runtime"] = "nvidia"
    else:
        deepstream["deploy"] = {"resources": {"reservations": {"devices": [
            {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]}}}
    services["deepstream"] = deepstream
    document = {"name": k8s_name(dep.name), "services": services}
    if "triton" in services:
        document["volumes"] = {"trt-cache": {"name": CACHE_VOLUME}}
    return document


# ---------------------------------------------------------------------------------------------------
# k8s/

def _repository_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in (folder / "triton").rglob("*") if p.is_file())


def k8s_repository_documents(dep: Deployment, folder: Path) -> list[dict]:
    name = dep.k8s_name
    gib = max(1, -(-2 * _repository_bytes(folder) // (1 << 30)))
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "taostream"}
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": f"{name}-model-repository", "labels": labels},
             "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": f"{gib}Gi"}}}}
    loader = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": f"{name}-repository-loader", "labels": labels},
              "spec": {"restartPolicy": "Never",
                       "containers": [{"name": "loader", "image": LOADER_IMAGE, "command": ["sleep", "3600"],
                                       "volumeMounts": [{"name": "repository", "mountPath": "/models"}]}],
                       "volumes": [{"name": "repository",
                                    "persistentVolumeClaim": {"claimName": f"{name}-model-repository"}}]}}
    return [claim, loader]


def k8s_triton_documents(dep: Deployment) -> list[dict]:
    name = dep.k8s_name
    selector = {"app.kubernetes.io/name": f"{name}-triton"}
    labels = {**selector, "app.kubernetes.io/part-of": "taostream"}
    ports = [("http", HTTP_PORT), ("grpc", GRPC_PORT), ("metrics", METRICS_PORT)]
    container = {
        "name": "triton",
        "image": dep.triton.image,
        "args": _tritonserver_args(dep, "/models/triton", "/models/lib"),
        "ports": [{"name": n, "containerPort": p} for n, p in ports],
        "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": 1}},
        # The first load builds TensorRT engines: the startup probe allows ten minutes for it.
        "startupProbe": {"httpGet": {"path": "/v2/health/live", "port": "http"}, "periodSeconds": 10,
                         "failureThreshold": 60},
        "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": "http"}, "periodSeconds": 10,
                          "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "periodSeconds": 5,
                           "failureThreshold": 3},
        "volumeMounts": [{"name": "repository", "mountPath": "/models", "readOnly": True},
                         {"name": "trt-cache", "mountPath": TRT_CACHE},
                         {"name": "shm", "mountPath": "/dev/shm"}],
    }
    deployment_doc = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"{name}-triton", "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": selector},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "containers": [container],
                     "volumes": [
                         {"name": "repository", "persistentVolumeClaim": {"claimName": f"{name}-model-repository",
                                                                          "readOnly": True}},
                         {"name": "trt-cache", "emptyDir": {}},
                         {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}]}}},
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": f"{name}-triton", "labels": labels,
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT),
                                     "prometheus.io/path": "/metrics"}},
        "spec": {"selector": selector, "ports": [{"name": n, "port": p, "targetPort": n} for n, p in ports]},
    }
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": f"{name}-triton", "labels": labels},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{name}-triton"},
                 "minReplicas": 1, "maxReplicas": MAX_REPLICAS,
                 "metrics": [{"type": "Pods", "pods": {"metric": {"name": QUEUE_METRIC},
                                                       "target": {"type": "AverageValue",
                                                                  "averageValue": QUEUE_TARGET_US}}}]},
    }
    return [deployment_doc, service, hpa]


class _NoAliases(yaml.SafeDumper):
    """Writes a dict used twice (labels) twice, not as a YAML anchor and alias."""

    def ignore_aliases(self, data) -> bool:
        return True


def _yaml(documents: list[dict], header: str) -> str:
    body = "---\n".join(yaml.dump(d, Dumper=_NoAliases, sort_keys=False, width=120) for d in documents)
    return header + body


# ---------------------------------------------------------------------------------------------------
# README.md

def _targets_table(dep: Deployment) -> list[str]:
    rows = ["| target | TensorRT | graph DeepStream loads | INT8 | why |", "|---|---|---|---|---|"]
    for target in dep.manifest.get("targets") or []:
        configured = " (configured)" if target.get("configs") else ""
        rows.append(f"| {target.get('name')}{configured} | {target.get('tensorrt')} | {target.get('model') or 'none'} | "
                    f"{target.get('int8') or '-'} | {target.get('why')} |")
    return rows


def _triton_table(dep: Deployment) -> list[str]:
    what = {"onnx-trt": "GPU: ONNX Runtime + TensorRT accelerator (engine built on first load, no build step)",
            "plan": "GPU: TensorRT plan (build model.plan first, below)",
            "cpu": "CPU: Python backend, ONNX Runtime + the parsers' reference (boxes out)"}
    rows = ["| model | what | model file present |", "|---|---|---|"]
    for model in dep.triton_models:
        rows.append(f"| {model.name} | {what.get(model.kind, model.kind)} | {'yes' if model.has_file else 'no'} |")
    return rows


def readme_text(dep: Deployment) -> str:
    m = dep.manifest
    c, h, w = m["input"]["dims_chw"]
    source = m.get("source_model") or {}
    precision = m.get("precision")
    lines = [
        f"# {dep.name}: {m.get('network')} for DeepStream {m.get('deepstream')} ({dep.platform}) and Triton",
        "",
        f"Written by taostream {(m.get('tools') or {}).get('taostream', '')} from `{source.get('file')}` "
        f"({source.get('format')}). Run every command below from this folder; none needs editing except the "
        "video source. `taostream check .` verifies the folder against manifest.json, these commands included.",
        "",
        "## What is inside",
        "",
        f"- Network: {m.get('network')}; Triton model name `{dep.name}`.",
        f"- Input: `{m['input']['name']}`, {c}x{h}x{w} (C x H x W), {m['input'].get('order', 'NCHW')}, "
        f"batch size {m.get('batch_size')}.",
        f"- Labels ({len(dep.labels)}, `labels.txt`, class-id order): {', '.join(dep.labels)}.",
        f"- Precision: {precision} on every target. Where INT8 is 'calibration', TensorRT calibrates implicitly "
        "from `calibration.bin` with the plugin graph; 'q/dq' means the INT8 scales are Q/DQ nodes in `model.onnx`.",
        "",
        *_targets_table(dep),
        "",
        "Triton models (`triton/`):",
        "",
        *_triton_table(dep),
        "",
    ]
    lines += _readme_deepstream(dep)
    lines += _readme_triton(dep)
    lines += _readme_clients(dep)
    lines += _readme_kubernetes(dep)
    lines += _readme_jetson(dep)
    return "\n".join(lines).rstrip("\n") + "\n"


def _unconfirmed_image_note(dep: Deployment) -> list[str]:
    if dep.deepstream not in UNCONFIRMED_IMAGE_TAGS:
        return []
    return [f"The tag of this image is taostream's reading of NVIDIA's naming (DeepStream {dep.deepstream} images "
            f"are on {DEEPSTREAM_GHCR_IMAGE}; no page seen names the tag): if `docker pull` does not find it, "
            "use the Triton tag NVIDIA lists for your platform there.", ""]


def _readme_deepstream(dep: Deployment) -> list[str]:
    engine = (f"`{dep.engine_file}` (the config's `model-engine-file`)" if dep.engine_file
              else "the file the config's `model-engine-file` names")
    lines = [
        f"## DeepStream {dep.deepstream} ({dep.platform})",
        "",
        f"Image: `{dep.deepstream_image}` (nvinfer and nvinferserver). The video source is `uri=` in "
        "`deepstream/deepstream_app.txt` `[source0]` (now the sample stream inside the image); to run your own "
        "file, add `-v /path/to/video.mp4:/video.mp4` and set `uri=file:///video.mp4`. The sink is a fakesink.",
        "",
        *_unconfirmed_image_note(dep),
        "```sh",
        deepstream_command(dep),
        "```",
        "",
        f"The first run builds the TensorRT engine from the ONNX graph (minutes) and writes it to {engine}; "
        "the folder is mounted, so it stays here and later runs load it instead of building. An engine belongs to "
        "one GPU model and one TensorRT: delete it after changing either.",
        "",
        "The same pipeline through Triton in process (nvinferserver, the repository in `triton/`):",
        "",
        "```sh",
        deepstream_command(dep, "deepstream_app_triton.txt"),
        "```",
        "",
    ]
    if not dep.parser_library:
        lines += [f"`lib/{PARSER_LIBRARY_NAME}` is not in this bundle yet (see `lib/README.txt`); the DeepStream "
                  "configs load it: build it before these commands.", ""]
    lines += _readme_plugins(dep)
    if dep.parser_env:
        what = {PARSER_SETTINGS_ENV: "the parser's clustering settings from the training spec",
                LPR_DICT_ENV: f"LPRNet's character list (`{LPR_DICT_FILE}`, relative to `deepstream/`)"}
        lines += [f"`-e {key}=...` is `deepstream/{PARSER_ENV_FILE}`: {what.get(key, 'a parser setting')} "
                  "(nvinfer cannot pass it to a parser)." for key in dep.parser_env] + [""]
    return lines


def _readme_plugins(dep: Deployment) -> list[str]:
    """--plugins taostream: what lib/libtaostream_plugins.so is for, and how to build it when missing."""
    library = plugins_library(dep)
    if not library:
        return []
    entry = dep.manifest["plugins"]
    lines = [f"`model.onnx` keeps {', '.join(entry.get('ops') or [])} as TensorRT plugin nodes (`--plugins taostream`): "
             f"`lib/{library}` registers them (TensorRT 11 removed NMS and BatchedNMS; a TensorRT that still "
             "ships a plugin keeps serving its own) and holds the bbox parsers too, so nvinfer's `custom-lib-path` "
             "names it. Triton loads it with `--backend-config=tensorrt,plugins=...` (the commands below). Build it "
             "against the TensorRT it runs with: a library built with TensorRT 10 headers registers nothing in a "
             "TensorRT 11 process.", ""]
    if not entry.get("shipped"):
        lines += [f"`lib/{library}` is not in this bundle yet (`lib/README_plugins.txt`): build it in the DeepStream "
                  "container from a taostream checkout, copy `build/plugins/" + library + "` into `lib/`, and run "
                  "`taostream check .`:", "", "```sh", str(entry.get("build") or ""), "```", ""]
    return lines


def _readme_triton(dep: Deployment) -> list[str]:
    if dep.triton is None or dep.served_model is None:
        return ["## Triton server", "", "The bundle's x86 target loads no graph, so no Triton GPU container "
                "is named here; `taostream serve .` serves the CPU model.", ""]
    served = dep.served_model
    lines = [
        "## Triton server (x86 GPU)",
        "",
        f"Image: `{dep.triton.image}`: Triton {dep.triton.triton} with TensorRT {dep.triton.tensorrt}, the "
        f"TensorRT of DeepStream {dep.deepstream} on x86 (docs/versions.md in taostream lists the pairs). It loads "
        f"`{served.name}` only (the CPU model needs ONNX Runtime in the Python backend, which the image lacks).",
        "",
        "```sh",
        triton_command(dep),
        "```",
        "",
        f"Ready when `curl -fsS localhost:{HTTP_PORT}/v2/health/ready` succeeds. Metrics: "
        f"`http://localhost:{METRICS_PORT}/metrics`.",
        "",
    ]
    if served.kind == "onnx-trt":
        lines += [f"`{served.name}` runs `model.onnx` in ONNX Runtime with the TensorRT accelerator at "
                  f"{dep.manifest.get('precision')}: TensorRT builds the engine at the first load and caches it in "
                  f"`{TRT_CACHE}`, the `{CACHE_VOLUME}` volume, so restarts load it.", ""]
    for model in dep.gpu_models:
        if model.kind == "plan" and not model.has_file:
            lines += [f"`{model.name}` (a TensorRT plan) needs `triton/{model.name}/1/model.plan`, built with the "
                      f"same TensorRT as the Triton image (NVIDIA's TensorRT container of release {dep.triton.release}):",
                      "", "```sh", plan_build_command(dep, model), "```", ""]
    lines += ["With Docker Compose (the same Triton command; DeepStream as above):", "", "```sh",
              "docker compose up -d triton", "docker compose run --rm deepstream", "```", ""]
    return lines


def _readme_clients(dep: Deployment) -> list[str]:
    cpu = next((m for m in dep.triton_models if m.kind == "cpu"), None)
    lines = ["## Clients", ""]
    if dep.served_model is not None and dep.triton is not None:
        name = dep.served_model.name
        lines += ["Against the Triton server above (images, folders or videos as input):", "", "```sh",
                  f"taostream infer . VIDEO_OR_IMAGES -o results --backend triton --url localhost:{HTTP_PORT} "
                  f"--model-name {name}",
                  f"taostream bench . --backend triton --url localhost:{HTTP_PORT} --model-name {name}", "```", ""]
    if cpu is not None:
        lines += [f"Without a GPU, `taostream serve .` serves `{cpu.name}` (boxes out) with a local tritonserver, "
                  "and `infer`/`bench` start one themselves when no `--url` is given:", "", "```sh",
                  "taostream infer . VIDEO_OR_IMAGES -o results --backend triton",
                  "taostream bench . --backend triton", "```", ""]
    return lines


def _readme_kubernetes(dep: Deployment) -> list[str]:
    if dep.triton is None or dep.served_model is None:
        return []
    name = dep.k8s_name
    return [
        "## Kubernetes (Triton, scaled out)",
        "",
        "`k8s/repository.yaml` is a ReadWriteMany volume for the model repository and a pod that fills it; "
        "`k8s/triton.yaml` is the Triton Deployment (one GPU per pod, liveness/readiness on Triton's health "
        f"endpoints), its Service (HTTP {HTTP_PORT}, gRPC {GRPC_PORT}, metrics {METRICS_PORT}) and a "
        f"HorizontalPodAutoscaler on Triton's average queue time (`{QUEUE_METRIC}`, from the prometheus-adapter "
        "rule in taostream's docs/deploy.md).",
        "",
        "```sh",
        f"kubectl apply -f {K8S_REPOSITORY}",
        f"kubectl wait --for=condition=Ready pod/{name}-repository-loader --timeout=300s",
        f"kubectl cp triton {name}-repository-loader:/models/triton",
        f"kubectl delete pod {name}-repository-loader",
        f"kubectl apply -f {K8S_TRITON}",
        f"kubectl rollout status deployment/{name}-triton --timeout=900s",
        "```",
        "",
    ]


def _readme_jetson(dep: Deployment) -> list[str]:
    release = deepstream_release(dep.deepstream)
    if dep.platform != "jetson":
        return ["## Jetson", "", f"This bundle's DeepStream configs are for x86. For a Jetson (DeepStream {dep.deepstream}: "
                f"JetPack {release.jetpack}, TensorRT {release.jetson_tensorrt}), write a bundle with "
                "`taostream bundle ... --platform jetson`: its configs, graph choice and parser library are the "
                "Jetson's, and its README gives the Jetson commands.", ""]
    lines = [
        f"## Jetson (JetPack {release.jetpack}, TensorRT {release.jetson_tensorrt})",
        "",
        "Copy the whole folder to the Jetson (`scp -r`), then either run the DeepStream container above (it uses "
        "`--runtime nvidia`), or DeepStream installed on JetPack:",
        "",
        "```sh",
        "cd deepstream",
    ]
    if dep.parser_env:
        lines.append(f"set -a; . ./{PARSER_ENV_FILE}; set +a")
    lines += ["deepstream-app -c deepstream_app.txt", "```", ""]
    if not dep.parser_library:
        lines += [f"The aarch64 `lib/{PARSER_LIBRARY_NAME}` is not in this bundle: build it on the Jetson with "
                  "taostream's `scripts/jetson_build.sh --bundle` (docs/jetson.md), which also builds the engine "
                  "there.", ""]
    lines += ["The engine is built on the device at the first run (engines belong to one Jetson module and "
              "JetPack) and kept next to the model as above.", ""]
    return lines


# ---------------------------------------------------------------------------------------------------
# Writing

def deployment_files(folder: Path, manifest: dict) -> dict[str, str]:
    """Relative path -> text of README.md, compose.yaml and the k8s manifests."""
    dep = deployment(folder, manifest)
    files = {README: readme_text(dep)}
    header = f"# Written by taostream for {dep.name} ({manifest.get('network')}); README.md explains it.\n"
    files[COMPOSE] = header + yaml.safe_dump(compose_document(dep), sort_keys=False, width=120)
    if dep.triton is not None and dep.served_model is not None:
        files[K8S_REPOSITORY] = _yaml(k8s_repository_documents(dep, folder), header)
        files[K8S_TRITON] = _yaml(k8s_triton_documents(dep), header)
    return files


def write_deployment(folder: Path, manifest: dict) -> dict:
    """Write the deployment files into a bundle being written and list them in its manifest."""
    written = deployment_files(folder, manifest)
    for relative, text in written.items():
        atomic_write_text(folder / relative, text)
    entries = [e for e in manifest["files"] if e.get("path") not in written]
    for relative in written:
        path = folder / relative
        entries.append({"path": relative, "size": path.stat().st_size, "sha256": sha256_file(path)})
    manifest["files"] = sorted(entries, key=lambda e: e["path"])
    return manifest
