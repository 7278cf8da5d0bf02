"""TAO/TLT command lines against those printed in the user's documents (the TLT 2.0 guide, the
AzureML component pages, the FasterRCNN TLT readme), copied verbatim as the oracle."""

from __future__ import annotations

import os
import re
import stat
import textwrap

import pytest

from taostream.converter.registry import NETWORKS
from taostream.training.commands import (
    KEY_MASK,
    STYLES,
    ExportOptions,
    InferenceOptions,
    LaunchOptions,
    PruneOptions,
    TaoCommandError,
    calibration_tensorfile_command,
    dataset_convert_command,
    evaluate_command,
    export_command,
    inference_command,
    launcher_task_name,
    prune_command,
    train_command,
)
from taostream.training.runner import TaoCommandFailedError, TaoToolMissingError, run_command


def words(text: str) -> list[str]:
    """Split a printed command: `<placeholder with spaces>` is one word; line continuations and
    the guide's page-wrap of long paths are joined."""
    text = text.replace("\\\n", " ").replace("\\", " ")
    return re.findall(r"<[^>]*>|\S+", text)


ALIASES = {"--key": "-k", "--enc_key": "-k", "-pm": "-m"}


def option_map(argv: list[str]) -> tuple[list[str], dict[str, str | None]]:
    """(the leading words, {option: value}) with long/short spellings folded, for examples whose
    option order differs from one document to the next."""
    head, options, index = [], {}, 0
    while index < len(argv) and not argv[index].startswith("-"):
        head.append(argv[index])
        index += 1
    while index < len(argv):
        flag = ALIASES.get(argv[index], argv[index])
        has_value = index + 1 < len(argv) and not argv[index + 1].startswith("-")
        options[flag] = argv[index + 1] if has_value else None
        index += 2 if has_value else 1
    return head, options


# ---- TAO launcher (AzureML component pages) -------------------------------------------------------
def test_tao_train_equals_the_component_page_sample():
    seed = """tao detectnet_v2 train -e < path_to_spec_file>
                       -r < path_to_experiment_output>
                       -k < key_to_load_the_model>
                       -n < name_string_for_the_model>
                       --gpus 2"""
    command = train_command("detectnet_v2", "< path_to_spec_file>", results_dir="< path_to_experiment_output>",
                            key="< key_to_load_the_model>", model_name="< name_string_for_the_model>",
                            launch=LaunchOptions(gpus=2))
    assert command.argv == words(seed)


def test_tao_calibration_tensorfile_equals_the_export_page_sample():
    seed = """tao detectnet_v2 calibration_tensorfile
                  -e $SPECS_DIR/classification_retrain_spec.cfg
                  -m 10
                  -o $USER_EXPERIMENT_DIR/export/calibration.tensor"""
    command = calibration_tensorfile_command("detectnet_v2", "$SPECS_DIR/classification_retrain_spec.cfg",
                                             "$USER_EXPERIMENT_DIR/export/calibration.tensor", 10)
    assert command.argv == words(seed)


def test_tao5_inserts_the_model_task_group():
    command = train_command("detectnet_v2", "s.txt", results_dir="out", key="k", style="tao5")
    assert command.argv[:4] == ["tao", "model", "detectnet_v2", "train"]


