"""CMake configuration of the parser library: a DeepStream 9 SDK (found through its version file
under DEEPSTREAM_ROOT) switches NvDsInferObjectDetectionInfo to the 28-byte layout with
rotation_angle, and the parsers still fill every field correctly in that layout."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from taostream.converter import native_build
from taostream.parsers import build
from taostream.parsers import reference as ref
from taostream.parsers.native import NativeParsers

from parsers_support import assert_same_detections, nms7_outputs

DS9_BUILD_DIR = build.REPO_ROOT / "build-parsers-ds9"
# The checkout's build the refresh test makes stale; only that test builds (into its -ds9 variant) or reads it.
REFRESH_BUILD_DIR = build.REPO_ROOT / "build-parsers-refresh"


def test_deepstream9_version_file_selects_rotation_angle_layout():
    fake_sdk = DS9_BUILD_DIR / "fake-deepstream"  # only the version file, no headers
    fake_sdk.mkdir(parents=True, exist_ok=True)
    (fake_sdk / "version").write_text("Version: 9.0\n")
    build.configure(DS9_BUILD_DIR, cmake_args=(f"-DDEEPSTREAM_ROOT={fake_sdk}", "-DTAOSTREAM_PARSERS_FUZZ=OFF"))
    build.build_targets(DS9_BUILD_DIR, ("nvds_infercustomparser_taostream", "taostream_parser_harness"))
    native = NativeParsers(DS9_BUILD_DIR / "parsers" / build.LIBRARY_NAME, DS9_BUILD_DIR / "parsers" / build.HARNESS_NAME)
    assert native.abi_layout()["sizeof_object_detection_info"] == 28
    rows, keep = nms7_outputs(np.random.default_rng(2), 50, 30, 3)
    params = ref.DecodeParams.uniform(3, 0.3)
    got = native.parse("NvDsInferParseCustomNMSTLT", {"NMS": rows, "NMS_1": keep}, 640, 480, 3, [0.3] * 3)
    assert_same_detections(got, ref.decode_nms7(rows, keep, 640, 480, params))


def test_bundle_ships_a_parser_library_brought_up_to_date_with_the_sources(tmp_path, monkeypatch):
    """A checkout updated after its last build (here: the built library older than its objects and
    damaged, as a library built from older sources is to a bundle) is rebuilt incrementally before
    `taostream bundle` copies it: the bundle's library loads and exports every parser, and check passes.
    Before, the stale library was shipped and the bundle's own check failed (a parser not exported).
    The damaged build is this test's own (REFRESH_BUILD_DIR and its -ds9 variant, which the first
    bundle builds once): other pytest-xdist workers load and ship build/'s and build-ds9's libraries."""
    import os

    from taostream.cli import main
    from taostream.deepstream_configs.bundle import make
    from taostream.deepstream_configs.elf_symbols import exported_functions

    monkeypatch.delenv(build.LIBRARY_ENV, raising=False)
    for module in (build, make):
        monkeypatch.setattr(module, "DEFAULT_BUILD_DIR", REFRESH_BUILD_DIR)
    sample = tmp_path / "sample"
    assert main(["sample", "--network", "detectnet_v2", "-o", str(sample), "--force"]) == 0
    first = tmp_path / "first"
    args = ["bundle", str(sample / "model.etlt"), "--network", "detectnet_v2", "--spec", str(sample / "spec.txt"),
            "--key", "nvidia_tlt", "--deepstream", "9.0"]
    assert main([*args, "-o", str(first)]) == 0
    shipped = first / "lib" / build.LIBRARY_NAME
    exports = set(exported_functions(shipped))
    assert "NvDsInferParseCustomDetectNetV2TAO" in exports
    # the build the bundle copied from: made stale (older than its objects) and damaged
    source = next(path for path in (build.DEFAULT_BUILD_DIR, Path(f"{build.DEFAULT_BUILD_DIR}-ds9"))
                  if (path / "parsers" / build.LIBRARY_NAME).is_file()
                  and (path / "parsers" / build.LIBRARY_NAME).read_bytes() == shipped.read_bytes())
    library = source / "parsers" / build.LIBRARY_NAME
    damaged = library.with_name(library.name + ".damaged")  # a new file renamed over it: a process that
    damaged.write_bytes(library.read_bytes()[:4096])        # has the library loaded keeps its own copy
    os.utime(damaged, (0, 0))
    os.replace(damaged, library)
    monkeypatch.setattr(native_build, "_UP_TO_DATE", set())  # a new process: nothing refreshed yet
    second = tmp_path / "second"
    assert main([*args, "-o", str(second)]) == 0
    assert set(exported_functions(second / "lib" / build.LIBRARY_NAME)) == exports
    assert main(["check", str(second)]) == 0


# One CMake run in a build folder, as build_targets holds it: the lock re-entered (configure inside the
# build), "start"/"end" written around a half-second step. Both processes wait at a barrier first, so
# without the lock they would run that step at the same time.
_BUILDER = """
import sys, time
from pathlib import Path
from taostream.converter.native_build import build_folder_lock
folder, log, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
(log.parent / f"ready-{name}").touch()
while not (log.parent / "go").exists():
    time.sleep(0.005)
with build_folder_lock(folder):
    with build_folder_lock(folder):
        with log.open("a") as out:
            out.write(f"start {name}\\n")
        time.sleep(0.5)
        with log.open("a") as out:
            out.write(f"end {name}\\n")
"""


def test_two_processes_building_one_folder_take_turns(tmp_path):
    """Two pytest-xdist workers (or two `taostream bundle` runs) building the same folder: the second
    waits for the first's whole configure + build (native_build.build_folder_lock), both succeed."""
    folder, log = tmp_path / "build", tmp_path / "log"
    processes = [subprocess.Popen([sys.executable, "-c", _BUILDER, str(folder), str(log), name]) for name in "ab"]
    try:
        while not all((tmp_path / f"ready-{name}").exists() for name in "ab"):
            assert all(process.poll() is None for process in processes), "a builder died before the barrier"
            time.sleep(0.005)
        (tmp_path / "go").touch()
        assert [process.wait(timeout=60) for process in processes] == [0, 0]
    finally:
        for process in processes:
            process.kill()
    steps = log.read_text().split("\n")[:-1]
    first, second = steps[0].split()[1], "b" if steps[0].endswith("a") else "a"
    assert steps == [f"start {first}", f"end {first}", f"start {second}", f"end {second}"]
    assert (folder / native_build.LOCK_NAME).is_file()
