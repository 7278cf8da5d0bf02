"""`taostream dataset check`: a generated KITTI set with planted defects; each must be found at its
file and line, and a clean set must pass with exact per-class counts."""

from __future__ import annotations

import json
import struct
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from taostream.cli import main as taostream_main
from taostream.training.dataset_check import DatasetLayoutError, check_kitti_dataset
from taostream.training.image_headers import ImageHeaderError, read_image_info


def encode(width: int, height: int, ext: str = ".jpg", channels: int = 3, progressive: bool = False) -> bytes:
    shape = (height, width) if channels == 1 else (height, width, channels)
    params = [cv2.IMWRITE_JPEG_PROGRESSIVE, 1] if progressive else []
    ok, data = cv2.imencode(ext, np.full(shape, 90, np.uint8), params)
    assert ok
    return data.tobytes()


def kitti_line(name: str, box=(10, 20, 110, 120), occlusion="0", truncation="0.00") -> str:
    x1, y1, x2, y2 = box
    return f"{name} {truncation} {occlusion} 0.00 {x1} {y1} {x2} {y2} 0.00 0.00 0.00 0.00 0.00 0.00 0.00"


class KittiSet:
    """A dataset writer that remembers what it wrote (the oracle for counts)."""

    def __init__(self, root: Path, width: int = 480, height: int = 272):
        self.root = root
        (root / "images").mkdir(parents=True)
        (root / "labels").mkdir()
        self.jpeg = encode(width, height)
        self.counts: Counter = Counter()

    def add(self, image_id: str, lines: list[str], image: bytes | None = None, ext: str = ".jpg") -> None:
        (self.root / "images" / f"{image_id}{ext}").write_bytes(self.jpeg if image is None else image)
        self.label(image_id, lines)

    def label(self, image_id: str, lines: list[str]) -> None:
        (self.root / "labels" / f"{image_id}.txt").write_text("".join(line + "\n" for line in lines))
        for line in lines:
            if is_object_line(line):
                self.counts[line.split()[0]] += 1


def is_object_line(line: str) -> bool:
    """An object counts when its line is well-formed: 15 fields, all but the class finite numbers."""
    fields = line.split()
    if len(fields) != 15 or fields[0].lower() == "dontcare":
        return False
    try:
        return all(np.isfinite(float(value)) for value in fields[1:])
    except ValueError:
        return False


def clean_set(root: Path) -> KittiSet:
    data = KittiSet(root)
    for index in range(6):
        data.add(f"{index:06d}", [kitti_line("car"), kitti_line("pedestrian", (200, 50, 260, 200))])
    data.add("000006", [kitti_line("cyclist", (0, 0, 480, 272))])  # a box touching every edge is inside
    data.add("000007", [kitti_line("DontCare", (300, 100, 350, 150), occlusion="-1", truncation="-1")])
    return data


def issues_of(report) -> set[tuple[str, int | None, str]]:
    return {(i.path, i.line, i.severity) for i in report.issues}


def find(report, path: str, line: int | None = None, text: str = "") -> list:
    return [i for i in report.issues if i.path == path and i.line == line and text in i.message]


def test_clean_set_passes_with_exact_counts(tmp_path):
    data = clean_set(tmp_path / "ds")
    report = check_kitti_dataset(data.root, network="detectnet_v2")
    assert report.ok, [str(i) for i in report.issues]
    assert report.images == 8 and report.labels == 8
    assert report.class_counts == data.counts == Counter({"car": 6, "pedestrian": 6, "cyclist": 1})
    assert report.objects == 13 and report.dontcare == 1
    assert dict(report.image_sizes) == {(480, 272): 8}
    assert find(report, "labels/000007.txt", None, "no objects")  # only DontCare: a warning