# ---- TLT 2.0 guide -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed, build", [
    ("tlt-train classification -e /workspace/tlt_drive/spec/spec.cfg -r /workspace/output -k $YOUR_KEY",
     lambda: train_command("classification", "/workspace/tlt_drive/spec/spec.cfg", results_dir="/workspace/output",
                           key="$YOUR_KEY", style="tlt2")),
    ("""tlt-train detectnet_v2 -e <path_to_spec_file>
                    -r <path_to_experiment_output>
                    -k <key_to_load_the_model>
-n <name_string_for_the_model>
--gpus 2""",
     lambda: train_command("detectnet_v2", "<path_to_spec_file>", results_dir="<path_to_experiment_output>",
                           key="<key_to_load_the_model>", model_name="<name_string_for_the_model>",
                           style="tlt2", launch=LaunchOptions(gpus=2))),
    ("tlt-train faster_rcnn -e <experiment_spec>",
     lambda: train_command("faster_rcnn", "<experiment_spec>", style="tlt2")),
    ("""tlt-evaluate detectnet_v2 -e <path to training spec file>
                        -m <path to the model>
                        -k <key to load the model>""",
     lambda: evaluate_command("detectnet_v2", "<path to training spec file>", model="<path to the model>",
                              key="<key to load the model>", style="tlt2")),
    ("tlt-evaluate classification -e classification_spec.cfg -k $YOUR_KEY",
     lambda: evaluate_command("classification", "classification_spec.cfg", key="$YOUR_KEY", style="tlt2")),
    ("tlt-evaluate faster_rcnn -e <experiment_spec>",
     lambda: evaluate_command("faster_rcnn", "<experiment_spec>", style="tlt2")),
    ("""tlt-infer detectnet_v2 -e </path/to/inference/spec/file> \\
    -i </path/to/inference/input> \\
    -o </path/to/inference/output> \\
    -k <model key>""",
     lambda: inference_command("detectnet_v2", InferenceOptions(
         spec="</path/to/inference/spec/file>", input="</path/to/inference/input>",
         output="</path/to/inference/output>", key="<model key>"), style="tlt2")),
    ("tlt-infer faster_rcnn -e <experiment_spec>",
     lambda: inference_command("faster_rcnn", InferenceOptions(spec="<experiment_spec>"), style="tlt2")),
    ("""tlt-infer yolo -i <input directory>
               -o <output annotated image directory>
               -e <experiment spec file>
               -m <model file>
               -l <output label directory>
               -t <visualization threshold>
               -k <key>""",
     lambda: inference_command("yolo_v3", InferenceOptions(
         input="<input directory>", output="<output annotated image directory>", spec="<experiment spec file>",
         model="<model file>", label_output="<output label directory>", threshold="<visualization threshold>",
         key="<key>"), style="tlt2")),
    ("""tlt-infer mask_rcnn -i <input directory>
                  -o <output annotated image directory>
                  -e <experiment spec file>
                  -m <model file>
                  -l <label file>
                  -b <batch size>
                  -t <visualization threshold>
                  --include_mask
                  -k <key>""",
     lambda: inference_command("mask_rcnn", InferenceOptions(
         input="<input directory>", output="<output annotated image directory>", spec="<experiment spec file>",
         model="<model file>", label_output="<label file>", batch_size="<batch size>",
         threshold="<visualization threshold>", include_mask=True, key="<key>"), style="tlt2")),
    ("""tlt-prune -m /workspace/output/weights/resnet_003.tlt \\
          -o /workspace/output/weights/resnet_003_pruned.tlt \\
          -eq union \\
          -pth 0.7 -k $KEY""",
     lambda: prune_command("detectnet_v2", PruneOptions("/workspace/output/weights/resnet_003.tlt",
                                                        "/workspace/output/weights/resnet_003_pruned.tlt", "$KEY",
                                                        equalization_criterion="union", pruning_threshold=0.7),
                           style="tlt2")),
    ("""tlt-int8-tensorfile classification -e $SPECS_DIR/classification_retrain_spec.cfg
\\
                                -m 10 \\
                                -o $USER_EXPERIMENT_DIR/export/calibration.tensor""",
     lambda: calibration_tensorfile_command("classification", "$SPECS_DIR/classification_retrain_spec.cfg",
                                            "$USER_EXPERIMENT_DIR/export/calibration.tensor", 10, style="tlt2")),
    ("tlt-dataset-convert -d <path_to_tfrecords_conversion_spec> -o\n<path_to_output_tfrecords>",
     lambda: dataset_convert_command("detectnet_v2", "<path_to_tfrecords_conversion_spec>",
                                     "<path_to_output_tfrecords>", style="tlt2")),
])
def test_tlt2_commands_equal_the_guide(seed, build):
    assert build().argv == words(seed)


