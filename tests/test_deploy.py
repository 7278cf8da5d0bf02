"""A bundle says how to start it: README.md commands name only files the bundle has, compose.yaml is valid
by the Compose Specification schema (check-jsonschema's vendored copy), k8s/ is valid by
kubernetes-validate for the Kubernetes versions it carries, the onnx-trt Triton model parses as Triton's
ModelConfig, and `taostream check` catches a deployment file that disagrees with the manifest."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from taostream.cli import main
from taostream.converter.registry import NETWORKS
from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.check.run import CheckReport
from taostream.deepstream_configs.check.deploy import check_deployment
from taostream.deepstream_configs.versions import (
    DEEPSTREAM_VERSIONS, TRITON_RELEASES, deepstream_image, tensorrt_for, triton_release_for)

KEY = "deploy-test-k3y"


def _k8s_versions() -> tuple[str, ...]:
    """Every Kubernetes release kubernetes-validate carries schemas for (1.25 to 1.37 in 1.37.0)."""
    import kubernetes_validate.utils

    return tuple(dict.fromkeys(kubernetes_validate.utils.all_versions()))


K8S_VERSIONS = _k8s_versions()


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    return {net.name: write_sample(net.name, root / net.name, key=KEY) for net in NETWORKS}


def _request(info, output: Path, **overrides) -> BundleRequest:
    values = dict(model=info.model, network=info.network, output=output, spec=info.spec, key=KEY,
                  classmap=info.extra.get("classmap.json"), annotations=info.extra.get("instances_val.json"))
    values.update(overrides)
    return BundleRequest(**values)


# --- independent readers of what the files say ------------------------------------------------------

def _code_blocks(readme: str) -> list[str]:
    return [b.replace("\\\n", " ") for b in re.findall(r"```sh\n(.*?)```", readme, re.S)]


def _named_paths(block: str) -> list[str]:
    """Every bundle path a shell block names, resolved against its working folder: tokens that are a
    known bundle entry (a top-level folder or file, or a path under one) after dropping the container
    mount prefixes; output files (--saveEngine=) are not inputs."""
    paths, workdir = [], ""
    for line in block.splitlines():
        for token in line.replace('"', " ").replace(":", " ").replace("=", " ").replace(";", " ").split():
            if token in ("-w",):
                continue
            if token.startswith("/bundle/deepstream") and "-w /bundle/deepstream" in line:
                workdir = "deepstream/"
                continue
            token = token.removeprefix("$PWD/").removeprefix("/bundle/").removeprefix("./")
            if re.fullmatch(r"(deepstream|triton|k8s|lib)(/[\w.-]+)*|[\w.-]+\.(txt|onnx|yaml|env|bin|so)", token):
                paths.append(token if "/" in token or token in ("deepstream", "triton", "k8s", "lib")
                             or token.endswith((".onnx", ".bin")) or workdir == "" else workdir + token)
        if line.strip().startswith("cd "):
            workdir = line.split()[1].rstrip("/") + "/"
    saved = set(re.findall(r"--saveEngine=/bundle/(\S+)", block))
    return [p for p in paths if p not in saved]


def _assert_readme_names_existing_files(bundle: Path) -> str:
    readme = (bundle / "README.md").read_text()
    blocks = _code_blocks(readme)
    assert blocks, "README.md has no commands"
    named = [p for block in blocks for p in _named_paths(block)]
    assert "deepstream/deepstream_app.txt" in named and "deepstream/deepstream_app_triton.txt" in named
    missing = [p for p in named if not (bundle / p).exists()]
    assert not missing, f"README commands name files the bundle lacks: {missing}"
    return readme


def _compose_schema() -> dict:
    from check_jsonschema.builtin_schemas import get_builtin_schema

    return get_builtin_schema("vendor.compose-spec")


def _assert_compose_valid(bundle: Path) -> dict:
    document = yaml.safe_load((bundle / "compose.yaml").read_text())
    schema = _compose_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    for service in document["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (bundle / source).exists(), volume
    return document


def _assert_k8s_valid(bundle: Path) -> list[dict]:
    import kubernetes_validate

    documents = []
    for path in sorted((bundle / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            for version in K8S_VERSIONS:
                kubernetes_validate.validate(document, version, strict=True)
            documents.append(document)
    kinds = sorted(d["kind"] for d in documents)
    assert kinds == ["Deployment", "HorizontalPodAutoscaler", "PersistentVolumeClaim", "Pod", "Service"]
    return documents


def _assert_deploy_files(bundle: Path) -> tuple[dict, str, dict, list[dict]]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    listed = {e["path"] for e in manifest["files"]}
    assert {"README.md", "compose.yaml", "k8s/repository.yaml", "k8s/triton.yaml"} <= listed
    readme = _assert_readme_names_existing_files(bundle)
    compose = _assert_compose_valid(bundle)
    k8s = _assert_k8s_valid(bundle)
    # The images follow the tables: DeepStream release/platform; Triton whose TensorRT is the x86 target's.
    x86 = next(t for t in manifest["targets"] if t["platform"] == "x86")
    triton_image = triton_release_for(x86["tensorrt"]).image
    ds_image = deepstream_image(manifest["deepstream"], manifest["platform"])
    assert compose["services"]["triton"]["image"] == triton_image
    assert compose["services"]["deepstream"]["image"] == ds_image
    assert triton_image in readme and ds_image in readme
    deployment = next(d for d in k8s if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == triton_image
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    service = next(d for d in k8s if d["kind"] == "Service")
    assert sorted(p["port"] for p in service["spec"]["ports"]) == [8000, 8001, 8002]
    loaded = [a.split("=", 1)[1] for a in container["args"] if a.startswith("--load-model=")]
    assert loaded and all((bundle / "triton" / name / "config.pbtxt").is_file() for name in loaded)
    report = CheckReport()
    check_deployment(bundle, manifest, report)
    assert report.findings == [], [str(f) for f in report.findings]
    return manifest, readme, compose, k8s


def _parse_triton(path: Path):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def _assert_onnx_trt_model(bundle: Path, manifest: dict) -> None:
    pytest.importorskip("tritonclient.grpc", reason="the `triton` extra is not installed")
    folder = bundle / "triton" / manifest["triton_model"]
    config = _parse_triton(folder / "config.pbtxt")
    assert config.platform == "onnxruntime_onnx" and config.instance_group[0].kind == 1  # KIND_GPU
    (accelerator,) = config.optimization.execution_accelerators.gpu_execution_accelerator
    assert accelerator.name == "tensorrt"
    assert accelerator.parameters["precision_mode"] == manifest["precision"].upper()
    assert accelerator.parameters["trt_engine_cache_enable"] == "1"
    assert accelerator.parameters["trt_engine_cache_path"].startswith("/")
    assert int(accelerator.parameters["max_workspace_size_bytes"]) >= 1 << 30
    import onnx

    served = onnx.load(str(folder / "1" / "model.onnx"))
    assert [i.name for i in served.graph.input] == [config.input[0].name]
    # Triton's ONNX Runtime backend batches (max_batch_size > 0) on a dynamic first dimension only
    assert config.max_batch_size >= 1 and not served.graph.input[0].type.tensor_type.shape.dim[0].HasField("dim_value")
    assert [o.name for o in served.graph.output] == [o.name for o in config.output]


# --- every sample network ---------------------------------------------------------------------------

@pytest.mark.parametrize("net", NETWORKS, ids=lambda n: n.name)
def test_sample_bundle_is_runnable_as_written(net, samples, tmp_path):
    bundle = tmp_path / "bundle"
    create_bundle(_request(samples[net.name], bundle))
    manifest, readme, compose, _ = _assert_deploy_files(bundle)
    models = {p.parent.name for p in (bundle / "triton").glob("*/config.pbtxt")}
    if f"{manifest['triton_model']}_plan" in models or manifest["triton_model"] not in models:
        pytest.fail(f"unexpected Triton models {models}")
    kind = (bundle / "triton" / manifest["triton_model"] / "config.pbtxt").read_text()
    if 'platform: "onnxruntime_onnx"' in kind:
        _assert_onnx_trt_model(bundle, manifest)
    else:  # a graph ONNX Runtime cannot load (plugin pipeline): the plan variant, said so
        assert any("--triton-gpu onnx-trt" in w for w in manifest["warnings"])
        assert "trtexec --onnx=/bundle/model.onnx" in readme
    assert "taostream bench . --backend triton --url localhost:8000" in readme
    assert "taostream infer . VIDEO_OR_IMAGES" in readme


def test_lprnet_bundle_passes_its_dictionary_to_deepstream_as_written(samples, tmp_path):
    """The LPRNet parser reads its characters from $TAOSTREAM_LPR_DICT, else dict.txt in the working directory;
    the bundle's dict.txt is in its top folder and DeepStream runs in deepstream/, so every way the bundle
    starts DeepStream (README's docker command, compose.yaml, the Jetson commands) must set the variable
    as deepstream/taostream_parser.env says, and it must name the bundle's dict.txt from there."""
    bundle = tmp_path / "bundle"
    create_bundle(_request(samples["lprnet"], bundle))
    manifest, readme, compose, _ = _assert_deploy_files(bundle)
    env = dict(line.split("=", 1) for line in (bundle / "deepstream/taostream_parser.env").read_text().splitlines())
    env = {key: value.strip('"') for key, value in env.items()}
    assert (bundle / "deepstream" / env["TAOSTREAM_LPR_DICT"]).resolve() == (bundle / "dict.txt").resolve()
    service = compose["services"]["deepstream"]
    assert service["working_dir"] == "/bundle/deepstream" and service["environment"] == env
    docker = [b for b in _code_blocks(readme) if "deepstream-app -c" in b and "docker run" in b]
    assert docker and all("-w /bundle/deepstream" in b and "-e 'TAOSTREAM_LPR_DICT=../dict.txt'" in b for b in docker)
    jetson = create_bundle(_request(samples["lprnet"], tmp_path / "jetson", platform="jetson"))
    jetson_readme = (tmp_path / "jetson" / "README.md").read_text()
    assert "cd deepstream\nset -a; . ./taostream_parser.env; set +a\ndeepstream-app -c deepstream_app.txt" in jetson_readme


# --- NVIDIA's real DetectNet_v2 models ----------------------------------------------------------------

@pytest.mark.parametrize("model, key, extra", [
    ("facemask_detectnet_v2_resnet18.etlt", "tlt_encode",
     ["--spec", "specs/facemask_detectnet_v2_train_resnet18_kitti.txt", "--precision", "int8",
      "--calibration-cache", "calibration/facemask_detectnet_v2_cal.bin", "--platform", "jetson"]),
    ("lpd_usa_detectnet_v2_pruned.etlt", "nvidia_tlt", ["--labels", None, "--deepstream", "7.1"]),
    ("lpd_ccpd_detectnet_v2_pruned.etlt", "nvidia_tlt",
     ["--labels", None, "--deepstream", "6.2", "--platform", "jetson", "--precision", "fp32"]),
], ids=["facemask-int8-jetson", "lpd-usa-fp16-ds7.1", "lpd-ccpd-fp32-jetson-ds6.2"])
def test_real_detectnet_v2_bundle_is_runnable_as_written(model, key, extra, models_dir, fixtures_dir, tmp_path):
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    args = []
    for value in extra:
        if value is None:  # an NGC-form labels.txt for LPDNet
            labels = tmp_path / "labels.txt"
            labels.write_text("lpd\n")
            value = str(labels)
        elif "/" in value and not value.startswith("-"):
            value = str(fixtures_dir / value)
        args.append(value)
    bundle = tmp_path / "bundle"
    assert main(["bundle", str(models_dir / model), "--network", "detectnet_v2", "--key", key, *args,
                 "-o", str(bundle)]) == 0
    manifest, readme, compose, _ = _assert_deploy_files(bundle)
    _assert_onnx_trt_model(bundle, manifest)
    # DeepStream gets the parser's clustering settings in the command and in compose, as written in the env file
    env = (bundle / "deepstream" / "taostream_parser.env").read_text().strip().split("=", 1)[1].strip('"')
    assert compose["services"]["deepstream"]["environment"]["TAOSTREAM_DETECTNET_V2"] == env
    assert f"-e 'TAOSTREAM_DETECTNET_V2={env}'" in readme
    if manifest["deepstream"] == "6.2":  # before 6.3: the Jetson image is deepstream-l4t
        assert compose["services"]["deepstream"]["runtime"] == "nvidia"
        assert compose["services"]["deepstream"]["image"] == "nvcr.io/nvidia/deepstream-l4t:6.2-triton"
        assert "## Jetson (JetPack 5.1, TensorRT 8.5.2.2)" in readme
        assert compose["services"]["triton"]["image"] == "nvcr.io/nvidia/tritonserver:23.01-py3"  # x86 TRT 8.5.2.2
    elif manifest["platform"] == "jetson":
        assert compose["services"]["deepstream"]["runtime"] == "nvidia"
        # the default DeepStream (9.2): JetPack 7.2, Jetson TensorRT 10.16.1.7; x86 TensorRT 10.16.0.72
        assert "## Jetson (JetPack 7.2, TensorRT 10.16.1.7)" in readme and "set -a; . ./taostream_parser.env" in readme
        assert "nvcr.io/nvidia/tritonserver:26.03-py3" in readme
    else:
        assert compose["services"]["triton"]["image"] == "nvcr.io/nvidia/tritonserver:24.08-py3"
        assert "nvcr.io/nvidia/deepstream:7.1-triton-multiarch" in readme
    assert main(["check", str(bundle)]) in (0, 1)  # configs may lack the parser library here; deploy files:
    report = CheckReport()
    check_deployment(bundle, manifest, report)
    assert report.findings == []


# --- --triton-gpu -----------------------------------------------------------------------------------

def test_triton_gpu_plan_and_both(samples, tmp_path):
    info = samples["yolo_v4"]
    plan = tmp_path / "plan"
    create_bundle(_request(info, plan, triton_gpu="plan"))
    manifest = json.loads((plan / "manifest.json").read_text())
    name = manifest["triton_model"]
    assert sorted(p.name for p in (plan / "triton").iterdir()) == [name, f"{name}_cpu"]
    assert _parse_triton(plan / "triton" / name / "config.pbtxt").platform == "tensorrt_plan"
    readme = (plan / "README.md").read_text()
    assert f"--saveEngine=/bundle/triton/{name}/1/model.plan --fp16" in readme
    assert "nvcr.io/nvidia/tensorrt:26.03-py3" in readme  # the Triton image's release: the same TensorRT
    _assert_deploy_files(plan)
    (plan / "README.md").write_text(readme.replace("tensorrt:26.03-py3", "tensorrt:25.03-py3"))
    errors = _deploy_findings(plan)
    assert len(errors) == 1 and "tensorrt:25.03-py3 builds the plan with another TensorRT" in errors[0]
    assert "use nvcr.io/nvidia/tensorrt:26.03-py3" in errors[0]

    both = tmp_path / "both"
    assert main(["bundle", str(info.model), "--network", "yolo_v4", "--spec", str(info.spec), "--key", KEY,
                 "--triton-gpu", "both", "-o", str(both)]) == 0
    configs = {p.parent.name: _parse_triton(p) for p in (both / "triton").glob("*/config.pbtxt")}
    assert configs[name].platform == "onnxruntime_onnx" and configs[f"{name}_plan"].platform == "tensorrt_plan"
    # nvinferserver and the Triton container load the onnx-trt model; the plan twin waits for its build.
    server = (both / "deepstream" / "config_infer_primary_nvinferserver.txt").read_text()
    assert f'model_name: "{name}"' in server
    assert f"--load-model={name}" in (both / "compose.yaml").read_text()
    _assert_deploy_files(both)


def test_bundle_refuses_an_unknown_triton_gpu_variant(samples, tmp_path, capsys):
    info = samples["ssd"]
    with pytest.raises(SystemExit) as exc:
        main(["bundle", str(info.model), "--network", "ssd", "--spec", str(info.spec), "--key", KEY,
              "--triton-gpu", "tensorrt", "-o", str(tmp_path / "b")])
    assert exc.value.code == 2 and "--triton-gpu" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


# --- check: the deployment files against the manifest ------------------------------------------------

@pytest.fixture(scope="module")
def written_bundle(samples, tmp_path_factory):
    bundle = tmp_path_factory.mktemp("written") / "bundle"
    create_bundle(_request(samples["detectnet_v2"], bundle, deepstream="8.0"))
    return bundle


def _copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


def _deploy_findings(bundle: Path) -> list[str]:
    report = CheckReport()
    check_deployment(bundle, json.loads((bundle / "manifest.json").read_text()), report)
    return [str(f) for f in report.errors]


def test_check_flags_a_triton_image_with_another_tensorrt(written_bundle, tmp_path, capsys):
    bundle = _copy(written_bundle, tmp_path)
    compose = bundle / "compose.yaml"
    compose.write_text(compose.read_text().replace("tritonserver:25.03-py3", "tritonserver:24.08-py3"))
    errors = _deploy_findings(bundle)
    assert len(errors) == 1 and "services.triton.image" in errors[0]
    assert "ships TensorRT 10.3.0.26" in errors[0] and "runs TensorRT 10.9.0.34" in errors[0]
    assert "use nvcr.io/nvidia/tritonserver:25.03-py3" in errors[0]
    assert main(["check", str(bundle)]) == 1
    assert "compose.yaml" in capsys.readouterr().out


def test_check_flags_a_deepstream_image_of_another_release(written_bundle, tmp_path):
    bundle = _copy(written_bundle, tmp_path)
    for name in ("README.md", "k8s/triton.yaml", "compose.yaml"):
        path = bundle / name
        path.write_text(path.read_text().replace("deepstream:8.0-triton-multiarch", "deepstream:7.1-triton-multiarch"))
    errors = _deploy_findings(bundle)
    assert len(errors) == 2 and all("use nvcr.io/nvidia/deepstream:8.0-triton-multiarch" in e for e in errors)
    assert {e.split(":")[0] for e in errors} == {str(bundle / "README.md"), str(bundle / "compose.yaml")}


def test_check_flags_paths_and_models_the_bundle_lacks(written_bundle, tmp_path):
    bundle = _copy(written_bundle, tmp_path)
    readme = bundle / "README.md"
    readme.write_text(readme.read_text().replace("-c deepstream_app.txt", "-c deepstream_app_old.txt"))
    k8s = bundle / "k8s" / "triton.yaml"
    k8s.write_text(k8s.read_text().replace("--load-model=detectnet_v2", "--load-model=peoplenet"))
    errors = _deploy_findings(bundle)
    assert any("deepstream/deepstream_app_old.txt, which the bundle does not have" in e for e in errors)
    assert any("--load-model=peoplenet: triton/ has no model 'peoplenet'" in e for e in errors)
    assert len(errors) == 2


def test_check_validates_triton_configs_against_the_model_config_proto(written_bundle, tmp_path):
    pytest.importorskip("tritonclient.grpc", reason="the `triton` extra is not installed")
    bundle = _copy(written_bundle, tmp_path)
    config = bundle / "triton" / "detectnet_v2" / "config.pbtxt"
    config.write_text(config.read_text().replace('value: "FP16"', 'value: "INT8"'))
    cpu = bundle / "triton" / "detectnet_v2_cpu" / "config.pbtxt"
    cpu.write_text(cpu.read_text().replace("max_batch_size", "max_batch"))
    errors = _deploy_findings(bundle)
    assert any("INT8 but the bundle is fp16" in e for e in errors)
    assert any("detectnet_v2_cpu/config.pbtxt" in e and "not a Triton ModelConfig" in e for e in errors)


# --- tables -------------------------------------------------------------------------------------------

def test_every_deepstream_release_has_a_triton_container_with_its_x86_tensorrt():
    for version in DEEPSTREAM_VERSIONS:
        trt = tensorrt_for(version, "x86")
        row = triton_release_for(trt)
        assert row is not None, version
        assert row.tensorrt.split(".")[:3] == trt.split(".")[:3]
    assert [r.release for r in TRITON_RELEASES] == sorted(r.release for r in TRITON_RELEASES)
    assert deepstream_image("6.2", "jetson") == "nvcr.io/nvidia/deepstream-l4t:6.2-triton"
    assert deepstream_image("6.0.1", "x86") == "nvcr.io/nvidia/deepstream:6.0-triton"
    assert deepstream_image("7.1", "jetson") == deepstream_image("7.1", "x86") == "nvcr.io/nvidia/deepstream:7.1-triton-multiarch"
    assert triton_release_for("10.4.0.26") is None
    # DeepStream 9.1: `nvcr.io/nvidia/deepstream:9.1-triton-multiarch` and an x86 image built FROM
    # tritonserver:26.03-py3 (NVIDIA/DeepStream v9.1.0 README and deepstream_dockers); 9.2's images are on
    # ghcr.io/nvidia/deepstream (the 9.2 "Docker Containers" page)
    assert deepstream_image("9.1", "jetson") == "nvcr.io/nvidia/deepstream:9.1-triton-multiarch"
    assert triton_release_for(tensorrt_for("9.1", "x86")).image == "nvcr.io/nvidia/tritonserver:26.03-py3"
    assert deepstream_image("9.2", "x86").startswith("ghcr.io/nvidia/deepstream:9.2-")


def test_a_fixed_batch_graph_gets_the_plan_variant_with_a_warning(samples):
    """Triton's ONNX Runtime backend refuses max_batch_size > 0 on a graph whose batch dim is fixed."""
    from taostream.deepstream_configs.bundle.deploy import triton_gpu_models

    from taostream.converter.model.loader import load_onnx_model, open_model

    model = load_onnx_model(open_model(samples["detectnet_v2"].model, KEY))
    request = BundleRequest(model=samples["detectnet_v2"].model, network="detectnet_v2", output=Path("unused"))
    warnings: list[str] = []
    dynamic = triton_gpu_models(model, None, request, warnings)
    assert dynamic["gpu_variant"] == "onnx-trt" and dynamic["gpu_onnx"] and warnings == []
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    fixed = triton_gpu_models(model, None, request, warnings)
    assert fixed["gpu_variant"] == "plan" and fixed["gpu_onnx"] is None
    assert len(warnings) == 1 and "fixes its batch dimension" in warnings[0]


def test_the_validators_reject_what_compose_and_kubernetes_would(written_bundle):
    """The validators the tests rely on do judge: a misspelt Compose key, and a Deployment with a misspelt
    probe or a replica count that is not a number, are refused for every Kubernetes version checked."""
    import kubernetes_validate

    compose = yaml.safe_load((written_bundle / "compose.yaml").read_text())
    compose["services"]["triton"]["healthchek"] = compose["services"]["triton"].pop("healthcheck")
    schema = _compose_schema()
    with pytest.raises(jsonschema.ValidationError, match="healthchek"):
        jsonschema.validators.validator_for(schema)(schema).validate(compose)
    misspelt = next(yaml.safe_load_all((written_bundle / "k8s" / "triton.yaml").read_text()))
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    replicas = next(yaml.safe_load_all((written_bundle / "k8s" / "triton.yaml").read_text()))
    replicas["spec"]["replicas"] = "two"
    for version in K8S_VERSIONS:
        for deployment in (misspelt, replicas):
            with pytest.raises(kubernetes_validate.ValidationError):
                kubernetes_validate.validate(deployment, version, strict=True)


def test_an_edited_readme_is_a_warning_not_an_error(written_bundle, tmp_path):
    """README.md is text a user may annotate: check_bundle_files warns (as for configs and YAML)."""
    from taostream.deepstream_configs.check.bundle import check_bundle_files

    bundle = _copy(written_bundle, tmp_path)
    readme = bundle / "README.md"
    readme.write_text(readme.read_text() + "\nOur notes: camera 3 is the loading dock.\n")
    report = CheckReport()
    check_bundle_files(bundle, json.loads((bundle / "manifest.json").read_text()), report)
    assert report.errors == [] and [f.path.name for f in report.warnings] == ["README.md"]
    assert _deploy_findings(bundle) == []
