"""`taostream pipeline` (a DetectNet_v2 detector + two classifiers + a tracker + four cameras -> RTSP)
and `taostream check APP`: the written deepstream-app tree for every DeepStream version and Jetson
passes check, and check finds planted wiring mistakes with one line each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli_support import assert_clean_error, run_cli
from deepstream_fixtures import parser_stub_library
from taostream.cli import main
from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.nvinfer import PARSER_LIBRARY_NAME
from taostream.deepstream_configs.pipeline.make import PipelineRequest, create_pipeline, parse_secondary

KEY = "pipeline-test-k3y"
CAMERAS = [f"rtsp://10.0.0.{i}:554/stream" for i in range(1, 5)]


def _stub_library(bundle: Path) -> None:
    """The real parser library may not be built here: a stub exporting the same names (test_bundle's way)."""
    target = bundle / "lib" / PARSER_LIBRARY_NAME
    if target.exists():
        return
    stub = bytearray(parser_stub_library().read_bytes())
    if json.loads((bundle / "manifest.json").read_text())["platform"] == "jetson":
        stub[18:20] = (183).to_bytes(2, "little")  # ELF e_machine: aarch64
    target.write_bytes(bytes(stub))


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    return {name: write_sample(name, root / name, key=KEY) for name in ("detectnet_v2", "classification")}


@pytest.fixture(scope="module")
def bundles(samples, tmp_path_factory):
    """(detector, make classifier, type classifier) per (deepstream, platform): the parser library's
    struct layout is DeepStream 9's or the older one, so 8.0 bundles serve 6.x to 8.0."""
    root = tmp_path_factory.mktemp("bundles")
    made = {}
    for deepstream, platform in (("9.0", "x86"), ("8.0", "x86"), ("9.0", "jetson")):
        folder = root / f"{deepstream}-{platform}"
        det, cls = samples["detectnet_v2"], samples["classification"]
        paths = []
        for name, info, extra in (("trafficcam", det, {}), ("makenet", cls, {"classmap": cls.extra["classmap.json"]}),
                                  ("typenet", cls, {"classmap": cls.extra["classmap.json"]})):
            out = folder / name
            create_bundle(BundleRequest(model=info.model, network=info.network, output=out, spec=info.spec, key=KEY,
                                        deepstream=deepstream, platform=platform, **extra))
            _stub_library(out)
            paths.append(out)
        made[(deepstream, platform)] = tuple(paths)
    return made


def _request(bundles, output: Path, deepstream="9.0", platform="x86", **overrides) -> PipelineRequest:
    det, make, kind = bundles[("9.0" if deepstream.startswith("9") else "8.0", platform)]
    values = dict(output=output, primary=det,
                  secondaries=[parse_secondary(f"{make}:classes=car:min-size=64x64"),
                               parse_secondary(f"{kind}:classes=car,bicycle")],
                  tracker="nvdcf", sources=list(CAMERAS), sink="rtsp", deepstream=deepstream, platform=platform)
    values.update(overrides)
    return PipelineRequest(**values)


def _check(app: Path, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["check", str(app)])
    lines = capsys.readouterr().out.strip().splitlines()
    return code, lines


@pytest.mark.parametrize("deepstream,platform", [("6.1", "x86"), ("6.4", "x86"), ("7.1", "x86"), ("8.0", "x86"),
                                                 ("9.0", "x86"), ("9.0", "jetson")])
def test_trafficcam_style_pipeline_passes_check(deepstream, platform, bundles, samples, tmp_path, capsys):
    app = tmp_path / "app"
    create_pipeline(_request(bundles, app, deepstream, platform))
    code, lines = _check(app, capsys)
    assert code == 0 and lines[-1].startswith("0 error(s), 0 warning(s)"), lines
    ini = read_ini(app / "deepstream_app.txt")
    labels = list(samples["detectnet_v2"].labels_list)
    car, bicycle = labels.index("car"), labels.index("bicycle")
    assert [ini.group(f"source{i}").get("uri") for i in range(4)] == CAMERAS
    assert {ini.group(f"source{i}").get("type") for i in range(4)} == {"4"}
    mux = ini.group("streammux")
    assert (mux.get("batch-size"), mux.get("live-source")) == ("4", "1")
    assert (ini.group("tiled-display").get("rows"), ini.group("tiled-display").get("columns")) == ("2", "2")
    assert (ini.group("primary-gie").get("batch-size"), ini.group("primary-gie").get("gie-unique-id")) == ("4", "1")
    sink = ini.group("sink0")
    assert (sink.get("type"), sink.get("rtsp-port"), sink.get("udp-port"), sink.get("codec")) == ("4", "8554", "5400", "1")
    tracker = ini.group("tracker")
    assert tracker.get("ll-lib-file") == "/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so"
    assert (app / tracker.get("ll-config-file")).is_file()
    # nvtracker lost enable-batch-process in 6.3
    assert (tracker.get("enable-batch-process") is not None) == (deepstream in ("6.1",))
    expected = {0: ("2", str(car)), 1: ("3", f"{car};{bicycle}")}
    for index, (gie_id, class_ids) in expected.items():
        group = ini.group(f"secondary-gie{index}")
        assert (group.get("gie-unique-id"), group.get("operate-on-gie-id"), group.get("operate-on-class-ids")) == \
            (gie_id, "1", class_ids)
        prop = read_ini(app / group.get("config-file")).group("property")
        assert (prop.get("process-mode"), prop.get("network-type"), prop.get("gie-unique-id")) == ("2", "1", gie_id)
        assert (prop.get("operate-on-gie-id"), prop.get("operate-on-class-ids")) == ("1", class_ids)
        assert prop.get("classifier-async-mode") == "1"  # a tracker is upstream
        assert prop.get("batch-size") == group.get("batch-size") == "16"
        assert "_b16_" in prop.get("model-engine-file")
        # nvinfer's classifier label file: one line, the classes separated by ';'
        assert Path(prop.get("labelfile-path")).read_text() == ";".join(samples["classification"].labels_list) + "\n"
    first = read_ini(app / ini.group("secondary-gie0").get("config-file")).group("property")
    assert (first.get("input-object-min-width"), first.get("input-object-min-height")) == ("64", "64")
    primary = read_ini(app / "config_infer_primary.txt").group("property")
    assert (primary.get("batch-size"), primary.get("process-mode"), primary.get("gie-unique-id")) == ("4", "1", "1")
    manifest = json.loads((app / "pipeline.json").read_text())
    assert manifest["secondaries"][1]["operate_on_classes"] == ["car", "bicycle"]
    assert not list(app.parent.glob(".app.*"))  # no temporary folder left


def _plant(app: Path, old: str, new: str, file: str = "deepstream_app.txt") -> None:
    path = app / file
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("plant,expected", [
    (lambda app: _plant(app, "gie-unique-id=2\noperate-on-gie-id=1", "gie-unique-id=2\noperate-on-gie-id=7"),
     "[secondary-gie0] operate-on-gie-id: 7 is not the gie-unique-id of any enabled GIE (ids: 1, 2, 3)"),
    (lambda app: _plant(app, "operate-on-gie-id=1\noperate-on-class-ids=1;2", "operate-on-gie-id=1\noperate-on-class-ids=1;5"),
     "[secondary-gie1] operate-on-class-ids: class id(s) 5 do not exist in [primary-gie]'s labels"),
    (lambda app: _plant(app, "live-source=1\nbatch-size=4", "live-source=1\nbatch-size=2"),
     "[streammux] batch-size: 2 is smaller than the 4 sources"),
    (lambda app: (app / "config_tracker_NvDCF.yml").unlink(),
     "[tracker] ll-config-file: file not found"),
    (lambda app: _plant(app, "ll-lib-file=/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so",
                        "ll-lib-file=/opt/nvidia/deepstream/deepstream/lib/libnvds_nvdcf.so"),
     "[tracker] ll-lib-file: libnvds_nvdcf.so is DeepStream 5's NvDCF tracker library, gone since 6.0"),
    (lambda app: (app / "config_tracker_NvDCF.yml").write_text("%YAML:1.0\nVisualTracker:\n  useHog: 0\n"),
     "has no BaseConfig, TargetManagement, DataAssociator section(s)"),
], ids=["unknown-gie-id", "class-id-beyond-labels", "mux-batch-below-sources", "tracker-yaml-missing",
        "deepstream5-tracker-library", "not-a-tracker-yaml"])
def test_check_finds_planted_wiring_mistakes_with_one_line(plant, expected, bundles, tmp_path, capsys):
    app = tmp_path / "app"
    create_pipeline(_request(bundles, app))
    plant(app)
    code, lines = _check(app, capsys)
    errors = [line for line in lines if ": error: " in line]
    assert code == 1 and len(errors) == 1 and expected in errors[0], lines


def test_class_names_resolve_against_the_primary_labels_or_refuse(bundles, samples, tmp_path):
    det, make, _ = bundles[("9.0", "x86")]
    app = tmp_path / "app"
    result = run_cli("pipeline", "-o", app, "--primary", det, "--secondary", f"{make}:classes=truck")
    assert_clean_error(result, f"--secondary {make}: class 'truck' is not a class of the primary",
                       ", ".join(samples["detectnet_v2"].labels_list))
    assert result.returncode == 2 and not app.exists()
    result = run_cli("pipeline", "-o", app, "--primary", det, "--secondary", f"{make}:classes=Car")
    assert_clean_error(result, "did you mean 'car'?")


@pytest.mark.parametrize("args,fragment", [
    (lambda d, m: ["--primary", m], "is not a detector"),
    (lambda d, m: ["--primary", d, "--tracker", "nvsort", "--deepstream", "6.1"], "DeepStream 6.1 has no NvSORT"),
    (lambda d, m: ["--primary", d, "--platform", "jetson"], "made for platform=x86 but the pipeline is for --platform jetson"),
    (lambda d, m: ["--primary", d, "--deepstream", "8.0"], "re-create it with `taostream bundle --deepstream 8.0`"),
    (lambda d, m: ["--primary", d, "--secondary", f"{m}:min-size=64"], "min-size=64: write WxH"),
    (lambda d, m: ["--primary", d, "--source", "ftp://x/y"], "--source ftp://x/y: use a file path"),
    (lambda d, m: ["--primary", d, "--source", "csi://0"], "CSI cameras exist on Jetson only"),
    (lambda d, m: ["--primary", d / "labels.txt"], "not a bundle folder"),
], ids=["classifier-primary", "nvsort-too-old", "platform-mismatch", "parser-layout-mismatch", "bad-min-size",
        "bad-source", "csi-on-x86", "not-a-bundle"])
def test_pipeline_refuses_with_one_line_and_writes_nothing(args, fragment, bundles, tmp_path):
    det, make, _ = bundles[("9.0", "x86")]
    app = tmp_path / "app"
    result = run_cli("pipeline", "-o", app, *args(det, make))
    assert result.returncode == 2
    assert_clean_error(result, fragment)
    assert not app.exists() and not list(tmp_path.glob(".app.*"))


@pytest.mark.parametrize("args, fragment", [
    (lambda d, m, w: ["--source", "cam1.mp4"], "--source cam1.mp4: no such file ("),
    (lambda d, m, w: ["--source", str(w)], "is a folder; give a video file"),
    (lambda d, m, w: ["--secondary", f"{m}:clases=car"], "unknown option 'clases'"),
])
def test_a_typo_in_a_source_or_secondary_option_is_refused(args, fragment, bundles, tmp_path, capsys, monkeypatch):
    """`--source cam1.mp4` (a relative path that is not there: a typo, made absolute against this folder) and
    a folder as --source were written into deepstream_app.txt for `check` to find later; `--secondary
    B:clases=car` was read as a bundle folder named 'B:clases=car' ("not a bundle folder")."""
    from taostream.cli import main

    det, make, _ = bundles[("9.0", "x86")]
    monkeypatch.chdir(tmp_path)
    app = tmp_path / "app"
    assert main(["pipeline", "-o", str(app), "--primary", str(det), *args(det, make, tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and fragment in err, err
    assert not app.exists()


def test_existing_output_needs_force(bundles, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "keep.txt").write_text("mine")
    result = run_cli("pipeline", "-o", app, "--primary", bundles[("9.0", "x86")][0])
    assert_clean_error(result, "already exists")
    assert (app / "keep.txt").read_text() == "mine"


def test_copied_pipeline_is_self_contained(bundles, tmp_path, capsys):
    app = tmp_path / "app"
    create_pipeline(_request(bundles, app, copy=True))
    moved = tmp_path / "elsewhere" / "app"
    shutil.move(str(app), moved)
    assert sorted(p.name for p in (moved / "bundles").iterdir()) == ["makenet", "trafficcam", "typenet"]
    code, lines = _check(moved, capsys)
    assert code == 0, lines
    prop = read_ini(moved / "config_infer_primary.txt").group("property")
    assert prop.get("onnx-file") == "bundles/trafficcam/model.onnx"


def test_no_tracker_and_file_sink(bundles, tmp_path, capsys):
    app = tmp_path / "app"
    create_pipeline(_request(bundles, app, tracker="none", sink="file", sources=["/videos/a.mp4", "/videos/b.mp4"]))
    ini = read_ini(app / "deepstream_app.txt")
    assert ini.group("tracker") is None
    sink = ini.group("sink0")
    assert (sink.get("type"), sink.get("container"), sink.get("output-file")) == ("3", "1", "out.mp4")
    assert (ini.group("streammux").get("batch-size"), ini.group("streammux").get("live-source")) == ("2", "0")
    prop = read_ini(app / ini.group("secondary-gie0").get("config-file")).group("property")
    assert prop.get("classifier-async-mode") is None  # async classification needs tracker ids
    code, lines = _check(app, capsys)
    # the two videos are not on this machine: exactly those two findings
    assert [line for line in lines if ": error: " in line and "/videos/" not in line] == [], lines


def test_check_refuses_a_classifier_label_file_with_one_class_per_line(bundles, samples, tmp_path, capsys):
    """nvinfer reads a classifier's labels as one line per output layer, split at ';' (parseLabelsFile):
    one class per line would name only class 0 of the softmax."""
    bundle = tmp_path / "typenet"
    shutil.copytree(bundles[("9.0", "x86")][2], bundle)
    names = list(samples["classification"].labels_list)
    assert (bundle / "labels.txt").read_text() == ";".join(names) + "\n"
    code, lines = _check(bundle, capsys)
    assert code == 0, lines
    (bundle / "labels.txt").write_text("".join(f"{n}\n" for n in names))
    code, lines = _check(bundle, capsys)
    errors = [line for line in lines if ": error: " in line]
    assert code == 1 and len(errors) == 1, lines  # the deepstream-app config's GIE is the same file: once
    assert f"has {len(names)} lines, one class each, but nvinfer reads a classifier's label file as one line per " \
           "output layer" in errors[0], errors


@pytest.mark.parametrize("copy", [False, True], ids=["referenced", "copied"])
def test_triton_variant_shares_one_repository_and_passes_check(copy, bundles, samples, tmp_path, capsys):
    from taostream.converter.tao_spec import parse_spec

    app = tmp_path / "app"
    create_pipeline(_request(bundles, app, triton=True, copy=copy))
    if copy:
        moved = tmp_path / "moved" / "app"
        shutil.move(str(app), moved)
        app = moved
    code, lines = _check(app, capsys)
    assert code == 0 and lines[-1].startswith("0 error(s), 0 warning(s)"), lines
    ini = read_ini(app / "deepstream_app_triton.txt")
    labels = list(samples["detectnet_v2"].labels_list)
    car, bicycle = labels.index("car"), labels.index("bicycle")
    expected = {"primary-gie": ("1", 4, None, None), "secondary-gie0": ("2", 16, [car], (64, 64)),
                "secondary-gie1": ("3", 16, [car, bicycle], None)}
    models = set()
    for group_name, (gie_id, batch, class_ids, min_size) in expected.items():
        group = ini.group(group_name)
        assert group.get("plugin-type") == "1" and group.get("gie-unique-id") == gie_id
        spec = parse_spec((app / group.get("config-file")).read_text(), source=group.get("config-file"))
        assert spec.get("infer_config.unique_id") == int(gie_id)
        assert spec.get("infer_config.max_batch_size") == batch
        assert spec.get("infer_config.backend.triton.model_repo.root") == "triton"  # one repository for the process
        model = spec.get("infer_config.backend.triton.model_name")
        models.add(model)
        triton_config = (app / "triton" / model / "config.pbtxt").read_text()
        assert f'name: "{model}"' in triton_config and f"max_batch_size: {batch}\n" in triton_config
        if class_ids is None:
            assert spec.get("input_control.process_mode") == "PROCESS_MODE_FULL_FRAME"
            continue
        assert spec.get("input_control.process_mode") == "PROCESS_MODE_CLIP_OBJECTS"
        assert spec.get("input_control.operate_on_gie_id") == 1
        assert list(spec.get_all("input_control.operate_on_class_ids")) == class_ids
        assert spec.get("input_control.async_mode") is True
        box = (spec.get("input_control.object_control.bbox_filter.min_width"),
               spec.get("input_control.object_control.bbox_filter.min_height"))
        assert box == (min_size or (None, None))
    assert len(models) == 3  # the two secondaries use the same bundle: two models, two batch settings


@pytest.mark.parametrize("copy", [False, True], ids=["referenced", "copied"])
def test_triton_variant_version_folders_hold_the_model_their_config_loads(copy, bundles, samples, tmp_path, capsys):
    """A bundle's default Triton GPU model is onnx-trt (platform onnxruntime_onnx, 1/model.onnx, no build step):
    the pipeline's APP/triton/<model>/1/ must hold that model.onnx, not a README saying to build a model.plan
    the config never loads. A plan bundle's model (tensorrt_plan) still gets the convert command."""
    det, make, kind = bundles[("9.0", "x86")]
    plan = tmp_path / "plan_det"
    info = samples["detectnet_v2"]
    create_bundle(BundleRequest(model=info.model, network=info.network, output=plan, spec=info.spec, key=KEY,
                                deepstream="9.0", platform="x86", triton_gpu="plan"))
    _stub_library(plan)
    app = tmp_path / "app"
    create_pipeline(_request(bundles, app, triton=True, copy=copy))
    listed = {f["path"] for f in json.loads((app / "pipeline.json").read_text())["files"]}
    for model, bundle in (("pgie_", det), ("sgie0_", make), ("sgie1_", kind)):
        name = json.loads((bundle / "manifest.json").read_text())["triton_model"]
        config = (app / "triton" / f"{model}{name}" / "config.pbtxt").read_text()
        assert 'platform: "onnxruntime_onnx"' in config
        served = app / "triton" / f"{model}{name}" / "1" / "model.onnx"
        assert served.read_bytes() == (bundle / "triton" / name / "1" / "model.onnx").read_bytes()
        assert f"triton/{model}{name}/1/model.onnx" in listed
        assert not (served.parent / "README.txt").exists()
    plan_app = tmp_path / "plan_app"
    create_pipeline(_request(bundles, plan_app, primary=plan, secondaries=[], triton=True))
    name = json.loads((plan / "manifest.json").read_text())["triton_model"]
    version = plan_app / "triton" / f"pgie_{name}" / "1"
    assert 'platform: "tensorrt_plan"' in (version.parent / "config.pbtxt").read_text()
    assert sorted(p.name for p in version.iterdir()) == ["README.txt"]
    assert "--batch 4 -o model.plan" in (version / "README.txt").read_text()
    # what `taostream pipeline` prints says to build engines only where a model waits for one
    for primary, app_name, build in ((det, "cli_onnx", False), (plan, "cli_plan", True)):
        capsys.readouterr()
        assert main(["pipeline", "-o", str(tmp_path / app_name), "--primary", str(primary), "--triton",
                     "--deepstream", "9.0"]) == 0
        assert ("build each model.plan first" in capsys.readouterr().out) is build


def test_triton_variant_missing_label_file_is_one_line(bundles, tmp_path, capsys):
    app = tmp_path / "app"
    create_pipeline(_request(bundles, app, triton=True, copy=True))
    config = app / "config_infer_secondary_1_classification_nvinferserver.txt"
    config.write_text(config.read_text().replace('labelfile_path: "bundles/typenet/labels.txt"',
                                                 'labelfile_path: "bundles/typenet/gone.txt"'))
    code, lines = _check(app, capsys)
    errors = [line for line in lines if ": error: " in line]
    assert code == 1 and len(errors) == 1 and "labelfile_path: file not found" in errors[0], lines


def test_check_warns_when_a_gie_config_batch_disagrees_with_the_app(bundles, tmp_path, capsys):
    app = tmp_path / "app"
    create_pipeline(_request(bundles, app))
    _plant(app, "batch-size=16", "batch-size=8", "config_infer_secondary_0_classification.txt")
    code, lines = _check(app, capsys)
    warnings = [line for line in lines if ": warning: " in line and "edited since" not in line]
    assert code == 0 and len(warnings) == 1, lines
    assert "[secondary-gie0] batch-size: 16 but its config-file says batch-size=8" in warnings[0]


def test_two_detectnet_v2_gies_that_cluster_differently_are_refused(fixtures_dir, tmp_path):
    """NVIDIA's LPD model (lpdnet: DBSCAN+NMS) as a secondary detector on the facemask detector's faces (TAO's
    DBSCAN): the parser library reads one TAOSTREAM_DETECTNET_V2 per process, and the pipeline wrote only the
    primary's, so DeepStream clustered the plates with the face model's settings without a word."""
    (tmp_path / "face.txt").write_text("mask\nno-mask\n")
    (tmp_path / "lpd.txt").write_text("lpd\n")
    models = fixtures_dir / "models"
    for name, model, network, labels, key in (
            ("face", "facemask_detectnet_v2_resnet18.etlt", "detectnet_v2", "face.txt", "tlt_encode"),
            ("face2", "facemask_detectnet_v2_resnet18.etlt", "detectnet_v2", "face.txt", "tlt_encode"),
            ("lpd", "lpd_usa_detectnet_v2_pruned.etlt", "lpdnet", "lpd.txt", "nvidia_tlt")):
        made = run_cli("bundle", models / model, "--network", network, "--labels", tmp_path / labels, "--key", key,
                       "-o", tmp_path / name)
        assert made.returncode == 0, made.stderr
    app = tmp_path / "app"
    refused = run_cli("pipeline", "-o", app, "--primary", tmp_path / "face", "--secondary", f"{tmp_path / 'lpd'}:classes=no-mask")
    assert_clean_error(refused, "mode=dbscan_nms", "mode=dbscan ", "one taostream_parser.env setting per process")
    assert not app.exists()
    same = run_cli("pipeline", "-o", app, "--primary", tmp_path / "face", "--secondary", f"{tmp_path / 'face2'}:classes=no-mask")
    assert same.returncode == 0, same.stderr
    assert (app / "taostream_parser.env").read_text() == (tmp_path / "face/deepstream/taostream_parser.env").read_text()


def test_serve_on_a_pipeline_folder_names_the_bundles_to_serve(bundles, tmp_path):
    """`serve APP` said "not a bundle or a Triton model repository" and stopped there; it names the
    bundles the pipeline uses (each serves its CPU model) and APP/triton for a GPU host."""
    app = tmp_path / "app"
    create_pipeline(_request(bundles, app, triton=True))
    result = run_cli("serve", app)
    primary = json.loads((app / "pipeline.json").read_text())["primary"]["path"]
    assert_clean_error(result, "a pipeline folder", primary, str(app / "triton"))


@pytest.mark.parametrize("secondaries", [0, 1, 2])
def test_check_counts_every_bundle_and_gie_config_of_a_pipeline(secondaries, bundles, tmp_path, capsys):
    # before, check said "1 config(s) and 1 bundle(s)" for any pipeline: the app config and the folder
    det, make, kind = bundles[("9.0", "x86")]
    args = ["pipeline", "-o", str(tmp_path / "app"), "--primary", str(det), "--deepstream", "9.0"]
    for bundle in (make, kind)[:secondaries]:
        args += ["--secondary", f"{bundle}:classes=car"]
    assert main(args) == 0
    code, lines = _check(tmp_path / "app", capsys)
    # deepstream_app.txt and one nvinfer config per GIE
    assert code == 0 and lines[-1] == (f"0 error(s), 0 warning(s) in {2 + secondaries} config(s) and "
                                       f"{1 + secondaries} bundle(s) (DeepStream 9.0)"), lines
