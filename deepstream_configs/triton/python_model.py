"""Triton python-backend model (copied as model.py by taostream's Triton repository writer).

Runs the TAO model on the CPU and post-processes with taostream's numpy reference (copied beside this
file as taostream_reference.py), so the serving environment needs only numpy<2 and onnxruntime. The
model is either ``model.onnx`` (plugin-free, one ONNX Runtime session) or a ``pipeline/`` folder: a
graph that keeps TensorRT plugin nodes (MaskRCNN), run by the plugin-reference pipeline copied beside
this file (taostream_plugin_pipeline.py with the plugins' numpy references, taostream_pluginref*.py).
Outputs per image: ``num_detections`` [1] and ``detections`` [K, 6] = x1, y1, x2, y2, score, class in
network pixels (zero-padded), plus ``masks`` [K, H, W] for instance segmentation (the detected class's
mask logits, box relative, zero-padded), ``probabilities`` [C] for classifiers, or ``plate`` [1]
(BYTES, "" when NVIDIA's parser would attach nothing) and ``plate_confidence`` [1] for LPRNet.
"""

import glob
import importlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
PIPELINE_FOLDER = "pipeline"  # deepstream_configs/triton/repository.py writes it


def _parameters(model_config):
    return {key: value["string_value"] for key, value in model_config.get("parameters", {}).items()}


def _kept(detections, max_detections):
    """The packing order: descending confidence (stable), at most max_detections."""
    return sorted(detections, key=lambda d: -d.confidence)[:max_detections]


def pack_detections(detections, max_detections):
    """Reference Detection objects -> (count [1] int32, rows [K, 6] float32)."""
    rows = np.zeros((max_detections, 6), dtype=np.float32)
    kept = _kept(detections, max_detections)
    for index, det in enumerate(kept):
        rows[index] = (det.left, det.top, det.right, det.bottom, det.confidence, det.class_id)
    return np.array([len(kept)], dtype=np.int32), rows


def pack_masks(detections, max_detections, mask_size):
    """The masks of the detections pack_detections keeps, in its order: [K, H, W] float32."""
    masks = np.zeros((max_detections, *mask_size), dtype=np.float32)
    for index, det in enumerate(_kept(detections, max_detections)):
        masks[index] = np.asarray(det.mask, dtype=np.float32).reshape(mask_size)
    return masks


def host_implementations(pluginref, maskrcnn):
    """Op name -> C++ host implementation, from the plugin host library copied beside this file
    (taostream_plugin_host_calls.py binds it to the copied references); {} without a library, or when
    it cannot be loaded here (another machine, another ABI): the numpy references run instead."""
    library_path = os.path.join(HERE, "libtaostream_plugins_host.so")
    if not os.path.isfile(library_path) or not os.path.isfile(os.path.join(HERE, "taostream_plugin_host_calls.py")):
        return {}
    import taostream_plugin_host_calls as host_calls  # lazy: optional (copied only with the host library)

    try:
        library = host_calls.open_library(library_path)
    except OSError as exc:
        print(f"taostream: {library_path} not used ({exc}); the plugins' numpy references run", file=sys.stderr)
        return {}
    host_calls.bind(pluginref, maskrcnn, lambda: library)
    return host_calls.host_implementations()


def load_plugin_pipeline(folder):
    """The saved plugin-reference pipeline in ``folder``, its plugins run by the C++ host library where
    it is copied beside this file, else by the numpy references copied beside it (no taostream import)."""
    import taostream_plugin_pipeline as pipeline  # lazy: optional (plugin-pipeline models: copied beside this file)
    import taostream_pluginref as pluginref  # lazy: optional (plugin-pipeline models: copied beside this file)

    maskrcnn = None
    for path in sorted(glob.glob(os.path.join(HERE, "taostream_pluginref_*.py"))):
        module = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
        module.register_references(pluginref.register_reference)
        if module.__name__ == "taostream_pluginref_mrcnn":
            maskrcnn = module
    host = host_implementations(pluginref, maskrcnn) if maskrcnn is not None else {}

    def implementation_for(op):
        return host.get(op) or host.get(op.lstrip("_")) or pluginref.reference_for(op)

    return pipeline.PluginPipeline.load(folder, implementation_for)