def test_tlt2_examples_whose_option_order_varies_match_option_for_option():
    # Chapter 8.6 puts --gpus first; chapter 8.4 puts it last. Same options, same values.
    ssd = train_command("ssd", "/path/to/spec.txt", results_dir="/path/to/result", key="$KEY", style="tlt2",
                        launch=LaunchOptions(gpus=2))
    assert option_map(ssd.argv) == option_map(words("tlt-train ssd --gpus 2 -e /path/to/spec.txt -r /path/to/result -k $KEY"))
    mask = train_command("mask_rcnn", "/path/to/spec.txt", results_dir="/path/to/result", key="$KEY",
                         style="tlt2", launch=LaunchOptions(gpus=2))
    assert option_map(mask.argv) == option_map(
        words("tlt-train mask_rcnn --gpus 2 -e /path/to/spec.txt -d /path/to/result -k $KEY"))
    # Chapter 12, DetectNet_v2 INT8 export (option 1: a calibration tensorfile); the guide wraps paths.
    seed = """tlt-export detectnet_v2 \\
    -m $USER_EXPERIMENT_DIR/experiment_dir_retrain/weights/resnet18_detector_pruned.tlt \\
    -o $USER_EXPERIMENT_DIR/experiment_dir_final/resnet18_detector.etlt \\
    -k $KEY \\
    --cal_data_file $USER_EXPERIMENT_DIR/experiment_dir_final/calibration.tensor \\
    --data_type int8 \\
    --batches 10 \\
    --cal_cache_file $USER_EXPERIMENT_DIR/experiment_dir_final/calibration.bin
    --engine_file $USER_EXPERIMENT_DIR/experiment_dir_final/resnet_18.engine"""
    export = export_command("detectnet_v2", ExportOptions(
        model="$USER_EXPERIMENT_DIR/experiment_dir_retrain/weights/resnet18_detector_pruned.tlt",
        output_file="$USER_EXPERIMENT_DIR/experiment_dir_final/resnet18_detector.etlt", key="$KEY",
        cal_data_file="$USER_EXPERIMENT_DIR/experiment_dir_final/calibration.tensor", data_type="int8",
        batches=10, cal_cache_file="$USER_EXPERIMENT_DIR/experiment_dir_final/calibration.bin",
        engine_file="$USER_EXPERIMENT_DIR/experiment_dir_final/resnet_18.engine"), style="tlt2")
    assert option_map(export.argv) == option_map(words(seed))
    # Chapter 12, FasterRCNN INT8 export (option 2: an image folder); the guide writes --key.
    seed = """tlt-export faster_rcnn \\
  -m $USER_EXPERIMENT_DIR/data/faster_rcnn/frcnn_kitti_retrain.epoch12.tlt \\
  -o $USER_EXPERIMENT_DIR/data/faster_rcnn/frcnn_kitti_retrain.int8.etlt \\
  -e $SPECS_DIR/frcnn_kitti_retrain_spec.txt \\
  --key $KEY \\
  --cal_image_dir $USER_EXPERIMENT_DIR/data/KITTI/val/image_2 \\
  --data_type int8 \\
  --batch_size 8 \\
  --batches 10 \\
  --cal_data_file $USER_EXPERIMENT_DIR/data/faster_rcnn/cal.tensorfile \\
  --cal_cache_file $USER_EXPERIMENT_DIR/data/faster_rcnn/cal.bin \\
  --engine_file $USER_EXPERIMENT_DIR/data/faster_rcnn/detection.trt"""
    export = export_command("faster_rcnn", ExportOptions(
        model="$USER_EXPERIMENT_DIR/data/faster_rcnn/frcnn_kitti_retrain.epoch12.tlt",
        output_file="$USER_EXPERIMENT_DIR/data/faster_rcnn/frcnn_kitti_retrain.int8.etlt",
        experiment_spec="$SPECS_DIR/frcnn_kitti_retrain_spec.txt", key="$KEY",
        cal_image_dir="$USER_EXPERIMENT_DIR/data/KITTI/val/image_2", data_type="int8", batch_size=8, batches=10,
        cal_data_file="$USER_EXPERIMENT_DIR/data/faster_rcnn/cal.tensorfile",
        cal_cache_file="$USER_EXPERIMENT_DIR/data/faster_rcnn/cal.bin",
        engine_file="$USER_EXPERIMENT_DIR/data/faster_rcnn/detection.trt"), style="tlt2")
    assert option_map(export.argv) == option_map(words(seed))
    # same words apart from the --key spelling: this builder's order is the guide's
    assert export.argv == [("-k" if w == "--key" else w) for w in words(seed)]


