"""`tao-converter` and `taostream convert`: documented command lines parse to the intended build
settings; bad combinations fail with one clear line and exit 2; the pipeline runs up to the build
on a machine without TensorRT.

Command lines come from the user's documents (shared/seeds: the TLT 2.0 guide section 13.2, its
per-network output lists) and the issue (-p example); expected settings are written out by hand.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from taostream.converter.engine.build import DEFAULT_WORKSPACE, OptimizationProfile, installed_trt_version
from taostream.converter.errors import TaostreamError
from taostream.converter.model.etlt import encode_etlt_bytes
from taostream.converter.cli.tao_converter import main, parse_command_line
from taostream.cli import main as taostream_main

GUIDE = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds" / "tlt2.0_getting_started_guide.txt"


def conv_model(batch="N", input_name="input_1", hw=(32, 48), outputs=("output_cov/Sigmoid",)) -> onnx.ModelProto:
    """A small DetectNet_v2-like graph: one stride-16 conv and a sigmoid, dynamic batch."""
    h, w = hw
    x = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, 3, h, w])
    y = helper.make_tensor_value_info(outputs[0], TensorProto.FLOAT, [batch, 2, h // 16, w // 16])
    weight = numpy_helper.from_array(np.random.RandomState(0).randn(2, 3, 16, 16).astype(np.float32) * 0.05, "w")
    nodes = [
        helper.make_node("Conv", [input_name, "w"], ["conv"], strides=[16, 16]),
        helper.make_node("Sigmoid", ["conv"], [outputs[0]]),
    ]
    graph = helper.make_graph(nodes, "small", [x], [y], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


@pytest.fixture
def small_onnx(tmp_path) -> Path:
    path = tmp_path / "small.onnx"
    onnx.save(conv_model(), str(path))
    return path


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv("TAOSTREAM_KEY", raising=False)


# ---- the seeds' command lines ---------------------------------------------------------------------


def guide_sample_command() -> list[str]:
    """The TLT 2.0 guide's sample (section 13.2), with its `export` lines substituted."""
    text = GUIDE.read_text(encoding="utf-8", errors="replace")
    section = text[text.index("Sample output log"):]
    env = dict(re.findall(r"^export (\w+)=(\S+)", section, flags=re.M))
    match = re.search(r"^tlt-converter (.*?)\n\n", section, flags=re.M | re.S)
    command = match.group(1).replace("\\\n", " ")
    command = re.sub(r"\$(\w+)", lambda m: env[m.group(1)], command)
    return shlex.split(command)


def test_guide_sample_command_line():
    argv = guide_sample_command()
    settings, _ = parse_command_line(argv)
    assert settings.model == "resnet10_kitti_multiclass_v1.etlt"
    assert settings.engine == "resnet10_kitti_multiclass_v1.engine"
    assert settings.output_nodes == ("output_bbox/BiasAdd", "output_cov/Sigmoid")
    assert settings.input_dims == (3, 384, 124)
    # documented defaults: fp32, -m 16, -b 8, -w 1<<30, -i nchw, no DLA, not strict
    assert (settings.precision, settings.max_batch, settings.calibration_batch_size) == ("fp32", 16, 8)
    assert settings.workspace == 1 << 30 == DEFAULT_WORKSPACE
    assert settings.input_order == "nchw"
    assert settings.dla_core is None and not settings.strict and settings.profiles == ()


# The guide's "-o" lists, one per network (section 13.2, "Required arguments").
GUIDE_OUTPUTS = [
    ("For classification use: predictions/Softmax.", ("predictions/Softmax",)),
    ("For DetectNet_v2: output_bbox/BiasAdd,output_cov/Sigmoid", ("output_bbox/BiasAdd", "output_cov/Sigmoid")),
    ("For FasterRCNN: dense_class_td/Softmax,dense_regress_td/BiasAdd, proposal",
     ("dense_class_td/Softmax", "dense_regress_td/BiasAdd", "proposal")),
    ("For SSD, DSSD, RetinaNet: NMS", ("NMS",)),
    ("For YOLOv3: BatchedNMS", ("BatchedNMS",)),
    ("For MaskRCNN: generate_detections, mask_head/mask_fcn_logits/BiasAdd",
     ("generate_detections", "mask_head/mask_fcn_logits/BiasAdd")),
]


@pytest.mark.parametrize("line, expected", GUIDE_OUTPUTS)
def test_guide_output_lists(line, expected):
    assert line in GUIDE.read_text(encoding="utf-8", errors="replace")
    value = line.split(": ", 1)[1].rstrip(".")
    settings, _ = parse_command_line(["-k", "k", "-d", "3,544,960", "-o", value, "m.etlt"])
    assert settings.output_nodes == expected