def _mask_size(config):
    for output in config["output"]:
        if output["name"] == "masks":
            return tuple(int(d) for d in output["dims"][1:])
    return None


class TritonPythonModel:
    def initialize(self, args):
        import taostream_reference as reference  # lazy: not in the Triton CPU model's copy

        self.reference = reference
        config = json.loads(args["model_config"])
        self.params = _parameters(config)
        self.layout = self.params["output_layout"]
        self.input_name = self.params["input_name"]
        self.num_classes = int(self.params["num_classes"])
        self.max_detections = int(self.params["max_detections"])
        self.mask_size = _mask_size(config)
        self.characters = json.loads(self.params.get("characters", "[]"))  # LPRNet's dictionary
        dims = [int(d) for d in config["input"][0]["dims"]]  # protobuf JSON may write int64 as strings
        nhwc = config["input"][0].get("format") == "FORMAT_NHWC"
        self.net_h, self.net_w = (dims[0], dims[1]) if nhwc else (dims[1], dims[2])
        self.decode_params = reference.DecodeParams.from_model_parameters(self.params, self.num_classes)
        version = os.path.join(args["model_repository"], args["model_version"])
        self.session = self.pipeline = None
        if os.path.isdir(os.path.join(version, PIPELINE_FOLDER)):
            self.pipeline = load_plugin_pipeline(os.path.join(version, PIPELINE_FOLDER))
            self.output_names = list(self.pipeline.outputs)
        else:
            import onnxruntime  # lazy: heavy (only a model without a plugin pipeline)

            self.session = onnxruntime.InferenceSession(os.path.join(version, "model.onnx"),
                                                        providers=["CPUExecutionProvider"])
            self.output_names = [o.name for o in self.session.get_outputs()]

    def infer(self, images):
        """Raw model outputs of a batch, by output name."""
        if self.pipeline is not None:
            return self.pipeline.run({self.input_name: images})
        return dict(zip(self.output_names, self.session.run(None, {self.input_name: images})))

    def postprocess(self, outputs):
        """Raw outputs of a batch -> the Triton output arrays of that batch."""
        batch = len(next(iter(outputs.values())))
        if self.layout == "lprnet_ctc":
            return self._plates(outputs, batch)
        if self.layout == "softmax":
            return {"probabilities": np.stack([np.asarray(outputs[self.output_names[0]][i], np.float32).reshape(-1)
                                               for i in range(batch)])}
        counts, rows, masks = [], [], []
        for i in range(batch):
            arrays = self.reference.select_outputs(self.layout, {k: v[i] for k, v in outputs.items()})
            detections = self.reference.decode_image(self.layout, arrays, self.net_w, self.net_h, self.decode_params)
            count, packed = pack_detections(detections, self.max_detections)
            counts.append(count)
            rows.append(packed)
            if self.mask_size is not None:
                masks.append(pack_masks(detections, self.max_detections, self.mask_size))
        result = {"num_detections": np.stack(counts), "detections": np.stack(rows)}
        if self.mask_size is not None:
            result["masks"] = np.stack(masks)
        return result

    def _plates(self, outputs, batch):
        """LPRNet: the plate NvDsInferParseCustomNVPlate would attach (b"" when it attaches none)."""
        plates, confidences = [], []
        for i in range(batch):
            arrays = self.reference.select_outputs(self.layout, {k: v[i] for k, v in outputs.items()})
            found = self.reference.lprnet_attribute(self.reference.decode_lprnet(arrays[0], arrays[1], self.characters))
            plates.append([found.label.encode("utf-8") if found else b""])
            confidences.append([found.confidence if found else 0.0])
        return {"plate": np.array(plates, dtype=np.object_), "plate_confidence": np.array(confidences, np.float32)}

    def execute(self, requests):
        import triton_python_backend_utils as pb_utils  # lazy: optional (tritonserver)

        responses = []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, self.input_name).as_numpy().astype(np.float32)
            tensors = [pb_utils.Tensor(name, array) for name, array in self.postprocess(self.infer(images)).items()]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
