"""taostream: deploy NVIDIA TAO/TLT models to DeepStream and Triton on today's TensorRT."""

__version__ = "0.1.0"
