"""`taostream pipeline` for licence plates: NVIDIA's real LPD model (lpd_usa_detectnet_v2_pruned.etlt from
shared/fixtures, bundled with `--labels`) as the primary, the LPRNet sample as the secondary on its plates.
The two bundles' parser settings (the DetectNet_v2 clustering, LPRNet's dictionary) both reach the
pipeline's taostream_parser.env, the tree passes `check` for every DeepStream version and Jetson, and the
CPU cascade writes each plate's string (the sample reads every crop as NV3388TX by construction)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli_support import assert_clean_error, run_cli
from deepstream_fixtures import parser_stub_library
from ngc_support import write_plate_scene
from taostream.cli import main
from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.elf_symbols import exported_functions
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.nvinfer import PARSER_LIBRARY_NAME
from taostream.deepstream_configs.pipeline.make import PipelineRequest, create_pipeline, parse_secondary
from taostream.inference.deepstream.app import parser_environment
from taostream.parsers.build import LIBRARY_ENV

LPD = "lpd_usa_detectnet_v2_pruned.etlt"
PLATE = "NV3388TX"  # what the LPRNet sample's head reads on any crop (samples_specs.LPR_PLATE)
LPR_PARSER = "NvDsInferParseCustomNVPlate"
KEY = "nvidia_tlt"  # the LPD fixture's key (shared/fixtures/models/SOURCES.md); the sample's too


def _usable_library(bundle: Path) -> None:
    """A bundle's lib/ needs LPRNet's parser for check; a parser build from before LPRNet (or none) is
    replaced by a stub exporting every registry name (test_pipeline's way)."""
    target = bundle / "lib" / PARSER_LIBRARY_NAME
    if target.is_file() and LPR_PARSER in exported_functions(target):
        return
    stub = bytearray(parser_stub_library().read_bytes())
    if json.loads((bundle / "manifest.json").read_text())["platform"] == "jetson":
        stub[18:20] = (183).to_bytes(2, "little")  # ELF e_machine: aarch64
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(bytes(stub))


@pytest.fixture(scope="module")
def plates(tmp_path_factory, fixtures_dir):
    """(lpd bundle, lpr bundle) per (deepstream, platform); 8.0 bundles serve 6.x to 8.0 (one struct layout)."""
    root = tmp_path_factory.mktemp("plates")
    (root / "labels.txt").write_text("lpd\n")
    sample = write_sample("lprnet", root / "lpr_sample", key=KEY)
    made = {}
    with pytest.MonkeyPatch.context() as patch:
        # a checkout's parser build may predate LPRNet's parser: x86 bundles ship the stub
        patch.setenv(LIBRARY_ENV, str(parser_stub_library()))
        for deepstream, platform in (("9.0", "x86"), ("8.0", "x86"), ("9.0", "jetson")):
            folder = root / f"{deepstream}-{platform}"
            lpd, lpr = folder / "lpd", folder / "lpr"
            create_bundle(BundleRequest(model=fixtures_dir / "models" / LPD, network="lpdnet", output=lpd, key=KEY,
                                        labels=root / "labels.txt", deepstream=deepstream, platform=platform))
            create_bundle(BundleRequest(model=sample.model, network="lprnet", output=lpr, spec=sample.spec, key=KEY,
                                        deepstream=deepstream, platform=platform))
            for bundle in (lpd, lpr):
                _usable_library(bundle)
            made[(deepstream, platform)] = (lpd, lpr)
    return root, made


def _bundles(plates, deepstream, platform):
    return plates[1][("9.0" if deepstream.startswith("9") else "8.0", platform)]


def _env(path: Path) -> dict[str, str]:
    return {k: v.strip('"') for k, _, v in (line.partition("=") for line in path.read_text().splitlines())}


def _check(app: Path, capsys) -> list[str]:
    capsys.readouterr()
    code = main(["check", str(app)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and lines[-1].startswith("0 error(s), 0 warning(s)"), lines
    return lines


@pytest.mark.parametrize("deepstream,platform", [("6.1", "x86"), ("6.4", "x86"), ("7.1", "x86"), ("8.0", "x86"),
                                                 ("9.0", "x86"), ("9.0", "jetson")])
def test_lpd_then_lpr_pipeline_passes_check(deepstream, platform, plates, tmp_path, capsys):
    lpd, lpr = _bundles(plates, deepstream, platform)
    app = tmp_path / "app"
    result = run_cli("pipeline", "-o", app, "--primary", lpd, "--secondary", f"{lpr}:classes=lpd",
                     "--deepstream", deepstream, "--platform", platform)
    assert result.returncode == 0, result.stderr
    assert "TAOSTREAM_DETECTNET_V2, TAOSTREAM_LPR_DICT" in result.stderr
    _check(app, capsys)
    # both parsers' settings, the dictionary as an absolute path to the LPR bundle's dict.txt
    env = _env(app / "taostream_parser.env")
    assert env == {"TAOSTREAM_DETECTNET_V2": _env(lpd / "deepstream" / "taostream_parser.env")["TAOSTREAM_DETECTNET_V2"],
                   "TAOSTREAM_LPR_DICT": str(lpr / "dict.txt")}
    assert "mode=dbscan_nms" in env["TAOSTREAM_DETECTNET_V2"]
    assert "run from this folder: set -a; . ./taostream_parser.env; set +a; deepstream-app -c" in \
        (app / "deepstream_app.txt").read_text()
    ini = read_ini(app / "deepstream_app.txt")
    group = ini.group("secondary-gie0")
    assert (group.get("gie-unique-id"), group.get("operate-on-gie-id"), group.get("operate-on-class-ids")) == ("2", "1", "0")
    prop = read_ini(app / group.get("config-file")).group("property")
    assert (prop.get("process-mode"), prop.get("network-type"), prop.get("parse-classifier-func-name")) == \
        ("2", "1", LPR_PARSER)
    assert prop.get("custom-lib-path") == str(lpr / "lib" / PARSER_LIBRARY_NAME)
    primary = read_ini(app / "config_infer_primary.txt").group("property")
    assert primary.get("tlt-encoded-model") is None and Path(primary.get("onnx-file")).parent == lpd


def test_copied_lpr_pipeline_carries_its_dictionary(plates, tmp_path, capsys):
    """With --copy the dictionary path is relative to APP (deepstream-app runs there) and the tree still
    passes check after it moved; the check finds a dictionary that is not there."""
    lpd, lpr = _bundles(plates, "9.0", "x86")
    made = tmp_path / "made"
    create_pipeline(PipelineRequest(output=made, primary=lpd, secondaries=[parse_secondary(str(lpr))], copy=True))
    app = tmp_path / "moved"
    shutil.move(made, app)
    assert _env(app / "taostream_parser.env")["TAOSTREAM_LPR_DICT"] == "bundles/lpr/dict.txt"
    assert (app / "bundles/lpr/dict.txt").read_text() == (lpr / "dict.txt").read_text()
    _check(app, capsys)
    # `taostream deepstream-app APP` sets the variables in-process: the dictionary resolved against APP
    assert parser_environment(app)["TAOSTREAM_LPR_DICT"] == str((app / "bundles/lpr/dict.txt").resolve())
    (app / "bundles/lpr/dict.txt").unlink()
    main(["check", str(app)])
    out = capsys.readouterr().out
    assert f"{LPR_PARSER} reads the plate characters" in out and "bundles/lpr/dict.txt" in out, out


def test_two_lpr_dictionaries_with_different_characters_are_refused(plates, tmp_path):
    """Two LPRNet secondaries whose dict.txt differ (US and Chinese plates) cannot share one process's
    TAOSTREAM_LPR_DICT; a copy with the same characters is the same dictionary."""
    lpd, lpr = _bundles(plates, "9.0", "x86")
    same, other = tmp_path / "same", tmp_path / "other"
    shutil.copytree(lpr, same)
    shutil.copytree(lpr, other)
    characters = (other / "dict.txt").read_text().splitlines()
    (other / "dict.txt").write_text("".join(f"{c}\n" for c in reversed(characters)))
    app = tmp_path / "app"
    refused = run_cli("pipeline", "-o", app, "--primary", lpd, "--secondary", lpr, "--secondary", other)
    assert_clean_error(refused, f"{other}: its parser reads its LPR characters from", "one taostream_parser.env setting "
                       "per process", "the same characters_list_file")
    assert not app.exists()
    accepted = run_cli("pipeline", "-o", app, "--primary", lpd, "--secondary", lpr, "--secondary", same)
    assert accepted.returncode == 0, accepted.stderr
    assert _env(app / "taostream_parser.env")["TAOSTREAM_LPR_DICT"] == str(lpr / "dict.txt")


def test_cpu_cascade_reads_each_plate(plates, tmp_path):
    """The real LPD model finds both plates of the car scene; results.json gives each plate object the LPR
    secondary's plate string and the product of its character confidences (what the parser attaches)."""
    from taostream.converter.model.preprocess import load_bgr
    from taostream.inference.cascade import object_crop
    from taostream.parsers.reference import Detection

    lpd, lpr = _bundles(plates, "9.0", "x86")
    app = tmp_path / "app"
    create_pipeline(PipelineRequest(output=app, primary=lpd, secondaries=[parse_secondary(f"{lpr}:classes=lpd")]))
    scene = write_plate_scene(tmp_path / "car.png", LPD)
    out = tmp_path / "out"
    assert main(["infer", str(app), str(scene), "-o", str(out), "--no-progress"]) == 0
    [image] = json.loads((out / "results.json").read_text())["images"]
    objects = image["objects"]
    # the scene's plates (ngc_support.plate_scene on 640x480): x, y, width, height = 30% of the width
    drawn = [(96, 168, 192, 57), (320, 336, 224, 67)]
    assert len(objects) == 2, objects
    centres = sorted(((o["bbox"][0] + o["bbox"][2]) / 2, (o["bbox"][1] + o["bbox"][3]) / 2) for o in objects)
    for (cx, cy), (x, y, w, h) in zip(centres, drawn):
        assert x < cx < x + w and y < cy < y + h, (centres, drawn)
    for obj in objects:
        assert obj["label"] == "lpd"
        reading = obj["secondaries"]["2"]
        assert (reading["network"], reading["label"]) == ("lprnet", PLATE), reading
        # the same crop through the LPR bundle alone (taostream infer on the bundle) reads the same
        crop = object_crop(load_bgr(scene), Detection(0, *obj["bbox"], obj["confidence"]))
        import cv2

        cv2.imwrite(str(tmp_path / "crop.png"), crop)
        single = tmp_path / "single"
        assert main(["infer", str(lpr), str(tmp_path / "crop.png"), "-o", str(single), "--no-progress", "--force"]) == 0
        [alone] = json.loads((single / "results.json").read_text())["images"]
        assert alone["classification"]["label"] == PLATE
        assert reading["confidence"] == pytest.approx(alone["classification"]["confidence"], abs=1e-5)


def test_deepstream_results_use_the_plate_nvinfer_attaches():
    """The DeepStream Python app's results.json takes NvDsLabelInfo.result_label, which
    NvDsInferParseCustomNVPlate sets to the plate (class id 1 would name dict.txt's second character)."""
    from taostream.inference.deepstream.pipeline import FrameMeta, LabelMeta, ObjectMeta, SecondaryInfo, frame_record

    characters = ["0", "1", "2"]
    obj = ObjectMeta(0, 0.9, 100, 100, 200, 60, classifiers={2: [LabelMeta(1, 0.8, PLATE)]})
    record = frame_record(FrameMeta(0, 0, 1920, 1080, [obj]), "cam", (1920, 1080), ["lpd"],
                          {2: SecondaryInfo("lprnet", characters)})
    assert record["objects"][0]["secondaries"]["2"] == {"network": "lprnet", "class_id": 1, "label": PLATE,
                                                        "confidence": 0.8}
