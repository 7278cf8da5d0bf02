"""Synthetic TAO samples: what `tao export` hands over (model.etlt, spec, labels, cache), random weights.

    write         ``write_sample(network, out_dir)``; ``make_sample_model``
    networks      one graph builder per network family (DetectNet_v2 ... MaskRCNN, classification, LPRNet)
    onnx_graphs   the small deterministic ONNX graph builder they share
    specs         experiment specs, class lists and labels

Tests and the README's first command use them; nothing in the model path imports them.
"""