# ---- TLT 3.0 launcher (FasterRCNN readme) --------------------------------------------------------
GPU = LaunchOptions(gpu_index="$GPU_INDEX")


@pytest.mark.parametrize("seed, build", [
    ("""tlt faster_rcnn dataset_convert --gpu_index $GPU_INDEX -d $SPECS_DIR/frcnn_tfrecords_kitti_trainval.txt \\
                     -o $DATA_DOWNLOAD_DIR/tfrecords/kitti_trainval/kitti_trainval""",
     lambda: dataset_convert_command("faster_rcnn", "$SPECS_DIR/frcnn_tfrecords_kitti_trainval.txt",
                                     "$DATA_DOWNLOAD_DIR/tfrecords/kitti_trainval/kitti_trainval", style="tlt3",
                                     launch=GPU)),
    ("tlt faster_rcnn train --gpu_index $GPU_INDEX -e $SPECS_DIR/default_spec_resnet18.txt",
     lambda: train_command("faster_rcnn", "$SPECS_DIR/default_spec_resnet18.txt", style="tlt3", launch=GPU)),
    ("""tlt faster_rcnn prune --gpu_index $GPU_INDEX -m $USER_EXPERIMENT_DIR/frcnn_kitti_resnet18.epoch12.tlt \\
           -o $USER_EXPERIMENT_DIR/model_1_pruned.tlt  \\
           -eq union  \\
           -pth 0.2 \\
           -k $KEY""",
     lambda: prune_command("faster_rcnn", PruneOptions("$USER_EXPERIMENT_DIR/frcnn_kitti_resnet18.epoch12.tlt",
                                                       "$USER_EXPERIMENT_DIR/model_1_pruned.tlt", "$KEY",
                                                       equalization_criterion="union", pruning_threshold=0.2),
                           style="tlt3", launch=GPU)),
    ("tlt faster_rcnn train --gpu_index $GPU_INDEX -e $SPECS_DIR/default_spec_resnet18_retrain_spec.txt",
     lambda: train_command("faster_rcnn", "$SPECS_DIR/default_spec_resnet18_retrain_spec.txt", style="tlt3",
                           launch=GPU)),
    ("""tlt faster_rcnn export --gpu_index $GPU_INDEX -m $USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain.epoch12.tlt  \\
                        -o $USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain.etlt \\
                        -e $SPECS_DIR/default_spec_resnet18_retrain_spec.txt \\
                        -k $KEY""",
     lambda: export_command("faster_rcnn", ExportOptions(
         model="$USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain.epoch12.tlt", key="$KEY",
         output_file="$USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain.etlt",
         experiment_spec="$SPECS_DIR/default_spec_resnet18_retrain_spec.txt"), style="tlt3", launch=GPU)),
    ("""tlt faster_rcnn export --gpu_index $GPU_INDEX -m $USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain.epoch12.tlt  \\
                        -o $USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain_fp16.etlt \\
                        -e $SPECS_DIR/default_spec_resnet18_retrain_spec.txt \\
                        -k $KEY \\
                        --data_type fp16""",
     lambda: export_command("faster_rcnn", ExportOptions(
         model="$USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain.epoch12.tlt", key="$KEY",
         output_file="$USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain_fp16.etlt",
         experiment_spec="$SPECS_DIR/default_spec_resnet18_retrain_spec.txt", data_type="fp16"),
         style="tlt3", launch=GPU)),
    ("""tlt faster_rcnn export --gpu_index $GPU_INDEX -m $USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain.epoch12.tlt  \\
                        -o $USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain_int8.etlt \\
                        -e $SPECS_DIR/default_spec_resnet18_retrain_spec.txt \\
                        -k $KEY \\
                        --data_type int8 \\
                        --batch_size 8 \\
                        --batches 10 \\
                        --cal_cache_file $USER_EXPERIMENT_DIR/cal.bin""",
     lambda: export_command("faster_rcnn", ExportOptions(
         model="$USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain.epoch12.tlt", key="$KEY",
         output_file="$USER_EXPERIMENT_DIR/frcnn_kitti_resnet18_retrain_int8.etlt",
         experiment_spec="$SPECS_DIR/default_spec_resnet18_retrain_spec.txt", data_type="int8", batch_size=8,
         batches=10, cal_cache_file="$USER_EXPERIMENT_DIR/cal.bin"), style="tlt3", launch=GPU)),
])
def test_tlt3_commands_equal_the_fasterrcnn_readme(seed, build):
    assert build().argv == words(seed)


