"""`taostream check` on a DeepStream 5.0 nvinferserver config: its backend block is `trt_is` (the name
DeepStream 6 changed to `triton`; both still parse as the same oneof), as in NVIDIA's DeepStream 5.0
samples/configs/deepstream-app-trtis/config_infer_primary_detector_*.txt."""

from __future__ import annotations

from taostream.deepstream_configs.check.run import check_configs

DS5_NVINFERSERVER = """\
infer_config {
  unique_id: 5
  gpu_ids: [0]
  max_batch_size: 4
  backend {
    trt_is {
      model_name: "ssd_inception_v2_coco_2018_01_28"
      version: -1
      model_repo {
        root: "../../trtis_model_repo"
        log_level: 2
        tf_gpu_memory_fraction: 0.6
        tf_disable_soft_placement: 0
      }
    }
  }
  preprocess {
    network_format: IMAGE_FORMAT_RGB
    tensor_order: TENSOR_ORDER_NONE
    maintain_aspect_ratio: 0
    normalize {
      scale_factor: 1.0
      channel_offsets: [0, 0, 0]
    }
  }
  postprocess {
    labelfile_path: "../../trtis_model_repo/ssd_inception_v2_coco_2018_01_28/labels.txt"
    detection {
      num_detected_classes: 91
      custom_parse_bbox_func: "NvDsInferParseCustomTfSSD"
      nms {
        confidence_threshold: 0.3
        iou_threshold: 0.4
        topk : 20
      }
    }
  }
  extra {
    copy_input_to_host_buffers: false
  }
  custom_lib {
    path: "/opt/nvidia/deepstream/deepstream-5.0/lib/libnvds_infercustomparser.so"
  }
}
input_control {
  process_mode: PROCESS_MODE_FULL_FRAME
  interval: 0
}
"""


def _tree(tmp_path, with_repo=True):
    config = tmp_path / "samples" / "configs" / "deepstream-app-trtis" / "config_infer_primary_detector_ssd.txt"
    config.parent.mkdir(parents=True)
    config.write_text(DS5_NVINFERSERVER)
    if with_repo:
        model = tmp_path / "samples" / "trtis_model_repo" / "ssd_inception_v2_coco_2018_01_28"
        model.mkdir(parents=True)
        (model / "labels.txt").write_text("unlabeled\nperson\n")
    return config


def test_a_trt_is_block_names_its_model_and_is_a_rename_warning(tmp_path):
    config = _tree(tmp_path)
    report = check_configs([config], deepstream="9.2")
    # only DeepStream 5's parser library, which this host lacks, is not found
    assert [f.key for f in report.errors] == ["infer_config.custom_lib.path"], [str(f) for f in report.findings]
    (warning,) = report.warnings
    assert warning.key == "infer_config.backend.trt_is" and "rename trt_is to triton" in warning.message


def test_a_trt_is_model_repo_that_does_not_resolve_is_an_error(tmp_path):
    config = _tree(tmp_path, with_repo=False)
    report = check_configs([config], deepstream="9.2")
    roots = [f for f in report.errors if f.key == "infer_config.backend.trt_is.model_repo.root"]
    assert roots and "trtis_model_repo" in roots[0].message and "relative to the config's folder" in roots[0].message
    assert not any(f.key.endswith("model_name") for f in report.errors)


DS5_APP = """\
[application]
enable-perf-measurement=1
perf-measurement-interval-sec=5

[source0]
enable=1
type=3
uri=file://../../streams/sample_1080p_h264.mp4
num-sources=1

[sink0]
enable=1
type=1
sync=0

[streammux]
batch-size=1
width=1920
height=1080

[primary-gie]
enable=1
plugin-type=1
batch-size=1
gie-unique-id=5
config-file=config_infer_primary_detector_ssd.txt
"""


def test_an_app_configs_nvinferserver_gie_config_is_checked_once(tmp_path):
    # DeepStream 5's source1_primary_detector.txt form: [primary-gie] plugin-type=1 names the nvinferserver
    # config, whose files and trt_is block used to go unchecked through the app config
    config = _tree(tmp_path, with_repo=False)
    (config.parent / "source1_primary_detector.txt").write_text(DS5_APP)
    (tmp_path / "samples" / "streams").mkdir()
    (tmp_path / "samples" / "streams" / "sample_1080p_h264.mp4").write_bytes(b"\0")
    report = check_configs([config.parent / "source1_primary_detector.txt"], deepstream="6.0")
    about = [(f.severity, f.key) for f in report.findings if f.path == config]
    assert sorted(about) == [("error", "infer_config.backend.trt_is.model_repo.root"),
                             ("error", "infer_config.custom_lib.path"),
                             ("error", "infer_config.postprocess.labelfile_path"),
                             ("warning", "infer_config.backend.trt_is")], [str(f) for f in report.findings]
    both = check_configs([config.parent / "source1_primary_detector.txt", config], deepstream="6.0")
    assert sorted((f.severity, f.key) for f in both.findings if f.path == config) == sorted(about)
