"""Triton python-backend model (copied as model.py by taostream's Triton repository writer).

Runs the TAO model's ONNX with ONNX Runtime on the CPU and post-processes with taostream's numpy
reference (copied beside this file as taostream_reference.py), so the serving environment needs only
numpy<2 and onnxruntime. Outputs per image: ``num_detections`` [1] and ``detections`` [K, 6] =
x1, y1, x2, y2, score, class in network pixels (zero-padded), or ``probabilities`` [C] for classifiers.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _parameters(model_config):
    return {key: value["string_value"] for key, value in model_config.get("parameters", {}).items()}


def pack_detections(detections, max_detections):
    """Reference Detection objects -> (count [1] int32, rows [K, 6] float32)."""
    rows = np.zeros((max_detections, 6), dtype=np.float32)
    kept = sorted(detections, key=lambda d: -d.confidence)[:max_detections]
    for index, det in enumerate(kept):
        rows[index] = (det.left, det.top, det.right, det.bottom, det.confidence, det.class_id)
    return np.array([len(kept)], dtype=np.int32), rows


class TritonPythonModel:
    def initialize(self, args):
        import onnxruntime

        import taostream_reference as reference

        self.reference = reference
        config = json.loads(args["model_config"])
        self.params = _parameters(config)
        self.layout = self.params["output_layout"]
        self.input_name = self.params["input_name"]
        self.num_classes = int(self.params["num_classes"])
        self.max_detections = int(self.params["max_detections"])
        dims = [int(d) for d in config["input"][0]["dims"]]  # protobuf JSON may write int64 as strings
        nhwc = config["input"][0].get("format") == "FORMAT_NHWC"
        self.net_h, self.net_w = (dims[0], dims[1]) if nhwc else (dims[1], dims[2])
        self.decode_params = reference.DecodeParams.from_model_parameters(self.params, self.num_classes)
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]

    def postprocess(self, outputs):
        """Raw outputs of a batch -> the Triton output arrays of that batch."""
        batch = len(next(iter(outputs.values())))
        if self.layout == "softmax":
            return {"probabilities": np.stack([np.asarray(outputs[self.output_names[0]][i], np.float32).reshape(-1)
                                               for i in range(batch)])}
        counts, rows = [], []
        for i in range(batch):
            arrays = self.reference.select_outputs(self.layout, {k: v[i] for k, v in outputs.items()})
            detections = self.reference.decode_image(self.layout, arrays, self.net_w, self.net_h, self.decode_params)
            count, packed = pack_detections(detections, self.max_detections)
            counts.append(count)
            rows.append(packed)
        return {"num_detections": np.stack(counts), "detections": np.stack(rows)}

    def execute(self, requests):
        import triton_python_backend_utils as pb_utils

        responses = []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, self.input_name).as_numpy().astype(np.float32)
            raw = dict(zip(self.output_names, self.session.run(None, {self.input_name: images})))
            tensors = [pb_utils.Tensor(name, array) for name, array in self.postprocess(raw).items()]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
