"""The model in: networks registry, .etlt codec, UFF/ONNX inspection, graph modernization and
TensorRT engine building. Lowest layer of taostream: imports none of its sibling packages."""