def test_guide_synopsis_with_every_option():
    argv = shlex.split(
        "-k nvidia_tlt -d 3,384,1248 -o NMS -c cal.bin -e ssd.engine -b 4 -m 32 -t int8 -w 2147483648 -i nchw ssd.etlt"
    )
    settings, _ = parse_command_line(argv)
    assert settings.calibration_cache == "cal.bin"
    assert settings.engine == "ssd.engine"
    assert settings.calibration_batch_size == 4
    assert settings.max_batch == 32
    assert settings.precision == "int8"
    assert settings.workspace == 2 << 30
    assert settings.output_nodes == ("NMS",)


# Later tao-converter options: -p (issue text), -s, -u; plus the documented forms of -w and -i.
LATER_COMMANDS = [
    ("-k k -p input_1,1x3x544x960,4x3x544x960,16x3x544x960 -t fp16 -e peoplenet.engine model.etlt",
     {"profiles": (OptimizationProfile("input_1", (1, 3, 544, 960), (4, 3, 544, 960), (16, 3, 544, 960)),),
      "precision": "fp16", "input_dims": None}),
    ("-k k -d 3,544,960 -p input_1,1x3x544x960,4x3x544x960,16x3x544x960 -m 16 model.etlt",
     {"input_dims": (3, 544, 960), "max_batch": 16}),
    ("-k k -d 3,384,1248 -o BatchedNMS -t int8 -c cal.bin -s -u 0 -w 1<<28 yolo.etlt",
     {"strict": True, "dla_core": 0, "workspace": 1 << 28, "calibration_cache": "cal.bin"}),
    ("-k k -d 3,384,1248 -u -1 -t INT8 yolo.etlt", {"dla_core": None, "precision": "int8", "calibration_cache": "./cal.bin"}),
    ("-k k -d 1000 -i nc -t fp32 cls.etlt", {"input_dims": (1000,), "input_order": "nc"}),
    ("-k k -d 512,512,3 -i nhwc effdet.etlt", {"input_dims": (512, 512, 3), "input_order": "nhwc"}),
]


@pytest.mark.parametrize("command, expected", LATER_COMMANDS)
def test_later_tao_converter_options(command, expected):
    settings, _ = parse_command_line(shlex.split(command))
    for field, value in expected.items():
        assert getattr(settings, field) == value, field


BAD_COMMANDS = [
    ("-k k -d 3,544,960 -t int4 m.onnx", "unknown engine data type 'int4'"),
    ("-k k -d 3,544,960 -p input_1,1x3x512x960,4x3x512x960,16x3x512x960 m.onnx", "does not match the input dimensions"),
    ("-k k -d 3,544 m.onnx", "needs 3"),
    ("-k k -d 3,544,960 -i nwhc m.onnx", "ordering"),
    ("-k k -p input_1,1x3x544x960,16x3x544x960 m.onnx", "4 comma-separated fields"),
    ("-k k -p input_1,4x3x544x960,1x3x544x960,16x3x544x960 m.onnx", "min <= opt <= max"),
    ("-k k -p input_1,1x3x544x960,2x3x544x960,4x3x544x960 -p input_1,1x3x544x960,2x3x544x960,4x3x544x960 m.onnx", "given twice"),
    ("-k k -p input_1,1x3x544x960,4x3x544x960,16x3x544x960 -m 8 m.onnx", "disagrees with the optimization profile"),
    ("-k k -d 3,544,960 -w lots m.onnx", "workspace size"),
    ("-k k -d 3,544,960 -u -3 m.onnx", "DLA core"),
    ("-k k -d 3,544,960 -m 0 m.onnx", "1 or more"),
    ("-k k -d 3,544,960 -b eight m.onnx", "whole number"),
]


