"""labels.txt order per network (FACTS.md section 2): expected lists are written here from the rule text."""

from __future__ import annotations

import json

import pytest

from taostream.cli import main
from taostream.converter.errors import SpecError
from taostream.converter.tao_spec import load_spec, parse_spec
from taostream.deepstream_configs.labels import LabelSources, labels_for_network, labels_from_spec_file

VOC = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
       "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"]

# Class names whose order differs between every rule: cost_function order, case, duplicates.
MIXED_SPEC = """
dataset_config {
  data_sources { label_directory_path: "/data/labels" image_directory_path: "/data/images" }
  target_class_mapping { key: "pedestrian" value: "Person" }
  target_class_mapping { key: "car" value: "car" }
  target_class_mapping { key: "van" value: "car" }
  target_class_mapping { key: "cyclist" value: "bicycle" }
  target_class_mapping { key: "sign" value: "Road_sign" }
}
"""
# DetectNet_v2's own block: only its spec has it (the other networks' rules refuse a spec with it).
COST_FUNCTION_BLOCK = """
cost_function_config {
  target_classes { name: "Person" class_weight: 1.0 }
  target_classes { name: "car" class_weight: 1.0 }
  target_classes { name: "bicycle" class_weight: 1.0 }
  target_classes { name: "Road_sign" class_weight: 1.0 }
}
"""


@pytest.fixture(scope="module")
def mixed():
    return parse_spec(MIXED_SPEC, "mixed.txt")


@pytest.fixture(scope="module")
def mixed_detectnet():
    return parse_spec(MIXED_SPEC + COST_FUNCTION_BLOCK, "mixed.txt")


def test_real_ssd_spec_background_then_sorted_values(fixtures_dir):
    labels = labels_from_spec_file(fixtures_dir / "specs/tao_ssd_default_spec.txt", "ssd")
    assert labels.names == ["background", *VOC]
    assert labels.warnings == []


def test_real_retinanet_and_dssd_specs(fixtures_dir):
    spec = load_spec(fixtures_dir / "specs/tao_retinanet_default_spec.txt")
    assert labels_for_network("retinanet", spec).names == ["background", "bicycle", "car", "person"]
    assert labels_for_network("dssd", spec).names == ["background", "bicycle", "car", "person"]
    tlt2 = labels_for_network("retinanet", spec, LabelSources(tlt2=True))
    assert tlt2.names == ["bicycle", "car", "person"]


def test_real_yolo_spec_merges_duplicate_values(fixtures_dir):
    # van -> car and person_sitting -> pedestrian: three classes, no background
    labels = labels_from_spec_file(fixtures_dir / "specs/tao_yolo_v4_yolo_v4_tiny_kitti.txt", "yolov4_tiny")
    assert labels.names == ["car", "cyclist", "pedestrian"]


def test_real_yolo_v3_tfrecords_spec_has_80_sorted_coco_classes(fixtures_dir):
    labels = labels_from_spec_file(fixtures_dir / "specs/tao_yolo_v3_coco_tfrecords.txt", "yolo_v3")
    assert len(labels) == 80
    assert labels.names[:4] == ["airplane", "apple", "backpack", "banana"]
    assert labels.names[-1] == "zebra"