# ---- per-network and per-style rules --------------------------------------------------------------
def test_every_registry_network_builds_train_and_export_in_every_style_it_existed_in():
    built = 0
    for network in NETWORKS:
        for style in STYLES:
            try:
                name = launcher_task_name(network.name, style)
            except TaoCommandError:
                assert style in ("tlt2", "tlt3")  # newer networks only lack the old launchers
                continue
            # TLT 2.0 FasterRCNN reads its results folder from the spec
            results = {} if (network.name, style) == ("faster_rcnn", "tlt2") else {"results_dir": "out"}
            train = train_command(network.name, "spec.txt", key="k", style=style, **results)
            assert name in train.argv[:3] or train.argv[0] == "tlt-train"
            export = export_command(network.name, ExportOptions(model="m.tlt", key="k", experiment_spec="s.txt"),
                                    style=style)
            assert export.argv[export.argv.index("-m") + 1] == "m.tlt"
            built += 1
    assert built >= 40


def test_tlt2_spells_yolo_and_has_no_network_for_prune_and_dataset_convert():
    assert launcher_task_name("yolo_v3", "tlt2") == "yolo"
    assert launcher_task_name("yolov3", "tao") == "yolo_v3"
    assert launcher_task_name("yolo_v4_tiny", "tao5") == "yolo_v4_tiny"
    assert launcher_task_name("classification", "tao") == "classification"  # TAO 3.x
    assert launcher_task_name("classification", "tao4") == "classification_tf1"  # renamed in TAO 4.0
    assert launcher_task_name("efficientdet", "tao5") == "efficientdet_tf1"
    assert launcher_task_name("efficientdet_tf2", "tao5") == "efficientdet_tf2"
    assert prune_command("ssd", PruneOptions("m", "o", "k"), style="tlt2").argv[0] == "tlt-prune"
    assert prune_command("ssd", PruneOptions("m", "o", "k"), style="tlt2").argv[1] == "-m"
    with pytest.raises(TaoCommandError, match="did not exist in TLT 2.0"):
        train_command("efficientdet", "s", results_dir="r", key="k", style="tlt2")


def test_tlt2_launch_options_become_environment_variables():
    command = train_command("detectnet_v2", "s", results_dir="r", key="k", style="tlt2",
                           launch=LaunchOptions(gpus=2, gpu_index="1", use_amp=True))
    assert command.env == {"CUDA_VISIBLE_DEVICES": "1", "TF_ENABLE_AUTO_MIXED_PRECISION": "1"}
    assert "--use_amp" not in command.argv and "--gpu_index" not in command.argv
    with pytest.raises(TaoCommandError, match="--log_file"):
        train_command("detectnet_v2", "s", results_dir="r", key="k", style="tlt2", launch=LaunchOptions(log_file="x"))
    tao = train_command("detectnet_v2", "s", results_dir="r", key="k",
                        launch=LaunchOptions(gpus=2, gpu_index="0,1", use_amp=True, log_file="/r/log.txt"))
    # the TAO entrypoint reads --gpu_index as one int per GPU (argparse nargs="+")
    assert tao.argv == ["tao", "detectnet_v2", "train", "--gpu_index", "0", "1", "-e", "s", "-r", "r", "-k", "k",
                        "--gpus", "2", "--use_amp", "--log_file", "/r/log.txt"]


