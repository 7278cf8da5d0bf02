"""Every subcommand against inputs a user gets wrong: one line naming the problem, exit 2, no
traceback, nothing left behind, the key never printed.

TABLE has rows for every leaf subcommand of taostream.cli.build_parser(); a command added without
rows fails test_every_subcommand_has_rows. Rows call main() in-process (fast); a few run the real
command line in a subprocess to prove no traceback reaches a user's terminal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from cli_support import run_cli
from taostream.cli import build_parser, main
from taostream.converter.model import etlt

SECRET = "h3-Secret-Key-9z"  # the model key of every row: it must never appear in any output
FACEMASK = "facemask_detectnet_v2_resnet18.etlt"  # NVIDIA's sample, key tlt_encode; its training spec below
DETECTNET_SPEC = "facemask_detectnet_v2_train_resnet18_kitti.txt"


class Workspace:
    """Real inputs (the NVIDIA fixtures, re-encrypted with SECRET) and the wrong ones users hold."""

    def __init__(self, root: Path, fixtures: Path):
        self.root, self.fixtures = root, fixtures
        self.spec = fixtures / "specs" / DETECTNET_SPEC
        self.cache = fixtures / "calibration" / "facemask_detectnet_v2_cal.bin"
        self.config = fixtures / "configs" / "pgie_detectnet_v2_tlt_config.txt"

    def __truediv__(self, name: str) -> Path:
        return self.root / name

    def s(self, name: str) -> str:
        return str(self.root / name)


def _make_unwritable(folder: Path) -> bool:
    """A folder nobody (root included) may write into: chattr +i as root, else mode 0555."""
    folder.mkdir()
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
            return False
    else:
        folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        return True
    (folder / "probe").unlink()
    return False


def _garbage_pipeline(w: Workspace) -> str:
    """A pipeline folder whose pipeline.json is cut off."""
    app = w / "garbage app"
    app.mkdir(exist_ok=True)
    (app / "pipeline.json").write_text("{\n")
    return str(app)


def _release_unwritable(folder: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(folder)])
    folder.chmod(0o755)


@pytest.fixture(scope="module")
def ws(tmp_path_factory, fixtures_dir):
    from taostream.converter.samples.write import make_sample_model
    from taostream.converter.registry import get_network
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle

    root = tmp_path_factory.mktemp("bad inputs é")  # a space and a non-ASCII letter in every path
    w = Workspace(root, fixtures_dir)
    payload = etlt.read_etlt(fixtures_dir / "models" / FACEMASK, "tlt_encode")
    (root / "facemask.uff").write_bytes(payload.data)
    (root / "facemask.etlt").write_bytes(etlt.encode_etlt_bytes(payload.data, SECRET, input_name=payload.input_name))
    onnx_bytes = make_sample_model(get_network("ssd")).SerializeToString()
    (root / "ssd.onnx").write_bytes(onnx_bytes)
    (root / "truncated.onnx").write_bytes(onnx_bytes[: len(onnx_bytes) // 2])
    (root / "ssd.etlt").write_bytes(etlt.encode_etlt_bytes(onnx_bytes, SECRET))
    (root / "lprnet.onnx").write_bytes(make_sample_model(get_network("lprnet")).SerializeToString())
    raw = (root / "facemask.etlt").read_bytes()
    (root / "truncated.etlt").write_bytes(raw[:30])
    (root / "empty.onnx").write_bytes(b"")
    (root / "empty.txt").write_bytes(b"")
    (root / "garbage.onnx").write_bytes(b"this is not a model\n")
    (root / "empty photo.jpg").write_bytes(b"")  # an interrupted copy: the only image given
    (root / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (root / "afile").write_text("a regular file\n")
    (root / "utf16 labels.txt").write_text("mask\r\nno-mask\r\n", encoding="utf-16")  # Notepad's "Unicode"
    (root / "latin1 labels.txt").write_bytes("m\u00e4sk\nno-mask\n".encode("latin-1"))  # a legacy code page
    (root / "adir").mkdir()
    (root / "secret.key").write_text(SECRET + "\n")
    (root / "binary.key").write_bytes(b"\x00\x01\xff\xfe" + SECRET.encode())
    (root / "wrong.key").write_text("not-the-key\n")
    (root / "images").mkdir()
    import cv2
    import numpy as np

    cv2.imwrite(str(root / "images" / "photo 1.png"), np.full((96, 128, 3), 127, np.uint8))
    (root / "kitti" / "labels").mkdir(parents=True)
    shutil.copytree(root / "images", root / "kitti" / "images")
    (root / "kitti" / "labels" / "photo 1.txt").write_text("no-mask 0.00 0 0.00 10.0 10.0 50.0 40.0 0 0 0 0 0 0 0\n")
    spec_text = w.spec.read_text(encoding="utf-8")
    (root / "bad value spec.txt").write_text(spec_text.replace("coverage_threshold: 0.00499999988824", "coverage_threshold: abc", 1),
                                             encoding="utf-8")
    (root / "truncated spec.txt").write_text(spec_text[: len(spec_text) // 2], encoding="utf-8")
    (root / "modèle é.etlt").write_bytes(raw)
    create_bundle(BundleRequest(model=root / "facemask.etlt", network="detectnet_v2", output=root / "bundle",
                                spec=w.spec, key=SECRET, precision="fp32"))
    # the same model bundled as lpdnet: NVIDIA's LPD clustering (DBSCAN+NMS), unlike the spec's DBSCAN
    (root / "facemask labels.txt").write_text("mask\nno-mask\n")
    create_bundle(BundleRequest(model=root / "facemask.etlt", network="lpdnet", output=root / "bundle nms",
                                labels=root / "facemask labels.txt", key=SECRET, precision="fp32"))
    # two LPRNet bundles whose dict.txt list the characters in another order (US and another country's plates)
    from taostream.converter.samples.write import write_sample

    lpr = write_sample("lprnet", root / "lpr sample", key=SECRET)
    create_bundle(BundleRequest(model=lpr.model, network="lprnet", output=root / "bundle lpr", spec=lpr.spec, key=SECRET))
    shutil.copytree(root / "bundle lpr", root / "bundle lpr other")
    characters = (root / "bundle lpr other" / "dict.txt").read_text().splitlines()
    (root / "bundle lpr other" / "dict.txt").write_text("".join(f"{c}\n" for c in reversed(characters)))
    w.unwritable = _make_unwritable(root / "locked")
    yield w
    _release_unwritable(root / "locked")


@dataclass(frozen=True)
class Bad:
    label: str  # missing, empty, truncated, folder-for-file, file-for-folder, unwritable, garbage, ...
    argv: Callable[[Workspace], list]
    says: tuple[str, ...] = ()  # fragments the error must hold (the file, the field, the fix)


def key(*extra) -> list[str]:
    return ["--key", SECRET, *extra]


# Wrong outputs shared by the commands that write one file / one folder.
def _file_outputs(command: Callable[[Workspace, str], list]) -> list[Bad]:
    return [
        Bad("folder-for-file output", lambda w: command(w, w.s("adir")), ("adir", "is a folder")),
        Bad("output under a file", lambda w: command(w, w.s("afile") + "/out.x"), ("afile is a file",)),
        Bad("unwritable output", lambda w: command(w, w.s("locked") + "/out.x"), ("locked", "cannot write")),
    ]


def _folder_outputs(command: Callable[[Workspace, str], list]) -> list[Bad]:
    return [
        Bad("file-for-folder output --force", lambda w: command(w, w.s("afile")) + ["--force"], ("afile", "is a file")),
        Bad("output under a file", lambda w: command(w, w.s("afile") + "/out"), ("afile is a file",)),
        Bad("current folder --force", lambda w: command(w, ".") + ["--force"], ("current folder",)),
        Bad("unwritable output", lambda w: command(w, w.s("locked") + "/out"), ("locked", "cannot write")),
    ]


def _key_files(command: Callable[[Workspace], list]) -> list[Bad]:
    return [
        Bad("folder-for-file --key-file", lambda w: command(w) + ["--key-file", w.s("adir")], ("adir", "is a folder")),
        Bad("binary --key-file", lambda w: command(w) + ["--key-file", w.s("binary.key")], ("binary.key",)),
        Bad("missing --key-file", lambda w: command(w) + ["--key-file", w.s("nope.key")], ("nope.key",)),
    ]


def _bundle(w, *extra):
    return ["bundle", w.s("facemask.etlt"), "--network", "detectnet_v2", "--spec", str(w.spec), "--precision", "fp32",
            *extra]


def _tao(task: str, *args):
    return lambda w: ["tao", task, "--network", "detectnet_v2", "--dry-run", *args]


_TAO_KEYED = {
    "train": ["-e", "/workspace/spec.txt"],
    "evaluate": ["-e", "/workspace/spec.txt"],
    "inference": ["-i", "/workspace/images"],
    "prune": ["-m", "/workspace/m.tlt", "-o", "/workspace/p.tlt"],
    "export": ["-m", "/workspace/m.tlt"],
}

TABLE: dict[str, list[Bad]] = {
    "decode": [
        Bad("missing model", lambda w: ["decode", w.s("nope é.etlt"), *key("-o", w.s("m.uff"))], ("nope é.etlt",)),
        Bad("empty model", lambda w: ["decode", w.s("empty.onnx"), *key("-o", w.s("m.uff"))], ("empty.onnx",)),
        Bad("plain UFF, no key (nothing to decrypt)", lambda w: ["decode", w.s("facemask.uff"), "--to-onnx", "-o",
                                                                 w.s("m.onnx")],
            ("facemask.uff", "a plain UFF model, not an encrypted .etlt", "taostream modernize")),
        Bad("plain ONNX (nothing to decrypt)", lambda w: ["decode", w.s("ssd.onnx"), "-o", w.s("m.onnx")],
            ("ssd.onnx", "a plain ONNX model", "use it as it is")),
        Bad("truncated model", lambda w: ["decode", w.s("truncated.etlt"), *key("-o", w.s("m.uff"))],
            ("truncated.etlt", "truncated")),
        Bad("wrong key", lambda w: ["decode", w.s("facemask.etlt"), "--key-file", w.s("wrong.key"), "-o", w.s("m.uff")],
            ("wrong key",)),
        Bad("existing output without --force", lambda w: ["decode", w.s("facemask.etlt"), *key("-o", w.s("facemask.uff"))],
            ("facemask.uff", "--force")),
        Bad("output payload mismatch", lambda w: ["decode", w.s("facemask.etlt"), *key("-o", w.s("m.onnx"))],
            ("UFF", "--to-onnx")),
        Bad("output under a file", lambda w: ["decode", w.s("facemask.etlt"), *key("-o", w.s("afile") + "/m.uff")],
            ("afile is a file",)),
        Bad("unwritable output", lambda w: ["decode", w.s("facemask.etlt"), *key("-o", w.s("locked") + "/m.uff")],
            ("locked", "cannot write")),
        *_key_files(lambda w: ["decode", w.s("facemask.etlt"), "-o", w.s("m.uff")]),
    ],
    "encode": [
        Bad("missing model", lambda w: ["encode", w.s("nope.onnx"), *key("-o", w.s("m.etlt"))], ("nope.onnx",)),
        Bad("empty model", lambda w: ["encode", w.s("empty.onnx"), *key("-o", w.s("m.etlt"))], ("empty.onnx",)),
        Bad("truncated ONNX", lambda w: ["encode", w.s("truncated.onnx"), *key("-o", w.s("m.etlt"))],
            ("truncated.onnx", "truncated")),
        Bad("garbage model", lambda w: ["encode", w.s("garbage.onnx"), *key("-o", w.s("m.etlt"))], ("garbage.onnx",)),
        Bad("unknown --input-name", lambda w: ["encode", w.s("facemask.uff"), *key("-o", w.s("m.etlt"), "--input-name", "nope")],
            ("--input-name nope", "input_1")),
        Bad("--input-name with ONNX", lambda w: ["encode", w.s("ssd.onnx"), *key("-o", w.s("m.etlt"), "--input-name", "x")],
            ("--input-name",)),
        Bad("existing output without --force", lambda w: ["encode", w.s("ssd.onnx"), *key("-o", w.s("afile"))],
            ("afile", "--force")),
        Bad("output is the input", lambda w: ["encode", w.s("ssd.onnx"), *key("-o", w.s("ssd.onnx"), "--force")],
            ("overwrite the input",)),
        *_file_outputs(lambda w, out: ["encode", w.s("ssd.onnx"), *key("-o", out)]),
        *_key_files(lambda w: ["encode", w.s("ssd.onnx"), "-o", w.s("m.etlt")]),
    ],
    "inspect": [
        Bad("missing model", lambda w: ["inspect", w.s("nope.onnx")], ("nope.onnx",)),
        Bad("empty .onnx", lambda w: ["inspect", w.s("empty.onnx")], ("empty.onnx", "empty")),
        Bad("garbage .onnx", lambda w: ["inspect", w.s("garbage.onnx")], ("garbage.onnx", "not an ONNX model")),
        Bad("truncated .onnx", lambda w: ["inspect", w.s("truncated.onnx")], ("truncated.onnx",)),
        Bad("folder-for-file model", lambda w: ["inspect", w.s("adir")], ("adir", "is a folder")),
        Bad("unicode path, no key", lambda w: ["inspect", w.s("modèle é.etlt")], ("modèle é.etlt", "--key")),
        *_key_files(lambda w: ["inspect", w.s("facemask.etlt")]),
    ],
    "sample": [
        Bad("garbage --network", lambda w: ["sample", "--network", "ssdd", "-o", w.s("s")], ("ssdd",)),
        Bad("existing output without --force", lambda w: ["sample", "--network", "ssd", "-o", w.s("images")],
            ("images", "--force")),
        *_folder_outputs(lambda w, out: ["sample", "--network", "ssd", "-o", out]),
        Bad("folder-for-file --key-file", lambda w: ["sample", "--network", "ssd", "-o", w.s("s"), "--key-file", w.s("adir")],
            ("adir",)),
    ],
    "modernize": [
        Bad("missing model", lambda w: ["modernize", w.s("nope.onnx"), "-o", w.s("m.onnx")], ("nope.onnx",)),
        Bad("empty .onnx", lambda w: ["modernize", w.s("empty.onnx"), "-o", w.s("m.onnx")], ("empty.onnx",)),
        Bad("truncated .onnx", lambda w: ["modernize", w.s("truncated.onnx"), "-o", w.s("m.onnx")], ("truncated.onnx",)),
        Bad("folder-for-file --calibration-cache",
            lambda w: ["modernize", w.s("ssd.onnx"), "-o", w.s("m.onnx"), "--calibration-cache", w.s("adir")],
            ("adir", "is a folder", "--calibration-cache")),
        Bad("garbage --keep-plugins", lambda w: ["modernize", w.s("ssd.onnx"), "-o", w.s("m.onnx"), "--keep-plugins", "Nope"],
            ("Nope",)),
        Bad("output is the input", lambda w: ["modernize", w.s("ssd.onnx"), "-o", w.s("ssd.onnx")], ("overwrite the input",)),
        Bad("--plugins taostream for ONNX Runtime", lambda w: ["modernize", w.s("ssd.onnx"), "-o", w.s("m.onnx"),
                                                               "--plugins", "taostream", "--target-trt", "ort"],
            ("--plugins taostream", "--target-trt ort", "10 or 11")),
        Bad("--plugins taostream for TensorRT 8.6", lambda w: ["modernize", w.s("ssd.onnx"), "-o", w.s("m.onnx"),
                                                               "--plugins", "taostream", "--target-trt", "8.6"],
            ("--plugins taostream", "--target-trt 8.6", "no IPluginV3")),
        Bad("garbage --plugins", lambda w: ["modernize", w.s("ssd.onnx"), "-o", w.s("m.onnx"), "--plugins", "nvidia"],
            ("--plugins", "nvidia")),
        *_file_outputs(lambda w, out: ["modernize", w.s("ssd.onnx"), "-o", out]),
        *_key_files(lambda w: ["modernize", w.s("ssd.etlt"), "-o", w.s("m.onnx")]),
    ],
    "calibration": [
        Bad("missing cache", lambda w: ["calibration", w.s("nope.bin")], ("nope.bin",)),
        Bad("empty cache", lambda w: ["calibration", w.s("empty.txt")], ("empty.txt", "empty")),
        Bad("folder-for-file cache", lambda w: ["calibration", w.s("adir")], ("adir", "is a folder")),
        Bad("binary cache", lambda w: ["calibration", w.s("binary.txt")], ("binary.txt",)),
        Bad("garbage cache", lambda w: ["calibration", str(w.spec)], (DETECTNET_SPEC,)),
    ],
    "convert": [
        Bad("missing model", lambda w: ["convert", w.s("nope.onnx"), "-o", w.s("m.engine"), "--dry-run",
                                        "--trt-version", "10.3"], ("nope.onnx",)),
        Bad("empty .onnx", lambda w: ["convert", w.s("empty.onnx"), "-o", w.s("m.engine"), "--dry-run",
                                      "--trt-version", "10.3"], ("empty.onnx",)),
        Bad("garbage --input-dims", lambda w: ["convert", w.s("ssd.onnx"), "-o", w.s("m.engine"), "--dry-run",
                                               "--trt-version", "10.3", "--input-dims", "a,b,c"], ("--input-dims",)),
        Bad("garbage --precision", lambda w: ["convert", w.s("ssd.onnx"), "-o", w.s("m.engine"), "--dry-run",
                                              "--trt-version", "10.3", "--precision", "int4"], ("--precision",)),
        Bad("negative --batch", lambda w: ["convert", w.s("ssd.onnx"), "-o", w.s("m.engine"), "--dry-run",
                                           "--batch", "-1"], ("--batch -1",)),
        *_file_outputs(lambda w, out: ["convert", w.s("ssd.onnx"), "-o", out, "--dry-run", "--trt-version", "10.3"]),
        *_key_files(lambda w: ["convert", w.s("facemask.etlt"), "-o", w.s("m.engine"), "--dry-run", "--trt-version", "10.3"]),
    ],
    "bundle": [
        Bad("missing model", lambda w: ["bundle", w.s("nope.etlt"), "--network", "detectnet_v2", "--spec", str(w.spec),
                                        *key("-o", w.s("b"))], ("nope.etlt",)),
        Bad("folder-for-file --spec", lambda w: _bundle(w, *key("-o", w.s("b")))[:5] + [w.s("adir"), *key("-o", w.s("b"))],
            ("adir", "is a folder")),
        Bad("garbage spec value", lambda w: ["bundle", w.s("facemask.etlt"), "--network", "detectnet_v2", "--spec",
                                             w.s("bad value spec.txt"), *key("-o", w.s("b"))],
            ("bad value spec.txt", "coverage_threshold", "'abc'")),
        Bad("truncated spec", lambda w: ["bundle", w.s("facemask.etlt"), "--network", "detectnet_v2", "--spec",
                                         w.s("truncated spec.txt"), *key("-o", w.s("b"))], ("truncated spec.txt",)),
        Bad("folder-for-file --calibration-cache",
            lambda w: _bundle(w, *key("-o", w.s("b")))[:-1] + ["int8", "--calibration-cache", w.s("adir")],
            ("adir", "is a folder", "--calibration-cache")),
        Bad("output holds the model", lambda w: ["bundle", w.s("bundle") + "/model.onnx", "--network", "detectnet_v2",
                                                 "--spec", str(w.spec), "-o", w.s("bundle"), "--force"],
            ("holds the input",)),
        Bad("LPRNet spec naming a character list that is not here",
            lambda w: ["bundle", w.s("lprnet.onnx"), "--network", "lprnet", "--spec",
                       str(w.fixtures / "specs" / "tao_lprnet_default_spec.txt"), "-o", w.s("b")],
            ("tao_lprnet_default_spec.txt", "characters_list_file", "/workspace/lpr_default_dataset/us_lp_characters")),
        Bad("garbage --network", lambda w: ["bundle", w.s("facemask.etlt"), "--network", "detectnet", *key("-o", w.s("b"))],
            ("detectnet",)),
        Bad("--plugins-library without --plugins taostream",
            lambda w: _bundle(w, *key("-o", w.s("b"), "--plugins-library", w.s("afile"))),
            ("--plugins-library", "add --plugins taostream")),
        Bad("missing --plugins-library",
            lambda w: _bundle(w, *key("-o", w.s("b"), "--plugins", "taostream", "--plugins-library", w.s("nope.so"))),
            ("nope.so", "no such file", "--plugins-library", "cmake")),
        Bad("folder-for-file --plugins-library",
            lambda w: _bundle(w, *key("-o", w.s("b"), "--plugins", "taostream", "--plugins-library", w.s("adir"))),
            ("adir", "is a folder", "--plugins-library")),
        Bad("a text file as --plugins-library",
            lambda w: _bundle(w, *key("-o", w.s("b"), "--plugins", "taostream", "--plugins-library", w.s("afile"))),
            ("afile", "not an ELF shared library")),
        Bad("garbage --plugins", lambda w: _bundle(w, *key("-o", w.s("b"), "--plugins", "trt")), ("--plugins", "trt")),
        Bad("missing --labels", lambda w: _bundle(w, *key("-o", w.s("b"), "--labels", w.s("nope.txt"))),
            ("nope.txt", "no such file", "--labels")),
        Bad("folder-for-file --labels", lambda w: _bundle(w, *key("-o", w.s("b"), "--labels", w.s("adir"))),
            ("adir", "is a folder", "--labels")),
        Bad("empty --labels", lambda w: _bundle(w, *key("-o", w.s("b"), "--labels", w.s("empty.txt"))),
            ("empty.txt", "--labels is empty")),
        # options of other networks' label rules would be ignored without a word (the user meant something else)
        Bad("--classmap for a detector", lambda w: _bundle(w, *key("-o", w.s("b"), "--classmap", w.s("afile"))),
            ("--classmap is for classification models only", "--network detectnet_v2", "drop it")),
        Bad("--annotations for a detector", lambda w: _bundle(w, *key("-o", w.s("b"), "--annotations", w.s("afile"))),
            ("--annotations is for MaskRCNN and EfficientDet models only", "drop it")),
        Bad("--tlt2-labels for DetectNet_v2", lambda w: _bundle(w, *key("-o", w.s("b"), "--tlt2-labels")),
            ("--tlt2-labels is for SSD, DSSD and RetinaNet models only", "drop it")),
        Bad("a model that is no image model (a [N, 67] policy net UFF)", lambda w: [
            "bundle", str(w.fixtures / "models" / "ppo_hil_fc.uff"), "--network", "detectnet_v2", "--spec", str(w.spec),
            "-o", w.s("b")], ("ppo_hil_fc.uff", "input_state_placeholder is [N, 67]", "not a TAO vision model")),
        Bad("UTF-16 --labels", lambda w: _bundle(w, *key("-o", w.s("b"), "--labels", w.s("utf16 labels.txt"))),
            ("utf16 labels.txt", "--labels is UTF-16", "save it as UTF-8")),
        Bad("latin-1 --labels", lambda w: _bundle(w, *key("-o", w.s("b"), "--labels", w.s("latin1 labels.txt"))),
            ("latin1 labels.txt", "not UTF-8 (byte 0xe4 on line 1)", "save it as UTF-8")),
        Bad("binary --labels", lambda w: _bundle(w, *key("-o", w.s("b"), "--labels", w.s("binary.txt"))),
            ("binary.txt", "--labels")),
        Bad("missing --calibrate-images",
            lambda w: _bundle(w, *key("-o", w.s("b")))[:-1] + ["int8", "--calibrate-images", w.s("nope")],
            ("nope", "no such folder", "--calibrate-images")),
        Bad("file-for-folder --calibrate-images",
            lambda w: _bundle(w, *key("-o", w.s("b")))[:-1] + ["int8", "--calibrate-images", w.s("afile")],
            ("afile", "is a file", "--calibrate-images")),
        Bad("empty --calibrate-images",
            lambda w: _bundle(w, *key("-o", w.s("b")))[:-1] + ["int8", "--calibrate-images", w.s("adir")],
            ("adir", "no JPEG/PNG/BMP images")),
        Bad("garbage --triton-gpu", lambda w: _bundle(w, *key("-o", w.s("b"), "--triton-gpu", "tensorrt")),
            ("--triton-gpu", "tensorrt", "onnx-trt")),
        *_folder_outputs(lambda w, out: _bundle(w, *key("-o", out))),
        *_key_files(lambda w: _bundle(w, "-o", w.s("b"))),
    ],
    "check": [
        Bad("missing config", lambda w: ["check", w.s("nope.txt")], ("nope.txt",)),
        Bad("folder without manifest", lambda w: ["check", w.s("adir")], ("adir", "manifest.json")),
        Bad("binary config", lambda w: ["check", w.s("binary.txt")], ("binary.txt",)),
        Bad("garbage --deepstream", lambda w: ["check", str(w.config), "--deepstream", "4.0"], ("4.0",)),
    ],
    "labels": [
        Bad("missing spec", lambda w: ["labels", w.s("nope.txt"), "--network", "detectnet_v2"], ("nope.txt",)),
        Bad("folder-for-file spec", lambda w: ["labels", w.s("adir"), "--network", "detectnet_v2"], ("adir", "is a folder")),
        Bad("binary spec", lambda w: ["labels", w.s("binary.txt"), "--network", "detectnet_v2"], ("binary.txt",)),
        Bad("truncated spec", lambda w: ["labels", w.s("truncated spec.txt"), "--network", "detectnet_v2"],
            ("truncated spec.txt",)),
        Bad("garbage --network", lambda w: ["labels", str(w.spec), "--network", "ssdd"], ("ssdd",)),
        Bad("output is the spec", lambda w: ["labels", w.s("bad value spec.txt"), "--network", "detectnet_v2", "-o",
                                             w.s("bad value spec.txt")], ("overwrite the input",)),
        *_file_outputs(lambda w, out: ["labels", str(w.spec), "--network", "detectnet_v2", "-o", out]),
    ],
    "infer": [
        Bad("missing bundle", lambda w: ["infer", w.s("nope"), w.s("images"), "-o", w.s("out")], ("nope",)),
        Bad("file-for-folder bundle", lambda w: ["infer", w.s("afile"), w.s("images"), "-o", w.s("out")], ("afile",)),
        Bad("missing input", lambda w: ["infer", w.s("bundle"), w.s("nope é.png"), "-o", w.s("out")], ("nope é.png",)),
        Bad("garbage image", lambda w: ["infer", w.s("bundle"), w.s("garbage.onnx"), "-o", w.s("out")], ("garbage.onnx",)),
        Bad("empty image, the only one", lambda w: ["infer", w.s("bundle"), w.s("empty photo.jpg"), "-o", w.s("out"), "-r",
                                                      "--no-progress"],
            ("no image could be read",)),
        Bad("output is the bundle", lambda w: ["infer", w.s("bundle"), w.s("images"), "-o", w.s("bundle"), "--force"],
            ("holds the input",)),
        *_folder_outputs(lambda w, out: ["infer", w.s("bundle"), w.s("images"), "-o", out, "--no-progress"]),
    ],
    "verify": [
        Bad("missing bundle", lambda w: ["verify", w.s("nope"), w.s("images")], ("nope",)),
        Bad("empty image, the only one", lambda w: ["verify", w.s("bundle"), w.s("empty photo.jpg"), "--recursive",
                                                      "--no-progress"],
            ("no image could be read",)),
        Bad("empty --onnx", lambda w: ["verify", w.s("bundle"), w.s("images"), "--onnx", w.s("empty.onnx")],
            ("empty.onnx", "empty")),
        Bad("garbage --onnx", lambda w: ["verify", w.s("bundle"), w.s("images"), "--onnx", w.s("garbage.onnx")],
            ("garbage.onnx", "not an ONNX model")),
        Bad("truncated --onnx", lambda w: ["verify", w.s("bundle"), w.s("images"), "--onnx", w.s("truncated.onnx")],
            ("truncated.onnx",)),
        Bad("another network's --onnx", lambda w: ["verify", w.s("bundle"), w.s("images"), "--onnx", w.s("ssd.onnx"),
                                                   "--no-progress"], ("ssd.onnx", "input_1")),
        Bad("folder-for-file --onnx", lambda w: ["verify", w.s("bundle"), w.s("images"), "--onnx", w.s("adir")],
            ("adir", "is a folder")),
        Bad("folder-for-file --json", lambda w: ["verify", w.s("bundle"), w.s("images"), "--json", w.s("adir")],
            ("adir", "is a folder")),
        Bad("unwritable --json", lambda w: ["verify", w.s("bundle"), w.s("images"), "--json", w.s("locked") + "/r.json"],
            ("locked", "cannot write")),
    ],
    "serve": [
        Bad("missing target", lambda w: ["serve", w.s("nope")], ("nope",)),
        Bad("file-for-folder target", lambda w: ["serve", w.s("afile")], ("afile",)),
        Bad("folder without models", lambda w: ["serve", w.s("adir")], ("adir",)),
    ],
    "deepstream-app": [
        Bad("missing bundle", lambda w: ["deepstream-app", w.s("nope"), "video.mp4", "-o", w.s("out")], ("nope",)),
        Bad("garbage --mux-size", lambda w: ["deepstream-app", w.s("bundle"), "v.mp4", "-o", w.s("out"), "--mux-size", "big"],
            ("--mux-size",)),
        Bad("bundle without SOURCE", lambda w: ["deepstream-app", w.s("bundle"), "-o", w.s("out")], ("give one SOURCE",)),
        Bad("garbage pipeline.json", lambda w: ["deepstream-app", _garbage_pipeline(w), "-o", w.s("out")],
            ("pipeline.json", "unreadable")),
    ],
    "evaluate": [
        Bad("missing dataset", lambda w: ["evaluate", w.s("nope é"), "--predictions", w.s("kitti/labels"), "--network",
                                          "detectnet_v2"], ("nope é",)),
        Bad("garbage dataset", lambda w: ["evaluate", w.s("garbage.onnx"), "--predictions", w.s("kitti/labels"),
                                          "--network", "detectnet_v2"], ("garbage.onnx",)),
        Bad("file-for-folder --predictions", lambda w: ["evaluate", w.s("kitti"), "--predictions", w.s("afile"),
                                                        "--network", "detectnet_v2"], ("afile",)),
        Bad("folder-for-file --spec", lambda w: ["evaluate", w.s("kitti"), "--predictions", w.s("kitti/labels"),
                                                 "--network", "detectnet_v2", "--spec", w.s("adir")], ("adir", "is a folder")),
        Bad("garbage --network", lambda w: ["evaluate", w.s("kitti"), "--predictions", w.s("kitti/labels"),
                                            "--network", "ssdd"], ("ssdd",)),
        Bad("missing --bundle", lambda w: ["evaluate", w.s("kitti"), "--bundle", w.s("nope")], ("nope",)),
        Bad("garbage --onnx", lambda w: ["evaluate", w.s("kitti"), "--bundle", w.s("bundle"), "--onnx",
                                         w.s("garbage.onnx")], ("garbage.onnx",)),
        Bad("folder-for-file --json", lambda w: ["evaluate", w.s("kitti"), "--bundle", w.s("bundle"), "--json",
                                                 w.s("adir")], ("adir", "is a folder")),
        Bad("unwritable --json", lambda w: ["evaluate", w.s("kitti"), "--bundle", w.s("bundle"), "--json",
                                            w.s("locked") + "/r.json"], ("locked", "cannot write")),
        Bad("file-for-folder --plots", lambda w: ["evaluate", w.s("kitti"), "--bundle", w.s("bundle"), "--plots",
                                                  w.s("afile")], ("afile", "is a file")),
    ],
    "migrate": [
        Bad("missing config", lambda w: ["migrate", w.s("nope é.txt"), "-o", w.s("m")], ("nope é.txt",)),
        Bad("folder-for-file config", lambda w: ["migrate", w.s("adir"), "-o", w.s("m")], ("adir",)),
        Bad("binary config", lambda w: ["migrate", w.s("binary.txt"), "-o", w.s("m")], ("binary.txt",)),
        Bad("config whose model is missing", lambda w: ["migrate", str(w.config), "-o", w.s("m")],
            ("tlt-encoded-model", "file not found")),
        *_folder_outputs(lambda w, out: ["migrate", str(w.config), "-o", out]),
        *_key_files(lambda w: ["migrate", str(w.config), "-o", w.s("m")]),
    ],
    "bench": [
        Bad("missing bundle", lambda w: ["bench", w.s("nope")], ("nope",)),
        Bad("file-for-folder bundle", lambda w: ["bench", w.s("afile")], ("afile",)),
        Bad("garbage --onnx", lambda w: ["bench", w.s("bundle"), "--onnx", w.s("garbage.onnx")], ("garbage.onnx",)),
        Bad("missing --images", lambda w: ["bench", w.s("bundle"), "--images", w.s("nope.png")], ("nope.png",)),
        Bad("folder-for-file --json", lambda w: ["bench", w.s("bundle"), "--json", w.s("adir")], ("adir", "is a folder")),
        Bad("unwritable --json", lambda w: ["bench", w.s("bundle"), "--json", w.s("locked") + "/r.json"],
            ("locked", "cannot write")),
        Bad("garbage --stability", lambda w: ["bench", w.s("bundle"), "--backend", "triton", "--stability", "-5"],
            ("--stability -5", "percentage")),
    ],
    "pipeline": [
        Bad("missing --primary", lambda w: ["pipeline", "-o", w.s("app"), "--primary", w.s("nope é")], ("nope é",)),
        Bad("file-for-folder --primary", lambda w: ["pipeline", "-o", w.s("app"), "--primary", w.s("afile")], ("afile",)),
        Bad("garbage --secondary", lambda w: ["pipeline", "-o", w.s("app"), "--primary", w.s("bundle"), "--secondary",
                                              w.s("bundle") + ":min-size=big"], ("min-size=big",)),
        Bad("output is the primary", lambda w: ["pipeline", "-o", w.s("bundle"), "--primary", w.s("bundle"), "--force",
                                                "--copy"], ("holds the input",)),
        Bad("folder without manifest --secondary", lambda w: ["pipeline", "-o", w.s("app"), "--primary", w.s("bundle"),
                                                             "--secondary", w.s("adir")], ("adir", "manifest.json")),
        Bad("class the primary lacks", lambda w: ["pipeline", "-o", w.s("app"), "--primary", w.s("bundle"),
                                                 "--secondary", w.s("bundle") + ":classes=truck"], ("truck", "mask, no-mask")),
        Bad("garbage --source", lambda w: ["pipeline", "-o", w.s("app"), "--primary", w.s("bundle"), "--source",
                                          "ftp://x/y"], ("ftp://x/y",)),
        Bad("secondary DetectNet_v2 clustering unlike the primary's", lambda w: [
            "pipeline", "-o", w.s("app"), "--primary", w.s("bundle"), "--secondary", w.s("bundle nms") + ":classes=mask"],
            ("bundle nms", "mode=dbscan_nms", "one taostream_parser.env setting per process")),
        Bad("two LPRNet secondaries with different character lists", lambda w: [
            "pipeline", "-o", w.s("app"), "--primary", w.s("bundle nms"), "--secondary", w.s("bundle lpr"),
            "--secondary", w.s("bundle lpr other")],
            ("bundle lpr other", "TAOSTREAM_LPR_DICT", "the same characters_list_file")),
        Bad("nvsort before 6.2", lambda w: ["pipeline", "-o", w.s("app"), "--primary", w.s("bundle"), "--tracker",
                                           "nvsort", "--deepstream", "6.1"], ("NvSORT", "6.2")),
        Bad("garbage --deepstream", lambda w: ["pipeline", "-o", w.s("app"), "--primary", w.s("bundle"), "--deepstream",
                                              "4.0"], ("4.0",)),
        *_folder_outputs(lambda w, out: ["pipeline", "-o", out, "--primary", w.s("bundle")]),
    ],
    "plugins check": [
        Bad("folder-for-file --json", lambda w: ["plugins", "check", "--json", w.s("adir")], ("adir", "is a folder")),
        Bad("--json under a file", lambda w: ["plugins", "check", "--json", w.s("afile") + "/r.json"],
            ("afile is a file",)),
        Bad("unwritable --json", lambda w: ["plugins", "check", "--json", w.s("locked") + "/r.json"],
            ("locked", "cannot write")),
    ],
    "dataset check": [
        Bad("missing dataset", lambda w: ["dataset", "check", w.s("nope")], ("nope",)),
        Bad("file-for-folder dataset", lambda w: ["dataset", "check", w.s("afile")], ("afile",)),
        Bad("folder-for-file --spec", lambda w: ["dataset", "check", w.s("kitti"), "--spec", w.s("adir")],
            ("adir", "is a folder")),
        Bad("folder-for-file --sequence-map", lambda w: ["dataset", "check", w.s("kitti"), "--sequence-map", w.s("adir")],
            ("adir",)),
        Bad("garbage --network", lambda w: ["dataset", "check", w.s("kitti"), "--network", "ssdd"], ("ssdd",)),
    ],
    "spec get": [
        Bad("missing spec", lambda w: ["spec", "get", w.s("nope.txt")], ("nope.txt",)),
        Bad("folder-for-file spec", lambda w: ["spec", "get", w.s("adir")], ("adir", "is a folder")),
        Bad("binary spec", lambda w: ["spec", "get", w.s("binary.txt")], ("binary.txt",)),
        Bad("truncated spec", lambda w: ["spec", "get", w.s("truncated spec.txt")], ("truncated spec.txt",)),
        Bad("unknown field", lambda w: ["spec", "get", str(w.spec), "training_config.nope"], ("training_config.nope",)),
    ],
    "spec set": [
        Bad("missing spec", lambda w: ["spec", "set", w.s("nope.txt"), "a.b", "1"], ("nope.txt",)),
        Bad("folder-for-file spec", lambda w: ["spec", "set", w.s("adir"), "a.b", "1"], ("adir", "is a folder")),
        Bad("garbage value", lambda w: ["spec", "set", str(w.spec), "training_config.num_epochs", "many", "-o",
                                        w.s("s.txt")], ("many",)),
        Bad("folder-for-file output", lambda w: ["spec", "set", str(w.spec), "training_config.num_epochs", "3", "-o",
                                                 w.s("adir")], ("adir", "is a folder")),
        Bad("unwritable output", lambda w: ["spec", "set", str(w.spec), "training_config.num_epochs", "3", "-o",
                                            w.s("locked") + "/s.txt"], ("locked", "cannot write")),
        Bad("misspelt field", lambda w: ["spec", "set", str(w.spec), "training_config.num_epoch", "3", "-o",
                                         w.s("s.txt")], ("num_epoch'", "did you mean training_config.num_epochs?")),
    ],
    **{f"tao {task}": _key_files(_tao(task, *args)) for task, args in _TAO_KEYED.items()},
    "tao dataset_convert": [
        Bad("garbage --validation_fold", _tao("dataset_convert", "-d", "s.txt", "-o", "r", "--validation_fold", "x"),
            ("--validation_fold",)),
    ],
    "tao calibration_tensorfile": [
        Bad("garbage --max_batches", _tao("calibration_tensorfile", "-e", "s.txt", "-o", "t", "-m", "ten"),
            ("--max_batches",)),
    ],
    "azureml train": [
        Bad("folder-for-file --key-file", lambda w: [
            "azureml", "train", "--model_app_name", "m", "--num_epochs", "1", "--training_data_dir", "/d",
            "--specfile_reference_training_data_dir", "/r", "--training_tf_records_dir", "/t",
            "--specfile_reference_training_tf_records_dir", "/rt", "--base_model_dir", "/b",
            "--specfile_reference_model_dir", "/rm", "--original_specs", str(w.spec.parent), "--specs_file",
            DETECTNET_SPEC, "--trained_model_dir", w.s("trained"), "--key-file", w.s("adir"), "--dry-run"],
            ("adir",)),
    ],
    "azureml train-plain": [
        Bad("folder-for-file --key-file", lambda w: [
            "azureml", "train-plain", "--key-file", w.s("adir"), "--dry-run"], ()),
    ],
    "azureml export": [
        Bad("binary --key-file", lambda w: ["azureml", "export", "--key-file", w.s("binary.key"), "--dry-run"], ()),
    ],
    "tao-mounts": [
        Bad("garbage --mount", lambda w: ["tao-mounts", "--mount", "nocolon", "-o", w.s("m.json")], ("nocolon",)),
        Bad("folder-for-file output", lambda w: ["tao-mounts", "--mount", f"{w.root}:/w", "-o", w.s("adir")],
            ("adir", "is a folder")),
        Bad("unwritable output", lambda w: ["tao-mounts", "--mount", f"{w.root}:/w", "-o", w.s("locked") + "/m.json"],
            ("locked", "cannot write")),
    ],
}


def leaf_commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    """Every runnable subcommand, nested ones as "dataset check"."""
    leaves = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                leaves |= leaf_commands(sub, f"{prefix}{name} ") or {f"{prefix}{name}"}
    return leaves


def test_every_subcommand_has_rows():
    commands = leaf_commands(build_parser())
    assert commands, "no subcommands found"
    missing = sorted(c for c in commands if not TABLE.get(c))
    assert not missing, f"add rows to TABLE in tests/test_bad_inputs.py for: {', '.join(missing)}"
    stale = sorted(set(TABLE) - commands)
    assert not stale, f"TABLE rows for commands that no longer exist: {', '.join(stale)}"


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _check_error(code: int, out: str, err: str, says: tuple[str, ...]) -> None:
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert "Traceback" not in err + out
    assert lines and len(lines) <= 3, err
    assert "error:" in lines[-1], err
    for fragment in says:
        assert fragment in lines[-1], (fragment, err)
    assert SECRET not in out + err


ROWS = [pytest.param(command, bad, id=f"{command}: {bad.label}") for command, rows in TABLE.items() for bad in rows]


@pytest.mark.parametrize("command,bad", ROWS)
def test_bad_input(command, bad, ws, capsys, monkeypatch):
    if "locked" in " ".join(map(str, bad.argv(ws))) and not ws.unwritable:
        pytest.skip("cannot make a folder unwritable here (root without chattr)")
    monkeypatch.delenv("TAOSTREAM_KEY", raising=False)
    monkeypatch.chdir(ws.root / "adir")  # `-o .` rows point at a folder that must survive
    before = _tree(ws.root)
    try:
        code = main([str(a) for a in bad.argv(ws)])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    _check_error(code, out, err, bad.says)
    assert _tree(ws.root) == before, "the command left files behind or removed some"


# The same rows through the real command line: what a user's terminal shows.
END_TO_END = ["decode: output under a file", "encode: folder-for-file output", "bundle: folder-for-file --spec",
              "inspect: binary --key-file", "infer: current folder --force", "labels: binary spec"]


@pytest.mark.parametrize("row_id", END_TO_END)
def test_bad_input_end_to_end(row_id, ws):
    command, label = row_id.split(": ", 1)
    bad = next(b for b in TABLE[command] if b.label == label)
    before = _tree(ws.root)
    result = run_cli(*bad.argv(ws), cwd=ws.root / "adir")
    _check_error(result.returncode, result.stdout, result.stderr, bad.says)
    assert _tree(ws.root) == before
