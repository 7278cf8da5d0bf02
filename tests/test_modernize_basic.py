"""BatchTilePlugin_TRT and ResizeNearest_TRT -> standard ONNX, and the plugin-reference runner."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import modernize_graphs as mg
from taostream.plugins import reference as pluginref
from taostream.converter.errors import UnsupportedOpError
from taostream.converter.modernize.basic import replace_batch_tile, replace_resize_nearest


def test_batch_tile_reference_is_the_readme_example():
    a = np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2)
    b = np.arange(16, 28, dtype=np.float32).reshape(1, 3, 2, 2)
    (out,) = pluginref.batch_tile_reference({}, [a, b])
    assert out.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(out[0], b[0])
    np.testing.assert_array_equal(out[1], b[0])


@pytest.mark.parametrize("batch", [1, 3])
def test_batch_tile_rewrite(batch):
    model = mg.batch_tile_model((2, 8, 1))
    rewritten = mg.apply_rewrite(model, replace_batch_tile, ("BatchTilePlugin_TRT",))
    assert "BatchTilePlugin_TRT" not in mg.op_types(rewritten)
    onnx.checker.check_model(rewritten, full_check=True)
    rng = np.random.default_rng(batch)
    feeds = {"x": rng.normal(size=(batch, 3, 4, 4)).astype(np.float32),
             "tile_source": rng.normal(size=(1, 2, 8, 1)).astype(np.float32)}
    got = mg.run_onnxruntime(rewritten, feeds)["tiled"]
    assert got.shape == (batch, 2, 8, 1)
    np.testing.assert_array_equal(got, np.repeat(feeds["tile_source"], batch, axis=0))


def test_resize_nearest_reference_by_hand():
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    (out,) = pluginref.resize_nearest_reference({"scale": 2.0}, [x])
    np.testing.assert_array_equal(out[0, 0], [[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2],
                                              [3, 3, 4, 4, 5, 5], [3, 3, 4, 4, 5, 5]])
    (odd,) = pluginref.resize_nearest_reference({"scale": 1.5}, [x])  # int(2*1.5)=3, int(3*1.5)=4
    np.testing.assert_array_equal(odd[0, 0], [[0, 0, 1, 2], [0, 0, 1, 2], [3, 3, 4, 5]])


@pytest.mark.parametrize("scale", [2.0, 1.5, 3.0])
def test_resize_nearest_rewrite(scale):
    model = mg.resize_nearest_model(4, 5, 7, scale)
    rewritten = mg.apply_rewrite(model, replace_resize_nearest, ("ResizeNearest_TRT",))
    assert "ResizeNearest_TRT" not in mg.op_types(rewritten)
    onnx.checker.check_model(rewritten, full_check=True)
    feeds = {"feature": np.random.default_rng(0).normal(size=(2, 4, 5, 7)).astype(np.float32)}
    expected = pluginref.run_with_plugin_references(model, feeds)["upsampled"]
    got = mg.run_onnxruntime(rewritten, feeds)["upsampled"]
    assert got.shape == expected.shape == (2, 4, int(5 * scale), int(7 * scale))
    np.testing.assert_array_equal(got, expected)


def test_rewrite_refuses_an_old_opset():
    model = mg.resize_nearest_model(1, 2, 2, 2.0)
    model.opset_import[0].version = 10
    with pytest.raises(UnsupportedOpError, match="opset"):
        mg.apply_rewrite(model, replace_resize_nearest, ("ResizeNearest_TRT",))


def test_runner_mixes_onnxruntime_and_references():
    """Standard ops before and after a plugin node: Relu -> BatchTile -> Add(+1)."""
    inputs = [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 2]),
              helper.make_tensor_value_info("t", onnx.TensorProto.FLOAT, [1, 3])]
    one = onnx.numpy_helper.from_array(np.ones(1, np.float32), "one")
    nodes = [helper.make_node("Relu", ["t"], ["relu"]),
             helper.make_node("BatchTilePlugin_TRT", ["x", "relu"], ["tiled"]),
             helper.make_node("Add", ["tiled", "one"], ["y"])]
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
                              initializer=[one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    t = np.array([[-1.0, 0.5, 2.0]], np.float32)
    out = pluginref.run_with_plugin_references(model, {"x": np.zeros((2, 2), np.float32), "t": t})
    np.testing.assert_array_equal(out["y"], [[1.0, 1.5, 3.0], [1.0, 1.5, 3.0]])


def test_runner_names_a_plugin_without_reference():
    model = mg.mask_rcnn_like_model()
    for node in model.graph.node:
        if node.op_type == "MultilevelProposeROI_TRT":  # has a reference now: use one that has none
            node.op_type = "GridAnchor_TRT"
    with pytest.raises(UnsupportedOpError, match="GridAnchor_TRT"):
        pluginref.run_with_plugin_references(model, {"Input": np.zeros((1, 3, 64, 64), np.float32)})


def test_registry_covers_every_replaceable_plugin():
    from taostream.converter.modernize.apply import REWRITES

    mine = [op for op, target in REWRITES.items() if "modernize.frcnn" not in target]  # part B tests its own
    assert len(mine) == 7
    missing = [op for op in mine if pluginref.reference_for(op) is None]
    assert not missing, missing