def test_gpu_rules_of_the_tao_entrypoint():
    with pytest.raises(TaoCommandError, match="names 2 GPU"):
        train_command("detectnet_v2", "s", results_dir="r", key="k", launch=LaunchOptions(gpu_index="0,1"))
    with pytest.raises(TaoCommandError, match="only train takes --gpus > 1 or --use_amp"):
        evaluate_command("detectnet_v2", "s", model="m", key="k", launch=LaunchOptions(gpus=2, gpu_index="0 1"))
    with pytest.raises(TaoCommandError, match="only train takes"):
        export_command("detectnet_v2", ExportOptions(model="m", key="k"), launch=LaunchOptions(use_amp=True))
    with pytest.raises(TaoCommandError, match="whole numbers"):
        train_command("detectnet_v2", "s", results_dir="r", key="k", launch=LaunchOptions(gpu_index="gpu0"))
    single = evaluate_command("detectnet_v2", "s", model="m", key="k", style="tao5", launch=LaunchOptions(gpu_index=3))
    assert single.argv[4:6] == ["--gpu_index", "3"]


def test_dash_n_means_model_name_for_train_and_normalizer_for_prune():
    assert "-n" in train_command("detectnet_v2", "s", results_dir="r", key="k", model_name="x").argv
    with pytest.raises(TaoCommandError, match="no -n"):
        train_command("ssd", "s", results_dir="r", key="k", model_name="x")
    pruned = prune_command("detectnet_v2", PruneOptions("m", "o", "k", normalizer="L2"))
    assert pruned.argv[pruned.argv.index("-n") + 1] == "L2"


def test_missing_required_options_are_named():
    with pytest.raises(TaoCommandError, match=r"needs a results folder \(-r\)"):
        train_command("detectnet_v2", "s", key="k")
    with pytest.raises(TaoCommandError, match=r"needs a results folder \(-d\)"):
        train_command("mask_rcnn", "s", key="k")
    with pytest.raises(TaoCommandError, match=r"needs the experiment spec \(-e\)"):
        export_command("yolo_v4", ExportOptions(model="m", key="k"))
    with pytest.raises(TaoCommandError, match="int8 export needs calibration data"):
        export_command("detectnet_v2", ExportOptions(model="m", key="k", data_type="int8"))
    with pytest.raises(TaoCommandError, match="no calibration_tensorfile task for yolo_v4"):
        calibration_tensorfile_command("yolo_v4", "s", "o", 10)
    with pytest.raises(TaoCommandError, match="gen_ds_config"):
        export_command("detectnet_v2", ExportOptions(model="m", key="k", gen_ds_config=True), style="tlt2")


def test_tao4_and_later_export_warns_about_calibration_and_engine_options(caplog):
    plain = export_command("detectnet_v2", ExportOptions(model="m.tlt", key="k", output_file="m.onnx",
                                                         gen_ds_config=True), style="tao5")
    assert plain.argv == ["tao", "model", "detectnet_v2", "export", "-m", "m.tlt", "-o", "m.onnx", "-k", "k",
                          "--gen_ds_config"]
    assert not caplog.records
    with caplog.at_level("WARNING"):
        int8 = export_command("detectnet_v2", ExportOptions(model="m", key="k", output_file="m.etlt",
                                                            data_type="int8", cal_image_dir="i"), style="tao5")
    assert "--data_type" in int8.argv and "--cal_image_dir" in int8.argv
    text = caplog.text
    assert "hides --data_type, --cal_image_dir" in text and "tao deploy detectnet_v2 gen_trt_engine" in text
    assert "m.etlt becomes m.etlt.onnx" in text


def test_every_export_flag_the_issue_lists_is_passed():
    command = export_command("detectnet_v2", ExportOptions(
        model="m.tlt", key="k", output_file="o.etlt", experiment_spec="s.txt", data_type="int8",
        strict_type_constraints=True, cal_image_dir="imgs", cal_data_file="cal.tensor", cal_cache_file="cal.bin",
        batches=10, batch_size=8, max_batch_size=16, max_workspace_size=1 << 30, engine_file="e.engine",
        gen_ds_config=True, force_ptq=True))
    _, options = option_map(command.argv)
    assert options == {
        "-m": "m.tlt", "-o": "o.etlt", "-e": "s.txt", "-k": "k", "--cal_image_dir": "imgs", "--data_type": "int8",
        "-s": None, "--batch_size": "8", "--batches": "10", "--max_batch_size": "16",
        "--max_workspace_size": "1073741824", "--cal_data_file": "cal.tensor", "--cal_cache_file": "cal.bin",
        "--engine_file": "e.engine", "--gen_ds_config": None, "--force_ptq": None,
    }


