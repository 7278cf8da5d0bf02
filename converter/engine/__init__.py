"""The TensorRT engine: what a build on a given TensorRT takes, the graph made ready for it, the build.

    adapt        ``plan_build``: pure decisions per TensorRT version, precision and platform (no TensorRT import)
    onnx_ops     the ONNX ops each TensorRT release's ONNX parser imports
    prep         ``prepare_model``: modernize what the target lacks, INT8 scales as Q/DQ or a cache
    build        ``build_engine``: Polygraphy's loaders (the `gpu` extra: tensorrt, cuda-python), engine metadata
    cuda_runtime cuda-python's runtime, shared by the builder and inference/backends/trt_runner

Stage 6 of the converter, the last before the command line.
"""
