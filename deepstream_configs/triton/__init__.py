"""Triton: model repositories for a bundle and the nvinferserver configs that use them.

    repository     the GPU (TensorRT) and CPU (ONNX Runtime / python backend) models and their config.pbtxt
    python_model   the CPU model's model.py (copied into the repository; imports no taostream)
    nvinferserver  DeepStream's nvinferserver configs: the same preprocessing and parser as nvinfer
    pbtxt          protobuf text written from plain Python data
"""
