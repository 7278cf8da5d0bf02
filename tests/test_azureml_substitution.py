"""Spec path substitution on the real specs in shared/fixtures/specs."""

from __future__ import annotations

import pytest

from taostream.converter.errors import SpecError
from taostream.converter.tao_spec import dump_spec, load_spec
from taostream.training.spec_substitution import (
    PathEscapeError,
    PathSubstitution,
    compose_path,
    set_num_epochs,
    substitute_paths,
    substitute_spec_file,
)


def read_raw(path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def test_facemask_train_spec_all_three_folders(fixtures_dir, tmp_path):
    source = fixtures_dir / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt"
    out = tmp_path / "spec.txt"
    records = substitute_spec_file(source, out, [
        PathSubstitution("training data folder", "/home/data/train", "/mnt/run/train"),
        PathSubstitution("tf records", "/home/data/tfrecords/kitti_trainval", "/mnt/run/tfr"),
        PathSubstitution("base model", "/home/detectnet_v2/pretrained_resnet18/", "/mnt/run/model"),
    ], num_epochs=4)
    assert [(r.field_path, r.line) for r in records] == [
        ("dataset_config.data_sources.tfrecords_path", 4),
        ("dataset_config.data_sources.image_directory_path", 5),
        ("model_config.pretrained_model_file", 74),
    ]
    # the rest of the file is byte-identical: only the three values and num_epochs change
    expected = (read_raw(source)
                .replace('"/home/data/tfrecords/kitti_trainval/*"', '"/mnt/run/tfr/*"')
                .replace('"/home/data/train"', '"/mnt/run/train"')
                .replace('"/home/detectnet_v2/pretrained_resnet18/tlt_pretrained',
                         '"/mnt/run/model/tlt_pretrained')
                .replace("num_epochs: 120", "num_epochs: 4"))
    assert read_raw(out) == expected
    assert "#validation_data_source: {" in read_raw(out)


def test_reference_that_is_a_string_prefix_of_another_path_is_not_replaced_there(fixtures_dir):
    # tao_detectnet_v2_default_spec.txt has ".../data/training" and ".../data/tfrecords/...":
    # the reference ".../data/train" is a string prefix of ".../data/training" but not its folder.
    spec = load_spec(fixtures_dir / "specs" / "tao_detectnet_v2_default_spec.txt")
    with pytest.raises(SpecError, match="'/workspace/tao-experiments/data/train' not found as a whole path"):
        substitute_paths(spec, [PathSubstitution("training data folder", "/workspace/tao-experiments/data/train",
                                                 "/mnt/x")], "default_spec")
    assert spec.get("dataset_config.data_sources.image_directory_path") == "/workspace/tao-experiments/data/training"


def test_reference_that_prefixes_another_reference_longest_wins(fixtures_dir):
    # "/workspace/tao-experiments/data" is a folder prefix of both paths in the spec; the TF records
    # reference is longer and must win for the tfrecords path; each value is rewritten once.
    spec = load_spec(fixtures_dir / "specs" / "tao_detectnet_v2_default_spec.txt")
    records = substitute_paths(spec, [
        PathSubstitution("training data folder", "/workspace/tao-experiments/data", "/mnt/data"),
        PathSubstitution("tf records", "/workspace/tao-experiments/data/tfrecords", "/mnt/tfr"),
    ])
    assert spec.get("dataset_config.data_sources.tfrecords_path") == "/mnt/tfr/kitti_trainval/*"
    assert spec.get("dataset_config.data_sources.image_directory_path") == "/mnt/data/training"
    assert len(records) == 2


def test_replacement_is_never_matched_again(fixtures_dir):
    spec = load_spec(fixtures_dir / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt")
    substitute_paths(spec, [
        PathSubstitution("a", "/home/data/train", "/home/data/tfrecords/nested"),
        PathSubstitution("b", "/home/data/tfrecords", "/mnt/tfr"),
    ])
    assert spec.get("dataset_config.data_sources.image_directory_path") == "/home/data/tfrecords/nested"
    assert spec.get("dataset_config.data_sources.tfrecords_path") == "/mnt/tfr/kitti_trainval/*"


def test_mask_rcnn_globs_and_a_file_reference(fixtures_dir):
    spec = load_spec(fixtures_dir / "specs" / "tao_mask_rcnn_default.txt")
    substitute_paths(spec, [
        PathSubstitution("data", "/workspace/tlt-experiments/data", "/mnt/coco"),
        PathSubstitution("annotations", "/workspace/tlt-experiments/data/annotations/instances_val2017.json",
                         "/mnt/ann/val.json"),
    ])
    assert spec.get("data_config.training_file_pattern") == "/mnt/coco/train*.tfrecord"
    assert spec.get("data_config.validation_file_pattern") == "/mnt/coco/val*.tfrecord"
    assert spec.get("data_config.val_json_file") == "/mnt/ann/val.json"
    # comments (the commented-out checkpoint path) are not values and stay untouched
    assert '# checkpoint: "/workspace/tlt-experiments/maskrcnn' in dump_spec(spec)
    assert set_num_epochs(spec, 7) == "num_epochs"  # MaskRCNN keeps num_epochs at the top level
    assert spec.get("num_epochs") == 7


def test_trailing_slash_values_and_single_quoted_strings_keep_their_shape(fixtures_dir):
    ssd = load_spec(fixtures_dir / "specs" / "tao_ssd_default_spec.txt")
    substitute_paths(ssd, [PathSubstitution("labels", "/workspace/tlt_training/ssd_baseline/pascal_voc", "/mnt/voc")])
    assert ssd.get("dataset_config.data_sources.label_directory_path") == "/mnt/voc/train_0712/KITTI/"
    efficientdet = load_spec(fixtures_dir / "specs" / "tao_efficientdet_default.txt")
    substitute_paths(efficientdet, [PathSubstitution("coco", "/home/iva_2000/dataset/coco", "/mnt/coco")])
    assert 'training_file_pattern: "/mnt/coco/train-*"' in dump_spec(efficientdet)


def test_every_missing_reference_is_reported_with_the_spec_file(fixtures_dir):
    path = fixtures_dir / "specs" / "tao_lprnet_default_spec.txt"
    spec = load_spec(path)
    with pytest.raises(SpecError) as caught:
        substitute_paths(spec, [
            PathSubstitution("training data folder", "/workspace/lpr_default_dataset/train", "/mnt/train"),
            PathSubstitution("validation data folder", "/workspace/lpr_default_dataset/validation", "/mnt/val"),
        ], str(path))
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "validation data folder reference '/workspace/lpr_default_dataset/validation'" in message
    assert "/workspace/lpr_default_dataset/test/image" in message  # the paths the spec does have


def test_paths_cannot_escape_their_roots(fixtures_dir):
    spec = load_spec(fixtures_dir / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt")
    spec.set("dataset_config.data_sources.image_directory_path", "/home/data/train/../../../etc")
    with pytest.raises(PathEscapeError, match="outside the training data folder '/mnt/train'"):
        substitute_paths(spec, [PathSubstitution("training data folder", "/home/data/train", "/mnt/train")])
    assert compose_path("/mnt/out", "app", "run") == "/mnt/out/app/run"
    assert compose_path("/mnt/out", "app", "") == "/mnt/out/app"
    with pytest.raises(PathEscapeError, match="leaves its root folder"):
        compose_path("/mnt/out", "app", "../../x")
    with pytest.raises(PathEscapeError, match="is absolute"):
        compose_path("/mnt/out", "/etc")


def test_degenerate_references_and_epochs_are_rejected(fixtures_dir):
    spec = load_spec(fixtures_dir / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt")
    with pytest.raises(SpecError, match="would match every absolute path"):
        substitute_paths(spec, [PathSubstitution("base model", "/", "/mnt")])
    with pytest.raises(SpecError, match="is empty"):
        substitute_paths(spec, [PathSubstitution("base model", " ", "/mnt")])
    for bad in ("0", "-3", "2.5", "ten"):
        with pytest.raises(SpecError):
            set_num_epochs(spec, bad)
    assert set_num_epochs(spec, "12") == "training_config.num_epochs"
    assert spec.get("training_config.num_epochs") == 12


def test_a_failed_substitution_writes_nothing(fixtures_dir, tmp_path):
    out = tmp_path / "spec.txt"
    with pytest.raises(SpecError):
        substitute_spec_file(fixtures_dir / "specs" / "facemask_detectnet_v2_train_resnet18_kitti.txt", out,
                             [PathSubstitution("x", "/nope", "/mnt")], num_epochs=3)
    assert not out.exists() and list(tmp_path.iterdir()) == []
