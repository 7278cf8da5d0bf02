"""Runners with one interface, after Polygraphy's (``activate``, ``input_metadata``, ``infer``).

    runners         the interface, OnnxRuntimeRunner, PluginReferenceRunner, ``cpu_runner``
    trt_runner      TensorRTRunner: a serialized engine with cuda-python buffers (the `gpu` extra)
    triton_runner   TritonRunner: one model on a Triton server over HTTP or gRPC (tritonclient)
    triton_server   start and stop a real tritonserver on 127.0.0.1 (nvidia-pytriton's)
"""