@pytest.mark.parametrize("command, message", BAD_COMMANDS)
def test_bad_command_lines_exit_2_with_one_line(command, message, capsys):
    assert main(shlex.split(command)) == 2
    err = capsys.readouterr().err
    assert err.startswith("tao-converter: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_missing_key_for_an_etlt_exits_2(tmp_path, capsys):
    model = tmp_path / "m.etlt"
    model.write_bytes(encode_etlt_bytes(conv_model().SerializeToString(), "secret"))
    assert main(["-d", "3,32,48", str(model)]) == 2
    assert "m.etlt: an encrypted .etlt model needs its key" in capsys.readouterr().err


# ---- the pipeline up to the build -----------------------------------------------------------------


def test_dry_run_prints_the_plan(small_onnx, tmp_path, capsys):
    engine = tmp_path / "small.engine"
    code = main(["-d", "3,32,48", "-m", "4", "-t", "fp16", "-e", str(engine), "--trt-version", "10.3", "--dry-run", str(small_onnx)])
    out = capsys.readouterr().out
    assert code == 0
    assert "TensorRT 10.3.0" in out
    assert "builder flags: TF32, FP16" in out
    assert "optimization profiles: input_1,1x3x32x48,4x3x32x48,4x3x32x48" in out
    assert not engine.exists()


def test_onnx_etlt_with_key_from_file_and_environment(tmp_path, monkeypatch, capsys):
    model = tmp_path / "m.etlt"
    model.write_bytes(encode_etlt_bytes(conv_model().SerializeToString(), "s3cret-key"))
    key_file = tmp_path / "key.txt"
    key_file.write_text("s3cret-key\n")
    assert main(["--key-file", str(key_file), "--trt-version", "11", "--dry-run", str(model)]) == 0
    monkeypatch.setenv("TAOSTREAM_KEY", "s3cret-key")
    assert main(["-t", "fp16", "--trt-version", "11", "--dry-run", str(model)]) == 0
    out = capsys.readouterr().out
    assert "mixed precision" in out
    assert "s3cret-key" not in out


def test_wrong_key_is_reported(tmp_path, capsys):
    model = tmp_path / "m.etlt"
    model.write_bytes(encode_etlt_bytes(conv_model().SerializeToString(), "right"))
    assert main(["-k", "wrong", "--dry-run", str(model)]) == 2
    assert "wrong key or corrupt file" in capsys.readouterr().err


def test_wrong_key_on_a_real_etlt_names_tao_converters_own_key_flag(models_dir, tmp_path, capsys):
    """NVIDIA's LPD model with a key that is not its own (nvidia_tlt, SOURCES.md): tao-converter's
    message names its -k; `taostream convert` on the same file keeps --key."""
    model = str(models_dir / "lpd_usa_detectnet_v2_pruned.etlt")
    assert main(["-k", "tlt_encode", "-e", str(tmp_path / "saved.engine"), "--dry-run", model]) == 2
    err = capsys.readouterr().err
    assert "wrong key or corrupt file" in err
    assert "check the key given with -k/--key-file/$TAOSTREAM_KEY" in err and "--key/" not in err
    assert "tlt_encode" not in err
    assert taostream_main(["convert", model, "--key", "tlt_encode", "-o", str(tmp_path / "m.engine"), "--dry-run"]) == 2
    assert "check the key given with --key/--key-file/$TAOSTREAM_KEY" in capsys.readouterr().err


def test_missing_key_on_a_real_etlt_names_tao_converters_own_key_flag(models_dir, monkeypatch, capsys):
    monkeypatch.delenv("TAOSTREAM_KEY", raising=False)
    model = str(models_dir / "lpd_usa_detectnet_v2_pruned.etlt")
    assert main(["--dry-run", model]) == 2
    err = capsys.readouterr().err
    assert "needs its key: pass -k KEY, --key-file FILE or set $TAOSTREAM_KEY" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-o", "output_bbox/BiasAdd"], "not outputs of the model"),
        (["-d", "3,544,960"], "dimension 2 is 32 in the model but 544 in -d"),
        (["-p", "images,1x3x32x48,2x3x32x48,4x3x32x48"], "'images' (-p) is not an input"),
        (["-t", "int8", "--trt-version", "10.3"], "cal.bin: the INT8 calibration cache (-c) does not exist"),
        (["-t", "int8", "-c", "missing.bin", "--trt-version", "8.6"], "missing.bin"),
        (["-u", "0", "--trt-version", "10.3", "--platform", "x86"], "only Jetson"),
        (["--trt-version", "11", "--platform", "jetson"], "does not support JetPack"),
        (["--trt-version", "11.4.0", "--platform", "jetson"], "11.4.1 (JetPack 7.2.2 or later) does"),
        (["--trt-version", "11.5", "--platform", "jetson"], "does not support JetPack"),
    ],
)
def test_model_checks_exit_2(small_onnx, tmp_path, monkeypatch, argv, message, capsys):
    monkeypatch.chdir(tmp_path)  # ./cal.bin, tao-converter's default -c, does not exist here
    assert main([*argv, "--dry-run", str(small_onnx)]) == 2
    assert message in capsys.readouterr().err


