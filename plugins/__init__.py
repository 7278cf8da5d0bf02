"""The TensorRT plugins of TAO graphs: their semantics (numpy references), the C++ host code that runs
them on the CPU, and the graph runner that uses either.

One folder per plugin (plugins/<Plugin>/) holds its README (inputs, outputs, fields, limits, TensorRT
releases), its C++ host implementation and CUDA kernel where written. The Python modules:

    reference          ``reference_for(op)``, ``run_with_plugin_references``: NMS, BatchedNMS, EfficientNMS,
                       BatchTile, ResizeNearest references and the ONNX Runtime + references runner
    frcnn              Proposal / ProposalDynamic, CropAndResize references
    maskrcnn           MultilevelProposeROI, MultilevelCropAndResize, GenerateDetection, SpecialSlice references
    host               ``host_implementation_for(op)``: libtaostream_plugins_host.so through ctypes, numpy fallback
    pipeline           PluginPipeline: a plugin graph split once into ONNX Runtime segments and plugin calls
    pipeline_compile   ``compile_plugin_pipeline``, saving one for the Triton CPU model
    checks             ``run_checks``: `taostream plugins check`

reference, maskrcnn and pipeline import only numpy at the top: the Triton CPU model carries copies of them.
Layer: above the converter's root modules and model/, below int8/ and modernize/ (tests/test_import_layers.py).
"""
