"""INT8: calibration caches in, explicit quantization (Q/DQ) out.

    calib_cache   ``read_calibration_cache`` / ``write_calibration_cache``: TensorRT's cache text (TRT-7000
                  to TRT-100300 headers, ``:0`` names, blank lines, +inf scales)
    qdq           ``insert_qdq_from_cache``: a cache's scales as QuantizeLinear/DequantizeLinear pairs, weights
                  per channel (TensorRT 10+ has no implicit INT8 for new code; TensorRT 11 none at all)
    calibrate     ``calibrate_images``: fresh calibration on the CPU from images (ONNX Runtime's calibrators)
    entropy       ``entropy_amax``: TensorRT's EntropyCalibration2 threshold from a histogram of |x|

Stage 4 of the converter (after model/ and the plugin references): imports nothing above it.
"""