def test_the_key_is_masked_in_the_printed_command_only():
    command = train_command("detectnet_v2", "s", results_dir="r", key="my-secret-key")
    assert "my-secret-key" in command.argv
    assert "my-secret-key" not in command.display() and KEY_MASK in command.display()
    assert "my-secret-key" not in repr(command) and "my-secret-key" not in str(command)
    short = train_command("detectnet_v2", "spec-k.txt", results_dir="r", key="k")
    assert short.display() == f"tao detectnet_v2 train -e spec-k.txt -r r -k '{KEY_MASK}'"


# ---- the runner, with real executables on PATH ----------------------------------------------------
def make_tool(folder, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_runner_streams_output_masks_the_key_and_passes_the_environment(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    make_tool(bin_dir, "tlt-train", 'echo "args: $*"\necho "amp=$TF_ENABLE_AUTO_MIXED_PRECISION" >&2\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    command = train_command("detectnet_v2", "spec.txt", results_dir="out", key="SeCrEtKey", style="tlt2",
                            launch=LaunchOptions(use_amp=True))
    assert run_command(command) == 0
    printed = capsys.readouterr().out
    assert f"args: detectnet_v2 -e spec.txt -r out -k {KEY_MASK}" in printed
    assert "amp=1" in printed
    assert "SeCrEtKey" not in printed


def test_runner_reports_failure_with_the_exit_code(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    make_tool(bin_dir, "detectnet_v2", "echo boom\nexit 3\n")
    monkeypatch.setenv("PATH", str(bin_dir))
    command = train_command("detectnet_v2", "s", results_dir="r", key="k", style="container")
    with pytest.raises(TaoCommandFailedError, match="exited with code 3") as caught:
        run_command(command)
    assert caught.value.returncode == 3


def test_runner_names_the_missing_launcher_and_the_missing_docker(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    command = train_command("detectnet_v2", "s", results_dir="r", key="hidden-key-1")
    with pytest.raises(TaoToolMissingError, match="pip install nvidia-tao") as caught:
        run_command(command)
    assert "hidden-key-1" not in str(caught.value)
    make_tool(bin_dir, "tao", "echo should-not-run\n")
    with pytest.raises(TaoToolMissingError, match="'docker' was not found"):
        run_command(command)


def test_tao5_inference_and_evaluate_write_into_a_results_folder():
    # flags of nvidia_tao_tf1/cv/<net>/scripts/inference.py (TAO 5): output folder -r, no -o/-l
    dnv2 = inference_command("detectnet_v2", InferenceOptions(spec="infer.txt", input="imgs", output="out", key="k"),
                             style="tao5")
    assert dnv2.argv == ["tao", "model", "detectnet_v2", "inference", "-e", "infer.txt", "-i", "imgs", "-r", "out",
                         "-k", "k"]
    yolo = inference_command("yolo_v4", InferenceOptions(spec="s", input="imgs", output="out", model="m.tlt",
                                                         threshold=0.3, batch_size=4, key="k"), style="tao5")
    assert yolo.argv[4:] == ["-e", "s", "-m", "m.tlt", "-i", "imgs", "-t", "0.3", "-b", "4", "-r", "out", "-k", "k"]
    frcnn = inference_command("faster_rcnn", InferenceOptions(spec="s", output="out", model="m.tlt"), style="tao5")
    assert frcnn.argv[4:] == ["-e", "s", "-m", "m.tlt", "-r", "out"]
    with pytest.raises(TaoCommandError, match="no -l"):
        inference_command("ssd", InferenceOptions(spec="s", input="i", output="o", model="m", label_output="l"),
                          style="tao5")
    evaluated = evaluate_command("faster_rcnn", "s", model="m.tlt", results_dir="r", key="k", style="tao5")
    assert evaluated.argv[4:] == ["-e", "s", "-m", "m.tlt", "-r", "r", "-k", "k"]
    with pytest.raises(TaoCommandError, match="before TAO 5"):
        evaluate_command("faster_rcnn", "s", model="m.tlt", style="tlt3")
