"""The model file: open what the user holds (.etlt, .onnx, .uff), decrypt it, and read what it is.

    etlt         ``read_etlt`` / ``decode_etlt_bytes`` / ``encode_etlt_bytes``: the .etlt container (FACTS.md 1);
                 a wrong key is detected, never passed on
    loader       ``open_model``: any accepted file by its content; ``load_onnx_model`` (UFF goes through uff/)
    inspection   ``inspect_model``: `taostream inspect`'s report (format, tensors, ops, plugin status)
    classes      ``model_classes``: the class count the graph outputs (checked against labels)
    preprocess   ``preprocess_image``: nvinfer's preprocessing for a network (used by infer and calibration)

Stage 2 of the converter: imports the converter's root modules and uff/ only.
"""
