"""Building blocks of the synthetic TAO sample graphs: a small ONNX graph builder with deterministic
weights, and the TensorRT plugin op schemas that let ``onnx.checker`` validate plugin nodes.

Plugin nodes are written the way TAO's exporters write them (onnx-graphsurgeon ``Node(op=...)``
without a domain, so domain ``""``; op_type = the TensorRT plugin creator name). ``onnx.checker``
rejects an unknown op in the default domain ("No Op registered for ..."), so instead of moving the
nodes to a custom domain (which would make the samples differ from real exports) we register, inside
``plugin_schemas()``, one ``OpSchema`` per plugin in the default domain whose attributes are the
plugin creator's fields with their TensorRT field types. The checker then accepts the plugin nodes
AND verifies that every attribute is a field the creator knows, with the type the TensorRT ONNX
parser will hand it
(ONNX INT/INTS -> kINT32, FLOAT/FLOATS -> kFLOAT32, STRING -> kCHAR). The TensorRT ONNX parser
imports any op it has no importer for through its plugin fallback, by op_type, whatever the domain;
``plugin_version`` (default "1") and ``plugin_namespace`` (default "") are the optional string
attributes it reads to pick the creator, and it passes only the attributes the creator lists
(onnx-tensorrt ModelImporter.cpp / onnxOpImporters.cpp FallbackPluginImporter, loadFields).

Field lists: TensorRT OSS ``plugin/<name>/*.cpp`` creator constructors (release 10.x, the last
release carrying all of them).
"""

from __future__ import annotations

import contextlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13  # the ONNX opset TAO's TF1 exporters target (tf2onnx/keras2onnx default range)

_I, _F, _IS, _FS, _S = "INT", "FLOAT", "INTS", "FLOATS", "STRING"

# creator fields of each plugin: name -> ONNX attribute type
PLUGIN_FIELDS: dict[str, dict[str, str]] = {
    "BatchTilePlugin_TRT": {},
    "NMSDynamic_TRT": {
        "shareLocation": _I, "varianceEncodedInTarget": _I, "backgroundLabelId": _I, "numClasses": _I,
        "topK": _I, "keepTopK": _I, "confidenceThreshold": _F, "nmsThreshold": _F, "inputOrder": _IS,
        "confSigmoid": _I, "isNormalized": _I, "codeType": _I, "scoreBits": _I, "isBatchAgnostic": _I,
    },
    "BatchedNMSDynamic_TRT": {
        "shareLocation": _I, "backgroundLabelId": _I, "numClasses": _I, "topK": _I, "keepTopK": _I,
        "scoreThreshold": _F, "iouThreshold": _F, "isNormalized": _I, "clipBoxes": _I, "scoreBits": _I,
        "caffeSemantics": _I,
    },
    "ProposalDynamic": {
        "input_height": _I, "input_width": _I, "rpn_stride": _I, "roi_min_size": _F,
        "nms_iou_threshold": _F, "pre_nms_top_n": _I, "post_nms_top_n": _I, "anchor_sizes": _FS,
        "anchor_ratios": _FS,
    },
    "CropAndResizeDynamic": {"crop_width": _I, "crop_height": _I},
    "ResizeNearest_TRT": {"scale": _F},
    "MultilevelProposeROI_TRT": {
        "prenms_topk": _I, "keep_topk": _I, "fg_threshold": _F, "iou_threshold": _F, "image_size": _IS,
    },
    "MultilevelCropAndResize_TRT": {"pooled_size": _I, "image_size": _IS},
    "GenerateDetection_TRT": {
        "num_classes": _I, "keep_topk": _I, "score_threshold": _F, "iou_threshold": _F, "image_size": _IS,
    },
    "EfficientNMS_TRT": {
        "score_threshold": _F, "iou_threshold": _F, "max_output_boxes": _I, "background_class": _I,
        "score_activation": _I, "class_agnostic": _I, "box_coding": _I,
    },
}

def _plugin_schema(op: str, fields: dict[str, str]) -> onnx.defs.OpSchema:
    schema_cls = onnx.defs.OpSchema
    variadic = schema_cls.FormalParameterOption.Variadic
    attributes = [
        schema_cls.Attribute(name, getattr(schema_cls.AttrType, kind), "TensorRT plugin field", required=False)
        for name, kind in {**fields, "plugin_version": _S, "plugin_namespace": _S}.items()
    ]
    return schema_cls(
        op, "", 1,
        doc=f"TensorRT plugin {op} (validated by taostream; executed only by TensorRT)",
        inputs=[schema_cls.FormalParameter("inputs", "T", param_option=variadic, is_homogeneous=False)],
        outputs=[schema_cls.FormalParameter("outputs", "T", param_option=variadic, is_homogeneous=False)],
        type_constraints=[("T", ["tensor(float)", "tensor(float16)", "tensor(int32)"], "plugin tensors")],
        attributes=attributes,
    )


@contextlib.contextmanager
def plugin_schemas():
    """Within the block, ONNX knows the TensorRT plugin ops above (default domain), so
    ``onnx.checker`` and strict shape inference accept plugin nodes and check their attributes.

    The registration is process-global in ONNX, so it is undone on exit: other code that tells
    plugin ops from standard ones with ``onnx.defs.has`` keeps working. Re-entrant."""
    added = []
    try:
        for op, fields in PLUGIN_FIELDS.items():
            if not onnx.defs.has(op, ""):
                onnx.defs.register_schema(_plugin_schema(op, fields))
                added.append(op)
        yield
    finally:
        for op in added:
            onnx.defs.deregister_schema(op, 1, "")