def test_real_detectnet_specs_follow_cost_function_order(fixtures_dir):
    facemask = labels_from_spec_file(fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt", "detectnet_v2")
    assert facemask.names == ["mask", "no-mask"]
    default = labels_from_spec_file(fixtures_dir / "specs/tao_detectnet_v2_default_spec.txt", "detectnet_v2")
    assert default.names == ["car", "pedestrian"]


def test_every_real_spec_parses_and_gives_labels(fixtures_dir):
    rules = {"tao_mask_rcnn_default.txt": "mask_rcnn", "tao_efficientdet_default.txt": "efficientdet"}
    for name, network in rules.items():
        labels = labels_from_spec_file(fixtures_dir / "specs" / name, network)
        assert labels.warnings, "without the COCO json the names are placeholders and the user is told"
    assert len(labels_from_spec_file(fixtures_dir / "specs/tao_mask_rcnn_default.txt", "mask_rcnn")) == 91
    assert labels_from_spec_file(fixtures_dir / "specs/tao_mask_rcnn_default.txt", "mask_rcnn").names[0] == "BG"
    assert len(labels_from_spec_file(fixtures_dir / "specs/tao_efficientdet_default.txt", "efficientdet")) == 90


def test_rules_disagree_on_one_mixed_case_spec(mixed, mixed_detectnet):
    assert labels_for_network("detectnet_v2", mixed_detectnet).names == ["Person", "car", "bicycle", "Road_sign"]
    assert labels_for_network("ssd", mixed).names == ["background", "bicycle", "car", "person", "road_sign"]
    assert labels_for_network("ssd", mixed, LabelSources(tlt2=True)).names == ["bicycle", "car", "person", "road_sign"]
    assert labels_for_network("yolo_v3", mixed).names == ["bicycle", "car", "person", "road_sign"]
    # FasterRCNN keeps case (upper case sorts first) and puts background last
    assert labels_for_network("faster_rcnn", mixed).names == ["Person", "Road_sign", "bicycle", "car", "background"]


def test_mixed_case_is_warned_about(mixed):
    for network in ("ssd", "yolo_v4", "faster_rcnn"):
        warnings = labels_for_network(network, mixed).warnings
        assert len(warnings) == 1 and "mix upper and lower case" in warnings[0] and "mixed.txt" in warnings[0]


def test_lower_case_spec_has_no_warning(fixtures_dir):
    assert labels_from_spec_file(fixtures_dir / "specs/tao_retinanet_default_spec.txt", "retinanet").warnings == []


def test_yolo_tfrecords_path_keeps_case(mixed):
    spec = parse_spec(MIXED_SPEC.replace('label_directory_path: "/data/labels"', 'tfrecords_path: "/data/tf*"'))
    assert labels_for_network("yolo_v4", spec).names == ["Person", "Road_sign", "bicycle", "car"]


def test_mask_rcnn_categories_by_id(tmp_path):
    annotations = tmp_path / "instances.json"
    annotations.write_text(json.dumps({"categories": [{"id": 2, "name": "car"}, {"id": 1, "name": "person"},
                                                      {"id": 3, "name": "bike"}]}))
    spec = parse_spec(f'data_config {{ num_classes: 4 val_json_file: "{annotations}" }}')
    labels = labels_for_network("mask_rcnn", spec)
    assert labels.names == ["BG", "person", "car", "bike"]
    assert labels.warnings == []
    wrong_count = parse_spec(f'data_config {{ num_classes: 3 val_json_file: "{annotations}" }}')
    assert "num_classes to 4" in labels_for_network("mask_rcnn", wrong_count).warnings[0]


def test_mask_rcnn_rejects_category_gaps(tmp_path):
    annotations = tmp_path / "instances.json"
    annotations.write_text(json.dumps({"categories": [{"id": 1, "name": "a"}, {"id": 3, "name": "c"}]}))
    spec = parse_spec("data_config { num_classes: 3 }")
    with pytest.raises(SpecError, match="ids 1..N"):
        labels_for_network("mask_rcnn", spec, LabelSources(coco_annotations=annotations))


def test_efficientdet_line_k_is_category_k_plus_1(tmp_path):
    annotations = tmp_path / "val.json"
    annotations.write_text(json.dumps({"categories": [{"id": 3, "name": "c"}, {"id": 1, "name": "a"}]}))
    spec = parse_spec("dataset_config { num_classes: 4 }")
    labels = labels_for_network("efficientdet", spec, LabelSources(coco_annotations=annotations))
    assert labels.names == ["a", "unused_2", "c"]


def test_classification_follows_classmap_indices(tmp_path):
    classmap = tmp_path / "classmap.json"
    classmap.write_text(json.dumps({"dog": 1, "Cat": 0, "bird": 2}))
    assert labels_for_network("classification", None, LabelSources(classmap=classmap)).names == ["Cat", "dog", "bird"]
    with pytest.raises(SpecError, match="classmap"):
        labels_for_network("classification", None)


def test_missing_mapping_names_field_and_fix():
    with pytest.raises(SpecError, match="target_class_mapping is missing"):
        labels_for_network("ssd", parse_spec("random_seed: 42"), source="bad.txt")
    with pytest.raises(SpecError, match="cost_function_config.target_classes"):
        labels_for_network("detectnet_v2", parse_spec("random_seed: 42"))


def test_labels_command_prints_file(fixtures_dir, capsys, tmp_path):
    spec = tmp_path / "mixed.txt"
    spec.write_text(MIXED_SPEC)
    assert main(["labels", str(spec), "--network", "frcnn"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "Person\nRoad_sign\nbicycle\ncar\nbackground\n"
    assert "mix upper and lower case" in captured.err
    assert main(["labels", str(spec), "--network", "nosuchnet"]) == 2


def test_efficientdet_placeholders_from_the_models_count_name_every_class_id(fixtures_dir, tmp_path):
    """TAO's EfficientDet default spec without num_classes (and its COCO json not on this machine): the
    placeholders come from the model's class count, one per class id; they were one short (num_classes'
    background rule applied to a count without background), so bundle refused its own labels."""
    text = (fixtures_dir / "specs" / "tao_efficientdet_default.txt").read_text()
    assert "num_classes: 91" in text
    spec_path = tmp_path / "spec.txt"
    spec_path.write_text("".join(line + "\n" for line in text.splitlines() if "num_classes" not in line))
    labels = labels_from_spec_file(spec_path, "efficientdet", LabelSources(class_count_hint=4))
    assert labels.names == ["class_1", "class_2", "class_3", "class_4"]
    assert "validation_json_file not available" in labels.warnings[0]
    # with num_classes (categories + the background id), as before
    assert len(labels_from_spec_file(fixtures_dir / "specs" / "tao_efficientdet_default.txt", "efficientdet",
                                     LabelSources(class_count_hint=4)).names) == 90
    # TAO 5 efficientdet_tf2's YAML spec: dataset.num_classes
    yaml_path = tmp_path / "spec.yaml"
    yaml_path.write_text("dataset:\n  num_classes: 5\n  val_json_file: '/ws/missing.json'\nmodel:\n  name: 'efficientdet-d0'\n")
    labels = labels_from_spec_file(yaml_path, "efficientdet", LabelSources(class_count_hint=9))
    assert labels.names == ["class_1", "class_2", "class_3", "class_4"] and "dataset.val_json_file" in labels.warnings[0]
