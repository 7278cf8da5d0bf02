"""UFF in: TLT 2.0/3.0 models exported as UFF, read and translated to ONNX (TensorRT 9 removed UFF).

Modules, in the order a UFF model goes through them:
    reader     ``load_uff``: the UFF protobuf (meta graph, nodes, constants) as plain Python objects
    to_onnx    ``uff_to_onnx``: the whole graph to an equivalent ONNX model
    context    what the translation knows about each tensor, layouts and shapes (shared by the handlers)
    ops        one handler per standard UFF op (Conv, Pool, Binary, ...)
    plugins    the TensorRT plugin nodes (``_NMS_TRT``, ``_BatchTilePlugin_TRT`` ...) kept as ONNX plugin nodes

Like every package of the converter, this one imports nothing itself: import the module you need, so
that loading one stage does not load the others (see docs/architecture.md).
"""
