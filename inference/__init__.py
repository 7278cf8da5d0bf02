"""Runners with one interface (ONNX Runtime, TensorRT, Triton), preprocessing, result writers and the
DeepStream app."""