def test_each_planted_label_defect_is_found_at_its_line(tmp_path):
    data = clean_set(tmp_path / "ds")
    data.add("000100", [kitti_line("car"), "car 0.00 0 0.00 10 20 110 120 0.00 0.00 0.00 0.00 0.00 0.00"])
    data.add("000101", [kitti_line("car"), kitti_line("car").replace(" 10 20 ", " abc 20 ")])
    data.add("000102", [kitti_line("car", occlusion="5"), kitti_line("car", occlusion="1.5")])
    data.add("000103", [kitti_line("car", (110, 20, 110, 120)), kitti_line("car", (10, 130, 110, 120))])
    data.add("000104", [kitti_line("car", (400, 20, 481, 120)), kitti_line("car", (10, 20, 110, 300))])
    data.add("000105", [kitti_line("car", (-1, 20, 110, 120)), kitti_line("car", (10, 20, 110, 120)).replace(
        " 0.00 0.00 0.00 0.00 0.00 0.00 0.00", " 0.00 0.00 0.00 0.00 0.00 0.00 nan")])
    report = check_kitti_dataset(data.root)
    assert find(report, "labels/000100.txt", 2, "14 fields, KITTI needs 15")
    assert find(report, "labels/000101.txt", 2, "xmin 'abc' is not a number")
    assert find(report, "labels/000102.txt", 1, "occlusion '5' must be an integer 0-3")
    assert find(report, "labels/000102.txt", 2, "occlusion '1.5' must be an integer 0-3")
    assert find(report, "labels/000103.txt", 1, "xmin 110 must be < xmax 110")
    assert find(report, "labels/000103.txt", 2, "ymin 130 must be < ymax 120")
    assert find(report, "labels/000104.txt", 1, "leaves the 480x272 image")
    assert find(report, "labels/000104.txt", 2, "leaves the 480x272 image")
    assert find(report, "labels/000105.txt", 1, "negative coordinate")
    assert find(report, "labels/000105.txt", 2, "rotation_y 'nan' is not finite")
    assert not find(report, "labels/000100.txt", 1)  # the good line before a bad one is fine
    assert len(report.errors) == 10
    assert report.class_counts == data.counts


def test_layout_defects(tmp_path):
    data = clean_set(tmp_path / "ds")
    (data.root / "images" / "000200.jpg").write_bytes(data.jpeg)  # no label
    (data.root / "labels" / "orphan.txt").write_text(kitti_line("car") + "\n")  # no image
    (data.root / "images" / "000001.png").write_bytes(encode(480, 272, ".png"))  # duplicate id
    (data.root / "images" / "000300.jpg").write_bytes(b"not an image at all")
    data.label("000300", [kitti_line("car")])
    data.add("000301", [kitti_line("car")], image=encode(640, 368))  # another size
    (data.root / "images" / "notes.md").write_text("x")
    (data.root / "labels" / "000302.txt").write_bytes(b"car \xff\xfe 0 0\n")
    (data.root / "images" / "000302.jpg").write_bytes(data.jpeg)
    report = check_kitti_dataset(data.root)
    assert find(report, "images/000200.jpg", None, "no label file labels/000200.txt")
    assert find(report, "labels/orphan.txt", None, "no image images/orphan")
    assert [i for i in report.errors if "share the id '000001'" in i.message]
    assert find(report, "images/000300.jpg", None, "unreadable image: neither a PNG nor a JPEG")
    assert find(report, "images/000301.jpg", None, "size 640x368 differs from the dataset's 480x272")
    assert find(report, "images/notes.md", None, "not a .jpg/.jpeg/.png")
    assert find(report, "labels/000302.txt", None, "not UTF-8")


def test_network_input_constraints(tmp_path):
    data = KittiSet(tmp_path / "ds", width=500, height=300)
    data.add("a", [kitti_line("car")])
    data.add("b", [kitti_line("car")], image=encode(500, 300, ".png", channels=4), ext=".png")
    assert check_kitti_dataset(data.root).ok  # no network: any single size is fine
    report = check_kitti_dataset(data.root, network="DetectNet_v2")
    assert find(report, "images/a.jpg", None, "multiples of 16")
    [rgba] = find(report, "images/b.png", None, "channels must be 1 or 3")
    assert "500x300x4" in rgba.message
    small = KittiSet(tmp_path / "small", width=464, height=256)
    small.add("a", [kitti_line("car", (1, 1, 20, 20))])
    [issue] = check_kitti_dataset(small.root, network="dnv2").errors
    assert "width must be >= 480" in issue.message and "height must be >= 272" in issue.message


def test_class_name_case(tmp_path):
    data = clean_set(tmp_path / "ds")
    data.add("000400", [kitti_line("Car"), kitti_line("Road_Sign")])
    report = check_kitti_dataset(data.root)
    assert report.ok  # case problems are warnings: dataset_convert still runs
    messages = [w.message for w in report.warnings]
    assert any("Car, car differ only in case" in m and "merge into 'car'" in m for m in messages)
    assert any("'Road_Sign' is not lower-case" in m and "'road_sign'" in m for m in messages)
    assert report.class_counts["Car"] == 1 and report.class_counts["car"] == 6


def test_sequence_map(tmp_path):
    data = clean_set(tmp_path / "ds")
    seq = data.root / "kitti_seq_to_map.json"
    seq.write_text('{\n  "drive_1": ["000000", "000001"],\n  "drive_2": ["000001",\n    "999999"]\n}\n')
    report = check_kitti_dataset(data.root)  # found in the dataset root by default
    assert find(report, "kitti_seq_to_map.json", 3, "frame '000001' is listed in 'drive_1' and 'drive_2'")
    assert find(report, "kitti_seq_to_map.json", 4, "frame '999999' of sequence 'drive_2' has no image")
    assert find(report, "kitti_seq_to_map.json", None, "6 images are in no sequence")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "drive_1": ["000000",]\n}\n')
    report = check_kitti_dataset(data.root, sequence_map=broken)
    [issue] = [i for i in report.errors if i.path == str(broken)]
    assert issue.line == 2 and "not valid JSON" in issue.message