class GraphBuilder:
    """Collects nodes, weights and declared tensor shapes; weights come from one seeded generator so
    the same build gives byte-identical ONNX."""

    def __init__(self, seed: int, input_gain: float = 1.0):
        self.rng = np.random.default_rng(seed)
        # scales the first convolution so that a preprocessed image (range up to ~150 in caffe
        # mode) gives O(1) features: heads then stay in ranges where exp()/sigmoid decoding is finite
        self.input_gain = input_gain
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.value_info: list[onnx.ValueInfoProto] = []

    # -- primitives -------------------------------------------------------------------------
    def const(self, name: str, array) -> str:
        array = np.array(array, copy=True)  # keeps 0-d scalars 0-d (ascontiguousarray would not)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def ints(self, name: str, values) -> str:
        return self.const(name, np.asarray(values, dtype=np.int64))

    def node(self, op: str, inputs: list[str], name: str, outputs: list[str] | None = None, **attrs) -> list[str]:
        outputs = outputs or [name]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs

    def op(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        return self.node(op, inputs, name, **attrs)[0]

    def declare(self, name: str, dtype: int, shape: list) -> None:
        """Record a tensor's shape where ONNX shape inference cannot (plugin outputs)."""
        self.value_info.append(helper.make_tensor_value_info(name, dtype, shape))

    def plugin(self, op: str, inputs: list[str], name: str, outputs: list[tuple[str, int, list]], **attrs) -> list[str]:
        """A TensorRT plugin node (default domain, as TAO writes them) with declared output shapes."""
        unknown = set(attrs) - set(PLUGIN_FIELDS[op]) - {"plugin_version", "plugin_namespace"}
        if unknown:
            raise ValueError(f"{op} has no field(s) {sorted(unknown)}")
        names = [o[0] for o in outputs]
        self.node(op, inputs, name, outputs=names, **attrs)
        for tensor, dtype, shape in outputs:
            self.declare(tensor, dtype, shape)
        return names

    # -- layers -----------------------------------------------------------------------------
    def conv(self, x: str, name: str, c_in: int, c_out: int, kernel: int = 3, stride: int = 1,
             output: str | None = None, gain: float = 1.0) -> str:
        """Conv + bias (the ONNX form of a Keras Conv2D); He-scaled deterministic weights."""
        fan_in = c_in * kernel * kernel
        scale = gain * np.sqrt(2.0 / fan_in)
        weight = (self.rng.standard_normal((c_out, c_in, kernel, kernel)) * scale).astype(np.float32)
        bias = (self.rng.standard_normal(c_out) * 0.05).astype(np.float32)
        pad = kernel // 2
        return self.node(
            "Conv", [x, self.const(f"{name}/kernel", weight), self.const(f"{name}/bias", bias)],
            f"{name}/BiasAdd", outputs=[output or f"{name}/BiasAdd"],
            kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4,
        )[0]

    def conv_relu(self, x: str, name: str, c_in: int, c_out: int, kernel: int = 3, stride: int = 1,
                  gain: float = 1.0) -> str:
        return self.op("Relu", [self.conv(x, name, c_in, c_out, kernel, stride, gain=gain)], f"{name}/Relu")

    def deconv(self, x: str, name: str, c_in: int, c_out: int) -> str:
        """2x2 stride-2 transposed conv + bias (Keras Conv2DTranspose): doubles H and W."""
        weight = (self.rng.standard_normal((c_in, c_out, 2, 2)) * np.sqrt(1.0 / c_in)).astype(np.float32)
        bias = (self.rng.standard_normal(c_out) * 0.05).astype(np.float32)
        return self.op("ConvTranspose", [x, self.const(f"{name}/kernel", weight), self.const(f"{name}/bias", bias)],
                       f"{name}/BiasAdd", kernel_shape=[2, 2], strides=[2, 2])

    def dense(self, x: str, name: str, d_in: int, d_out: int) -> str:
        """MatMul + Add over the last axis (Keras Dense / TimeDistributed(Dense))."""
        weight = (self.rng.standard_normal((d_in, d_out)) * np.sqrt(1.0 / d_in)).astype(np.float32)
        bias = (self.rng.standard_normal(d_out) * 0.05).astype(np.float32)
        product = self.op("MatMul", [x, self.const(f"{name}/kernel", weight)], f"{name}/MatMul")
        return self.op("Add", [product, self.const(f"{name}/bias", bias)], f"{name}/BiasAdd")

    def reshape(self, x: str, name: str, shape) -> str:
        return self.op("Reshape", [x, self.ints(f"{name}/shape", shape)], name)

    def transpose(self, x: str, name: str, perm) -> str:
        return self.op("Transpose", [x], name, perm=list(perm))

    # -- model ------------------------------------------------------------------------------
    def model(self, graph_name: str, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
              doc: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.initializers,
                                  value_info=self.value_info)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="taostream.samples", producer_version="1",
                                  doc_string=doc)
        model.ir_version = 8  # readable by onnxruntime >= 1.10 and TensorRT 8.6's parser
        return model


def tensor_type(dtype: str) -> int:
    """Registry dtype name -> ONNX element type."""
    return {"FP32": TensorProto.FLOAT, "INT32": TensorProto.INT32}[dtype]