def test_tensorrt_11_4_1_plans_for_jetpack(small_onnx, capsys):
    """TensorRT 11.4.1 "supports NVIDIA JetPack 7.2.2 or later on Jetson AGX Orin and Jetson Thor" (its Jetson
    migration page; 11.5.0's calls it the latest that does): a Jetson plan for it was refused as 'TensorRT 11
    does not support JetPack'."""
    assert main(["--trt-version", "11.4.1", "--platform", "jetson", "--dry-run", str(small_onnx)]) == 0
    out = capsys.readouterr().out
    assert "TensorRT 11.4.1 (jetson)" in out and "always strongly typed" in out


def test_int8_on_11_without_scales_is_an_error(small_onnx, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["-t", "int8", "--trt-version", "11", "--dry-run", str(small_onnx)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_int8_with_a_real_tlt_cache_plans_implicit_calibration(models_dir, fixtures_dir, capsys):
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    cache = fixtures_dir / "calibration" / "facemask_detectnet_v2_cal.bin"  # the cache of this very model
    model = models_dir / "facemask_detectnet_v2_resnet18.etlt"
    assert main(["-k", "tlt_encode", "-d", "3,544,960", "-o", "output_cov/Sigmoid,output_bbox/BiasAdd", "-t", "int8",
                 "-c", str(cache), "--trt-version", "10.3", "--dry-run", str(model)]) == 0
    out = capsys.readouterr().out
    assert "builder flags: TF32, INT8" in out
    assert "implicit calibration from the given cache" in out


def test_fixed_batch_model_refuses_a_larger_max_batch(tmp_path, capsys):
    path = tmp_path / "fixed.onnx"
    onnx.save(conv_model(batch=1), str(path))
    assert main(["-m", "16", "--dry-run", str(path)]) == 2
    assert "fixed batch of 1" in capsys.readouterr().err
    assert main(["-m", "1", "--dry-run", "--trt-version", "10.3", str(path)]) == 0


def test_real_uff_etlt_goes_to_the_uff_translator(models_dir, capsys):
    """TLT 2.0 DetectNet_v2 (.etlt with a UFF payload): translated when the translator exists,
    otherwise a clear error names it."""
    model = models_dir / "facemask_detectnet_v2_resnet18.etlt"
    code = main(["-k", "tlt_encode", "-d", "3,544,960", "-o", "output_cov/Sigmoid,output_bbox/BiasAdd",
                 "--trt-version", "10.3", "--dry-run", str(model)])
    captured = capsys.readouterr()
    try:
        from taostream.converter.uff.to_onnx import uff_to_onnx  # noqa: F401
    except ImportError:
        assert code == 2
        assert "UFF translator (taostream.converter.uff.to_onnx)" in captured.err
    else:
        assert code == 0, captured.err
        assert "translated to ONNX first" in captured.out


def test_build_without_tensorrt_names_the_gpu_extra(small_onnx, tmp_path, capsys):
    if installed_trt_version():
        pytest.skip("TensorRT is installed here, so the missing-TensorRT message cannot appear")
    engine = tmp_path / "small.engine"
    assert main(["-d", "3,32,48", "-m", "2", "-e", str(engine), "--trt-version", "10.3", str(small_onnx)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'taostream[gpu]'" in err
    assert not engine.exists() and not Path(str(engine) + ".json").exists()


# ---- taostream convert: the same settings with friendlier names -----------------------------------


def convert_settings(argv):
    from taostream.cli import build_parser
    from taostream.converter.cli.convert import settings_from_convert_args

    return settings_from_convert_args(build_parser().parse_args(["convert", *argv]))


def test_convert_and_tao_converter_agree():
    ours = convert_settings(shlex.split(
        "m.etlt -o out.engine --key k --precision int8 --calibration-cache cal.bin --batch 8 "
        "--workspace 1G --dla-core 1 --strict --input-dims 3,544,960 --outputs NMS"
    ))
    theirs, _ = parse_command_line(shlex.split(
        "-k k -t int8 -c cal.bin -m 8 -w 1<<30 -u 1 -s -d 3,544,960 -o NMS -e out.engine m.etlt"
    ))
    assert ours == theirs


def test_convert_batch_options_and_profile():
    settings = convert_settings(["m.onnx", "-o", "e", "--min", "2", "--opt", "4", "--batch", "8"])
    assert (settings.min_batch, settings.opt_batch, settings.max_batch) == (2, 4, 8)
    settings = convert_settings(["m.onnx", "-o", "e", "--profile", "input_1,1x3x544x960,4x3x544x960,16x3x544x960"])
    assert settings.profiles[0].max == (16, 3, 544, 960)
    with pytest.raises(TaostreamError, match="--min <= --opt <= --batch"):
        convert_settings(["m.onnx", "-o", "e", "--opt", "9", "--batch", "8"])


def test_taostream_convert_dry_run(small_onnx, tmp_path, capsys):
    from taostream.cli import main as taostream_main

    code = taostream_main(["convert", str(small_onnx), "-o", str(tmp_path / "e.engine"), "--min", "1",
                           "--opt", "2", "--batch", "4", "--precision", "fp16", "--trt-version", "8.6", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "network flags: EXPLICIT_BATCH" in out
    assert "input_1,1x3x32x48,2x3x32x48,4x3x32x48" in out
    assert taostream_main(["convert", str(small_onnx), "-o", "e", "--precision", "int3", "--dry-run"]) == 2


def plugin_model() -> onnx.ModelProto:
    """Input -> Conv -> BatchedNMSDynamic_TRT (a YOLOv4-style export's plugin node, TAO attributes)."""
    x = helper.make_tensor_value_info("Input", TensorProto.FLOAT, ["N", 3, 32, 32])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
            for n in ("BatchedNMS", "BatchedNMS_1", "BatchedNMS_2", "BatchedNMS_3")]
    weight = numpy_helper.from_array(np.zeros((4, 3, 1, 1), np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["Input", "w"], ["boxes"]),
        helper.make_node("BatchedNMSDynamic_TRT", ["boxes", "boxes"], [o.name for o in outs],
                         shareLocation=1, backgroundLabelId=-1, numClasses=4, topK=200, keepTopK=100,
                         scoreThreshold=0.3, iouThreshold=0.5, isNormalized=1, clipBoxes=1),
    ]
    graph = helper.make_graph(nodes, "plugins", [x], outs, [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


@pytest.mark.parametrize("version, action", [("8.6", "load_trt"), ("10.3", "load_trt"), ("11", "replace")])
def test_plugin_decision_is_printed(tmp_path, version, action, capsys):
    path = tmp_path / "yolo.onnx"
    onnx.save(plugin_model(), str(path))
    assert main(["-o", "BatchedNMS", "-m", "2", "--trt-version", version, "--dry-run", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"plugin BatchedNMSDynamic_TRT: {action}" in out


def test_real_tlt_model_with_real_cache_reaches_the_build_on_11(models_dir, fixtures_dir, tmp_path, capsys):
    """TLT 2.0 .etlt -> UFF -> ONNX -> the cache's scales as Q/DQ (TensorRT 11) -> build step."""
    if installed_trt_version():
        pytest.skip("TensorRT is installed here; this test shows the pipeline stopping at the build")
    for module in ("taostream.converter.uff.to_onnx", "taostream.converter.int8.qdq"):
        pytest.importorskip(module, reason=f"{module} is not in this build")
    engine = tmp_path / "facemask.engine"
    code = main(["-k", "tlt_encode", "-d", "3,544,960", "-o", "output_cov/Sigmoid,output_bbox/BiasAdd", "-t", "int8",
                 "-c", str(fixtures_dir / "calibration" / "facemask_detectnet_v2_cal.bin"), "-m", "4",
                 "-e", str(engine), "--trt-version", "11", str(models_dir / "facemask_detectnet_v2_resnet18.etlt")])
    captured = capsys.readouterr()
    assert code == 2
    assert "INT8 scales inserted as Q/DQ nodes" in captured.out
    assert "weighted ops quantized" in captured.out
    assert "pip install 'taostream[gpu]'" in captured.err
    assert not engine.exists()


# ---- the Jetson path ------------------------------------------------------------------------------

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "jetson_build.sh"
BUNDLE_MANIFEST = {
    "manifest_version": 1, "network": "detectnet_v2", "precision": "int8", "batch_size": 4,
    "input": {"name": "input_1", "dims_chw": [3, 544, 960], "order": "NCHW"},
    "files": [{"path": "model.onnx"}, {"path": "model_trt10.onnx"}, {"path": "calibration.bin"}, {"path": "labels.txt"}],
}


def test_bundle_convert_argv_per_tensorrt():
    from taostream.converter.cli.convert import bundle_convert_argv

    jetson = bundle_convert_argv(BUNDLE_MANIFEST, "/b", "10.3.0", dla_core=1)
    assert jetson[0] == "/b/model_trt10.onnx"
    assert jetson[jetson.index("-o") + 1] == "/b/engines/model_trt10_b4_dla1_int8.engine"
    assert jetson[jetson.index("--calibration-cache") + 1] == "/b/calibration.bin"
    assert jetson[-4:] == ["--dla-core", "1", "--platform", "jetson"]
    x86 = bundle_convert_argv(BUNDLE_MANIFEST, "/b", "11.1", platform="x86")
    assert x86[0] == "/b/model.onnx" and "--calibration-cache" not in x86  # Q/DQ already in model.onnx
    assert x86[x86.index("-o") + 1] == "/b/engines/model_b4_gpu0_int8.engine"
    broken = dict(BUNDLE_MANIFEST, files=[{"path": "model_trt10.onnx"}])
    with pytest.raises(TaostreamError, match="calibration.bin"):
        bundle_convert_argv(broken, "/b", "10.3")
    with pytest.raises(TaostreamError, match="malformed field"):
        bundle_convert_argv({"files": []}, "/b", "10.3")


def test_bundle_convert_argv_parse_as_taostream_convert():
    from taostream.converter.cli.convert import bundle_convert_argv

    settings = convert_settings(bundle_convert_argv(BUNDLE_MANIFEST, "/b", "10.3", dla_core=0))
    assert (settings.precision, settings.max_batch, settings.input_dims) == ("int8", 4, (3, 544, 960))
    assert (settings.dla_core, settings.platform, settings.network) == (0, "jetson", "detectnet_v2")


def run_script(tmp_path, *args, **env):
    import subprocess
    import sys

    full_env = {"PATH": os.environ["PATH"], "PYTHON": sys.executable, **env}
    return subprocess.run(["bash", str(SCRIPT), "--dry-run", "--build-dir", str(tmp_path / "build"), *args],
                          capture_output=True, text=True, env=full_env, timeout=60)


def test_jetson_script_builds_and_converts_a_bundle(tmp_path):
    import json

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps(BUNDLE_MANIFEST))
    result = run_script(tmp_path, "--bundle", str(bundle), "--dla-core", "0",
                        JETSON_MODEL="NVIDIA Jetson AGX Orin Developer Kit", TRT_VERSION="10.3.0")
    assert result.returncode == 0, result.stderr
    assert "sm_87, TensorRT 10.3.0" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("+ cmake -S ")
    assert lines[1].startswith("+ cmake --build ")
    assert "libnvds_infercustomparser_taostream.so" in lines[2]
    convert = shlex.split(lines[3][2:])
    assert convert[1:4] == ["-m", "taostream", "convert"]
    assert convert[4] == str(bundle / "model_trt10.onnx")
    assert "--dla-core" in convert and "--calibration-cache" in convert


@pytest.mark.parametrize(
    "model, trt, extra, message",
    [
        ("NVIDIA Jetson Orin Nano Developer Kit", "10.3", ["--dla-core", "0"], "has no DLA"),
        ("NVIDIA Jetson AGX Xavier", "11.1", [], "does not support JetPack"),
        ("Raspberry Pi 5", "10.3", [], "unknown Jetson module"),
    ],
)
def test_jetson_script_refuses_impossible_setups(tmp_path, model, trt, extra, message):
    result = run_script(tmp_path, *extra, JETSON_MODEL=model, TRT_VERSION=trt)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    "model, arch",
    [("NVIDIA Jetson AGX Orin", "87"), ("NVIDIA Jetson Xavier NX Developer Kit", "72"),
     ("quill (Jetson TX2)", "62"), ("NVIDIA Jetson Nano Developer Kit", "53")],
)
def test_jetson_script_cuda_architectures(tmp_path, model, arch):
    result = run_script(tmp_path, JETSON_MODEL=model, TRT_VERSION="8.6.2")
    assert f"sm_{arch}," in result.stderr


def _fake_nvcc(tmp_path, release: str) -> str:
    nvcc = tmp_path / "cuda" / "nvcc"
    nvcc.parent.mkdir()
    nvcc.write_text(f"#!/bin/sh\necho 'Cuda compilation tools, release {release}, V{release}.77'\n")
    nvcc.chmod(0o755)
    return str(nvcc)


def test_jetson_script_builds_and_ships_the_plugin_library_a_plugins_bundle_needs(tmp_path):
    import json

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({**BUNDLE_MANIFEST, "plugins": {
        "library": "taostream", "path": "lib/libtaostream_plugins.so", "ops": ["BatchedNMSDynamic_TRT"]}}))
    nvcc = _fake_nvcc(tmp_path, "12.6")
    orin = {"JETSON_MODEL": "NVIDIA Jetson AGX Orin Developer Kit", "NVCC": nvcc}
    result = run_script(tmp_path, "--bundle", str(bundle), TRT_VERSION="10.3.0", **orin)
    assert result.returncode == 0, result.stderr
    configure = shlex.split(result.stdout.splitlines()[0][2:])
    assert {"-DTAOSTREAM_BUILD_PLUGINS=ON", "-DCMAKE_CUDA_ARCHITECTURES=87", f"-DCMAKE_CUDA_COMPILER={nvcc}"} <= set(configure)
    copies = [shlex.split(line[2:]) for line in result.stdout.splitlines() if line.startswith(("+ cp ", "+ mv "))]
    assert copies[-2:] == [["cp", str(tmp_path / "build" / "plugins" / "libtaostream_plugins.so"),
                            str(bundle / "lib" / "libtaostream_plugins.so.tmp")],
                           ["mv", str(bundle / "lib" / "libtaostream_plugins.so.tmp"),
                            str(bundle / "lib" / "libtaostream_plugins.so")]]
    # JetPack 6.0's TensorRT 8.6 has no IPluginV3: the plugins are not configured (CMake would stop),
    # and a bundle that needs them is refused before anything is built
    plain = run_script(tmp_path, TRT_VERSION="8.6.2", **orin)
    assert plain.returncode == 0 and "TAOSTREAM_BUILD_PLUGINS" not in plain.stdout
    refused = run_script(tmp_path, "--bundle", str(bundle), TRT_VERSION="8.6.2", **orin)
    assert refused.returncode == 2 and "+ cmake" not in refused.stdout
    assert "keeps TensorRT plugins libtaostream_plugins.so provides, which needs TensorRT 10" in refused.stderr


def qdq_model() -> onnx.ModelProto:
    """input -> QuantizeLinear -> DequantizeLinear -> Conv: an explicitly quantized graph."""
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", 3, 32, 48])
    y = helper.make_tensor_value_info("output_cov/Sigmoid", TensorProto.FLOAT, ["N", 2, 2, 3])
    inits = [
        numpy_helper.from_array(np.array(0.02, np.float32), "scale"),
        numpy_helper.from_array(np.array(0, np.int8), "zero"),
        numpy_helper.from_array(np.full((2, 3, 16, 16), 0.01, np.float32), "w"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["input_1", "scale", "zero"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["dq"]),
        helper.make_node("Conv", ["dq", "w"], ["conv"], strides=[16, 16]),
        helper.make_node("Sigmoid", ["conv"], ["output_cov/Sigmoid"]),
    ]
    graph = helper.make_graph(nodes, "qdq", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


@pytest.mark.parametrize("version", ["10.3", "11"])
def test_int8_of_a_qdq_model_needs_no_cache(tmp_path, monkeypatch, version, capsys):
    monkeypatch.chdir(tmp_path)  # no ./cal.bin
    path = tmp_path / "qdq.onnx"
    onnx.save(qdq_model(), str(path))
    assert main(["-t", "int8", "-m", "2", "--trt-version", version, "--dry-run", str(path)]) == 0
    assert "already carries Q/DQ nodes" in capsys.readouterr().out


def test_a_plan_for_another_tensorrt_line_is_not_built():
    from taostream.converter.cli.tao_converter import check_planned_version
    from taostream.converter.engine.adapt import BuildRequest, plan_build

    plan = plan_build(BuildRequest(trt_version="10.3", precision="fp16"))
    check_planned_version(plan, "10.13.2.6")  # same line: fine
    with pytest.raises(TaostreamError, match="drop --trt-version"):
        check_planned_version(plan, "11.0.0.5")


SYNOPSIS_VALUES = {
    "<encryption_key>": "k", "<input_dimensions>": "3,384,1248", "<comma separated output nodes>": "NMS",
    "<path to calibration cache file>": "cal.bin", "<path to output engine>": "out.engine",
    "<calibration batch size>": "4", "<maximum batch size of the TRT engine>": "32", "<engine datatype>": "int8",
    "<maximum workspace size of the TRT Engine>": "1073741824", "<input dimension ordering>": "nchw",
}


def test_every_converter_command_line_in_the_seeds_is_covered():
    """The seeds print exactly two converter command lines: the synopsis and the sample."""
    seeds = GUIDE.parent
    starts = [line.strip() for path in sorted(seeds.iterdir()) for line in path.read_text(errors="replace").splitlines()
              if re.match(r"^\s*(tlt|tao|tl-t)-converter\s+[-\[]", line)]
    assert starts == ["tl-t-converter [-h] -k <encryption_key>", "tlt-converter -k $API_KEY \\"]


def test_guide_synopsis_parses_with_values_filled_in():
    text = GUIDE.read_text(encoding="utf-8", errors="replace")
    start = text.index("tl-t-converter [-h]")
    block = text[start:text.index("Required arguments:", start)].strip().strip("`").strip()
    command = " ".join(block.split("\n"))
    for placeholder, value in SYNOPSIS_VALUES.items():
        command = command.replace(placeholder, value)
    argv = [a for a in shlex.split(command.replace("[", " ").replace("]", " "))[1:] if a != "-h"]
    argv = ["model.etlt" if a == "input_file" else a for a in argv]
    settings, _ = parse_command_line(argv)
    assert settings.input_dims == (3, 384, 1248) and settings.output_nodes == ("NMS",)
    assert (settings.calibration_cache, settings.engine, settings.calibration_batch_size) == ("cal.bin", "out.engine", 4)
    assert (settings.max_batch, settings.precision, settings.workspace) == (32, "int8", 1 << 30)
    assert settings.model == "model.etlt" and settings.input_order == "nchw"


def test_another_models_cache_names_the_cache_file(models_dir, fixtures_dir, tmp_path, capsys):
    """The TLT 2.0 guide's INT8 line with the SSD sample's cache over the real LPDNet: TensorRT 11's
    Q/DQ route refuses it (before any TensorRT is needed), in one line naming the -c file."""
    model = models_dir / "lpd_usa_detectnet_v2_pruned.etlt"
    cache = fixtures_dir / "calibration" / "ssd_tlt_cal.bin"
    engine = tmp_path / "lpd.engine"
    code = main(["-k", "nvidia_tlt", "-d", "3,480,640", "-o", "output_cov/Sigmoid,output_bbox/BiasAdd", "-t", "int8",
                 "-c", str(cache), "-e", str(engine), "--trt-version", "11", str(model)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"calibration cache {cache}" in err and "no Conv/Gemm/MatMul input" in err, err
    assert "--calibration-images DIR" in err and "--calibrate-images" not in err, err  # this command's option
    assert not engine.exists()



@pytest.mark.parametrize("trt", ["10.3", "11"])
def test_dry_run_and_implicit_calibration_refuse_another_models_cache(models_dir, fixtures_dir, tmp_path, capsys, trt):
    """TensorRT 10 (Jetson) calibrates implicitly: TensorRT itself would take the SSD cache for LPDNet
    and build an engine without INT8 scales (or with another network's); the plan refuses it, with
    --dry-run too, as the Q/DQ route of TensorRT 11 does."""
    model = models_dir / "lpd_usa_detectnet_v2_pruned.etlt"
    argv = ["-k", "nvidia_tlt", "-d", "3,480,640", "-o", "output_cov/Sigmoid,output_bbox/BiasAdd", "-t", "int8",
            "-e", str(tmp_path / "lpd.engine"), "--trt-version", trt, "--dry-run", str(model)]
    assert main(argv[:12] + ["-c", str(fixtures_dir / "calibration" / "ssd_tlt_cal.bin")] + argv[12:]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ssd_tlt_cal.bin" in err and "no Conv/Gemm/MatMul input" in err, err
    assert main(argv[:12] + ["-c", str(fixtures_dir / "calibration" / "lpd_usa_cal.bin")] + argv[12:]) == 0
    assert "dry run: would write" in capsys.readouterr().out


@pytest.mark.parametrize("dims", ["480,640,3", "3,480,640"])
def test_nhwc_order_for_an_nchw_model_is_refused(models_dir, tmp_path, capsys, dims):
    """`-i nhwc` on the real LPDNet (NCHW 3x480x640): with -d 480,640,3 the error said 'dimension 1 is 3 in
    the model but 480 in -d' without naming -i; with -d 3,480,640 it was accepted and -i ignored."""
    model = models_dir / "lpd_usa_detectnet_v2_pruned.etlt"
    code = main(["-k", "nvidia_tlt", "-d", dims, "-i", "nhwc", "-o", "output_cov/Sigmoid,output_bbox/BiasAdd",
                 "-e", str(tmp_path / "lpd.engine"), "--trt-version", "10.3", "--dry-run", str(model)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "-i nhwc, but input input_1 is NCHW" in err and "drop -i" in err and "3,480,640" in err, err