def test_unusable_folders_raise(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no such dataset folder"):
        check_kitti_dataset(tmp_path / "missing")
    (tmp_path / "only_images" / "images").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError, match="no 'labels/' folder"):
        check_kitti_dataset(tmp_path / "only_images")


def test_cli_json_and_exit_codes(tmp_path, capsys):
    data = clean_set(tmp_path / "ds")
    assert taostream_main(["dataset", "check", str(data.root), "--network", "detectnet_v2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["class_counts"] == {"car": 6, "cyclist": 1, "pedestrian": 6}
    data.add("bad", [kitti_line("car", occlusion="7")])
    assert taostream_main(["dataset", "check", str(data.root)]) == 1
    text = capsys.readouterr().out
    assert "labels/bad.txt:1: error: occlusion '7' must be an integer 0-3" in text
    assert taostream_main(["dataset", "check", str(tmp_path / "nope")]) == 2


# ---- image headers against OpenCV's decoder -------------------------------------------------------
@pytest.mark.parametrize("ext, channels, progressive", [
    (".jpg", 3, False), (".jpg", 1, False), (".jpg", 3, True), (".png", 3, False), (".png", 1, False),
    (".png", 4, False),
])
def test_header_sizes_match_decoded_images(tmp_path, ext, channels, progressive):
    path = tmp_path / f"img{ext}"
    path.write_bytes(encode(333, 127, ext, channels, progressive))
    info = read_image_info(str(path))
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert (info.height, info.width) == decoded.shape[:2]
    assert info.channels == (decoded.shape[2] if decoded.ndim == 3 else 1)


def test_jpeg_with_exif_segment_before_the_frame(tmp_path):
    jpeg = encode(200, 100)
    exif = b"\xff\xe1" + struct.pack(">H", 2 + 300) + b"Exif\x00\x00" + bytes(294)
    path = tmp_path / "exif.jpg"
    path.write_bytes(jpeg[:2] + exif + jpeg[2:])
    assert cv2.imread(str(path)).shape[:2] == (100, 200)
    info = read_image_info(str(path))
    assert (info.width, info.height, info.channels) == (200, 100, 3)


def test_truncated_headers_raise(tmp_path):
    jpeg = encode(200, 100)
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg[:40])
    with pytest.raises(ImageHeaderError):
        read_image_info(str(path))
    path.write_bytes(encode(20, 10, ".png")[:20])
    with pytest.raises(ImageHeaderError):
        read_image_info(str(path))


def test_mixed_image_extensions_warn(tmp_path):
    data = clean_set(tmp_path / "ds")
    data.add("000500", [kitti_line("car")], image=encode(480, 272, ".png"), ext=".png")
    report = check_kitti_dataset(data.root)
    assert report.ok
    [warning] = [w for w in report.warnings if w.path == "images/"]
    assert ".jpg: 8, .png: 1" in warning.message and "image_extension" in warning.message


def test_spec_class_mapping_against_the_dataset(tmp_path, fixtures_dir):
    data = clean_set(tmp_path / "ds")
    data.add("000600", [kitti_line("Mask"), kitti_line("no-mask")])
    spec = fixtures_dir / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt"
    report = check_kitti_dataset(data.root, spec=spec)
    assert report.ok  # the facemask keys are lower-case; "Mask" becomes "mask" in the TFRecords
    unmapped = [w for w in report.warnings if w.path == str(spec) and "not in target_class_mapping" in w.message]
    assert len(unmapped) == 1 and "car, cyclist, pedestrian" in unmapped[0].message
    upper = tmp_path / "upper.txt"
    upper.write_text(spec.read_text().replace('key: "mask"', 'key: "Mask"', 1))
    report = check_kitti_dataset(data.root, spec=upper)
    [error] = report.errors
    assert (error.path, error.line) == (str(upper), 9)  # line 9: key: "Mask"
    assert "key 'Mask' is not lower-case" in error.message and "use 'mask'" in error.message


def test_box_that_collapses_when_truncated_to_integers_warns(tmp_path):
    data = clean_set(tmp_path / "ds")
    data.add("000700", [kitti_line("car", (10.2, 20, 10.8, 120)), kitti_line("car", (10, 20, 11, 21))])
    report = check_kitti_dataset(data.root)
    assert report.ok
    assert find(report, "labels/000700.txt", 1, "under one pixel after dataset_convert truncates")
    assert not find(report, "labels/000700.txt", 2)  # 10 < 11 and 20 < 21 survive int()
