"""Modernize: replace the TensorRT plugins a target lacks by standard ONNX ops, keep the rest.

    apply     ``modernize(model, target)``: the policy (converter/trt_support.py) and the REWRITES table,
              one report line per plugin node saying what was done and why
    basic     BatchTilePlugin_TRT, ResizeNearest_TRT
    nms       NMS_TRT / NMSDynamic_TRT, BatchedNMS(Dynamic)_TRT, EfficientNMS_TRT
    frcnn     Proposal / ProposalDynamic, CropAndResize (v1 and Dynamic)
    regions   graph regions deployment settings name by layer (output heads, INT8 exclusions)

Every rewrite is checked against the plugin's numpy reference (taostream.plugins) in ONNX Runtime.
Stage 5 of the converter: imports int8/, the plugin references, model/ and the root modules.
"""
