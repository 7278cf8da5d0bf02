"""One reader of a bundle's manifest.json (deepstream_configs/bundle/manifest.py) for all its consumers:
`taostream check` on a bundle (bundle_check) and on one of its configs (check.bundle_manifest),
and `infer`/`verify`/`evaluate` (inference.bundle_info). Bundles are real ones: NVIDIA's facemask
.etlt bundled with its own inference spec."""

from __future__ import annotations

import json
import shutil

import pytest

from cli_support import assert_clean_error, run_cli
from taostream.converter.errors import TaostreamError
from taostream.deepstream_configs.check import bundle as bundle_check
from taostream.deepstream_configs.check.run import CheckReport, bundle_manifest
from taostream.deepstream_configs.bundle.manifest import MANIFEST_VERSION, load_manifest
from taostream.inference.bundle_info import load_bundle

FACEMASK = "facemask_detectnet_v2_resnet18.etlt"
INFERENCE_SPEC = "specs/facemask_detectnet_v2_inference_kitti_etlt.txt"


@pytest.fixture(scope="module")
def pristine(fixtures_dir, tmp_path_factory):
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle

    output = tmp_path_factory.mktemp("manifest") / "facemask"
    create_bundle(BundleRequest(model=fixtures_dir / "models" / FACEMASK, network="detectnet_v2", output=output,
                                spec=fixtures_dir / INFERENCE_SPEC, key="tlt_encode", precision="fp32"))
    return output


@pytest.fixture
def bundle(pristine, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(pristine, copy)
    return copy


def test_every_reader_reads_the_manifest_bundle_wrote(pristine):
    written = json.loads((pristine / "manifest.json").read_text(encoding="utf-8"))
    assert written["manifest_version"] == MANIFEST_VERSION
    assert load_manifest(pristine) == load_manifest(pristine / "manifest.json") == written
    assert load_bundle(pristine).manifest == written
    report = CheckReport()
    assert bundle_check.read_manifest(pristine, report) == written and report.findings == []
    config = pristine / "deepstream" / "config_infer_primary.txt"
    assert bundle_manifest(config) == (pristine / "manifest.json", written)


def _truncated(manifest: dict) -> bytes:
    text = json.dumps(manifest, indent=2).encode()
    return text[: len(text) // 2]  # a partial copy


def _version(value):
    return lambda manifest: json.dumps({**manifest, "manifest_version": value}).encode()


def _without_version(manifest: dict) -> bytes:
    return json.dumps({k: v for k, v in manifest.items() if k != "manifest_version"}).encode()


BROKEN = {
    # name: (what the file becomes, from the real manifest; the field named, what the line says)
    "truncated": (_truncated, None, "unreadable manifest (Expecting"),
    "not utf-8": (lambda m: b"\xff\xfe" + json.dumps(m).encode("utf-16-le"), None, "unreadable manifest ("),
    "a json list": (lambda m: json.dumps([m]).encode(), None, "not a taostream bundle manifest (a JSON list"),
    "newer version": (_version(MANIFEST_VERSION + 1), "manifest_version",
                      f"{MANIFEST_VERSION + 1}, but this taostream reads version {MANIFEST_VERSION}: written by a newer"),
    "version as text": (_version(str(MANIFEST_VERSION)), "manifest_version", "'1' is not a version number: not a taostream bundle manifest"),
    "no version": (_without_version, "manifest_version", "missing: not a taostream bundle manifest"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_manifest_is_one_line_naming_the_file(bundle, case):
    make, field, problem = BROKEN[case]
    path = bundle / "manifest.json"
    path.write_bytes(make(json.loads(path.read_text(encoding="utf-8"))))
    where = f"{path}: {field}: " if field else f"{path}: "
    for reader in (load_manifest, load_bundle):
        with pytest.raises(TaostreamError) as raised:
            reader(bundle)
        assert str(raised.value).startswith(where + problem) and "\n" not in str(raised.value), raised.value
        assert str(raised.value).endswith("re-create the bundle with `taostream bundle`")
    report = CheckReport()
    assert bundle_check.read_manifest(bundle, report) is None
    assert [str(f) for f in report.findings] == [str(raised.value).replace(f"{path}: ", f"{path}: error: ", 1)]
    # A config inside the broken bundle is checked as one outside any bundle; the bundle check says why.
    assert bundle_manifest(bundle / "deepstream" / "config_infer_primary.txt") is None
    checked = run_cli("check", bundle)
    assert checked.returncode == 1 and f"{path}: error: {field + ': ' if field else ''}{problem}" in checked.stdout
    assert "Traceback" not in checked.stderr
    assert_clean_error(run_cli("infer", bundle, bundle / "labels.txt", "-o", bundle / "out"), str(path), problem)


def test_a_missing_manifest(bundle):
    (bundle / "manifest.json").unlink()
    with pytest.raises(TaostreamError, match=r"copy: not a taostream bundle \(no manifest.json\); create one"):
        load_manifest(bundle)
    with pytest.raises(TaostreamError, match=r"copy: not a taostream bundle \(no manifest.json\)"):
        load_bundle(bundle)
    with pytest.raises(TaostreamError, match=r"nowhere: not a taostream bundle"):
        load_manifest(bundle / "nowhere")
    assert_clean_error(run_cli("check", bundle), "a folder without manifest.json")
