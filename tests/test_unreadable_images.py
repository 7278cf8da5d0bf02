"""A folder of images as users hold them: a few files in it cannot be read (a JPEG or PNG cut short by an
interrupted copy, an empty file, a text file named .jpg, a file this user may not read). `infer` and
`verify` name each one on stderr (file and why), go on with the rest and end with one summary line;
exit status 2 only when no image at all could be read. `evaluate` stops at one, saying why (a skipped
image would change the score). Before, every command stopped at the first bad file. Subfolders are read
with --recursive only (TAO's inference reads a flat image_dir); outputs then keep the subfolder paths."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from cli_support import sample_bundle
from taostream.cli import main

WARNING = "taostream: warning: "


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return sample_bundle(tmp_path_factory.mktemp("unreadable"), "detectnet_v2")


def _photo(seed: int) -> np.ndarray:
    photo = np.random.default_rng(seed).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    cv2.rectangle(photo, (30, 20), (110, 90), (255, 255, 255), -1)
    return photo


def _folder(root):
    """ROOT/images: two readable photos, four that are not; returns (folder, {bad name: reason})."""
    folder = root / "images"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_good.jpg"), _photo(1))
    cv2.imwrite(str(folder / "b_good.png"), _photo(2))
    jpeg, png = cv2.imencode(".jpg", _photo(3))[1].tobytes(), cv2.imencode(".png", _photo(4))[1].tobytes()
    (folder / "cut.jpg").write_bytes(jpeg[:len(jpeg) // 2])
    (folder / "cut.png").write_bytes(png[:len(png) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("camera 3, Tuesday\n")
    reasons = {"cut.jpg": "a JPEG cut short", "cut.png": "a PNG cut short", "empty.jpg": "the file is empty (0 bytes)",
               "notes.jpg": "its content is not an image"}
    return folder, reasons


def _warnings(err: str) -> list[str]:
    return [line[len(WARNING):] for line in err.splitlines() if line.startswith(WARNING)]


def _assert_named(warnings: list[str], folder, reasons: dict) -> None:
    for name, why in reasons.items():
        [line] = [w for w in warnings if w.startswith(f"{folder / name}: ")]
        assert f"not an image OpenCV can read: {why}" in line and line.endswith("; skipped")


def test_infer_names_each_unreadable_image_and_writes_the_rest(bundle, tmp_path, capsys):
    folder, reasons = _folder(tmp_path)
    out = tmp_path / "out"
    assert main(["infer", str(bundle), str(folder), "-o", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    warnings = _warnings(captured.err)
    _assert_named(warnings, folder, reasons)
    assert warnings[-1] == "6 images, 4 unreadable, skipped (each named above)"
    assert len(warnings) == 5
    assert "libpng" not in captured.err and "Corrupt JPEG" not in captured.err  # the decoders' own lines
    assert f"wrote {out}: 2 images" in captured.out
    data = json.loads((out / "results.json").read_text())
    assert [record["source"] for record in data["images"]] == [str(folder / "a_good.jpg"), str(folder / "b_good.png")]
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["a_good.txt", "b_good.txt"]
    for name, shape in (("a_good", (120, 160, 3)), ("b_good", (120, 160, 3))):
        assert cv2.imread(str(out / "images" / f"{name}.jpg")).shape == shape


def test_infer_with_no_readable_image_is_exit_2_and_writes_nothing(bundle, tmp_path, capsys):
    folder, reasons = _folder(tmp_path)
    for good in ("a_good.jpg", "b_good.png"):
        (folder / good).unlink()
    out = tmp_path / "out"
    assert main(["infer", str(bundle), str(folder), "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    _assert_named(_warnings(err), folder, reasons)
    assert "taostream: error: no image could be read (4 images given, each named above)" in err
    assert "Traceback" not in err
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway, so it is not unreadable here")
def test_infer_skips_an_image_this_user_may_not_read(bundle, tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_good.jpg"), _photo(1))
    locked = folder / "locked.jpg"
    cv2.imwrite(str(locked), _photo(2))
    locked.chmod(0)
    try:
        assert main(["infer", str(bundle), str(folder), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    finally:
        locked.chmod(0o644)
    warnings = _warnings(capsys.readouterr().err)
    assert warnings == [f"{locked}: cannot read the image (Permission denied); skipped",
                        "2 images, 1 unreadable, skipped (each named above)"]


def test_subfolders_are_read_with_recursive_and_named_without_it(bundle, tmp_path, capsys):
    root = tmp_path / "camera"
    (root / "day1").mkdir(parents=True)
    (root / "day2").mkdir()
    (root / ".ipynb_checkpoints").mkdir()
    cv2.imwrite(str(root / "day1" / "frame.jpg"), _photo(1))
    cv2.imwrite(str(root / "day2" / "frame.jpg"), _photo(2))  # the same name in another subfolder
    cv2.imwrite(str(root / ".ipynb_checkpoints" / "frame.jpg"), _photo(3))
    out = tmp_path / "out"
    assert main(["infer", str(bundle), str(root), "-o", str(out), "--no-progress"]) == 2
    assert (f"{root}: folder has no images" in (err := capsys.readouterr().err)
            and "its 2 subfolders (day1, day2) are not read without --recursive" in err)
    assert main(["infer", str(bundle), str(root), "-o", str(out), "--no-progress", "--recursive"]) == 0
    data = json.loads((out / "results.json").read_text())
    assert [r["source"] for r in data["images"]] == [str(root / "day1/frame.jpg"), str(root / "day2/frame.jpg")]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.txt")) == ["labels/day1/frame.txt",
                                                                         "labels/day2/frame.txt"]
    assert (out / "images/day2/frame.jpg").is_file()


def test_verify_compares_the_readable_images_and_counts_the_others(bundle, tmp_path, capsys):
    folder, reasons = _folder(tmp_path)
    report = tmp_path / "report.json"
    code = main(["verify", str(bundle), str(folder), "--no-progress", "--json", str(report), "--threshold", "0"])
    captured = capsys.readouterr()
    _assert_named(_warnings(captured.err), folder, reasons)
    assert "4 unreadable images skipped on both sides, not compared (each named above)" in captured.out
    data = json.loads(report.read_text())
    assert code == (0 if data["passed"] else 1)
    assert data["totals"]["images"] == 2 and data["totals"]["unreadable_images"] == 4
    assert data["unreadable"] == [str(folder / name) for name in sorted(reasons)]
    for name in reasons:
        (folder / name).unlink()
    for good in ("a_good.jpg", "b_good.png"):
        (folder / good).write_bytes(b"")
    assert main(["verify", str(bundle), str(folder), "--no-progress"]) == 2
    assert "no image could be read (2 images given, each named above)" in capsys.readouterr().err


def test_evaluate_stops_at_an_unreadable_dataset_image_saying_why(bundle, tmp_path, capsys):
    dataset = tmp_path / "dataset"
    (dataset / "images").mkdir(parents=True)
    (dataset / "labels").mkdir()
    cv2.imwrite(str(dataset / "images/000001.jpg"), _photo(1))
    (dataset / "images/000002.jpg").write_bytes(b"")
    for name in ("000001", "000002"):
        (dataset / f"labels/{name}.txt").write_text("car 0.00 0 0.00 30 20 110 90 0 0 0 0 0 0 0\n")
    assert main(["evaluate", str(dataset), "--bundle", str(bundle), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert (f"taostream: error: {dataset / 'images/000002.jpg'}: not an image OpenCV can read: the file is empty "
            "(0 bytes)") in err
    assert "evaluate scores every image of the dataset (a skipped one would change the score)" in err
    assert "Traceback" not in err
