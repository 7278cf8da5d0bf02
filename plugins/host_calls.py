"""The ctypes calls into libtaostream_plugins_host.so (the plugins' C++ host implementations), one
wrapper per plugin with its numpy reference's checks, errors and outputs; the reference runs instead
where the library is absent or an input is not finite.

Its top-level imports are ctypes and numpy only: the Triton CPU model carries a copy of this module
(as taostream_plugin_host_calls.py, beside the library and copies of the references) and binds it to
those copies. In taostream, plugins/host.py finds, builds and loads the library and binds this module
to taostream.plugins.reference and .maskrcnn. ``bind`` must run before a wrapper is called.
"""

from __future__ import annotations

import ctypes

import numpy as np

LIBRARY_NAME = "libtaostream_plugins_host.so"
ABI_VERSION = 4  # raised when a C function changes or is added
OK, NON_FINITE, BAD_ARGUMENT = 0, 1, 2
_F32P = ctypes.POINTER(ctypes.c_float)

pluginref = mrcnn = None  # the reference modules, set by bind()


def _no_library():
    return None


_library = _no_library  # () -> the loaded library or None, set by bind()


frcnn = None  # the FasterRCNN references (plugins/frcnn.py), set by bind() where given


def bind(reference_module, maskrcnn_module, library=None, frcnn_module=None) -> None:
    """Use these reference modules (taostream's, or the Triton model's copies) and this library
    provider (a callable returning the loaded library or None) from now on. Without ``frcnn_module``
    the Proposal and CropAndResize wrappers run the references registered in ``reference_module``."""
    global pluginref, mrcnn, _library, frcnn
    pluginref, mrcnn, _library = reference_module, maskrcnn_module, library or _no_library
    frcnn = frcnn_module
    # what `plugins check` and the Triton model's serving list compare each wrapper with
    propose_rois_host.numpy_reference = mrcnn.propose_rois_reference
    crop_and_resize_host.numpy_reference = mrcnn.crop_and_resize_reference
    generate_detection_host.numpy_reference = mrcnn.generate_detection_reference
    batched_nms_host.numpy_reference = pluginref.batched_nms_reference
    static_batched_nms_host.numpy_reference = pluginref.reference_for("BatchedNMS_TRT")
    nms_host.numpy_reference = pluginref.nms_reference
    _bind_references()
    _bind_frcnn_and_efficient_nms_references()


# C functions: (argument types, result type). A library lacking one was built from older sources.
FUNCTIONS = {
    "taostream_mrcnn_level_anchor_counts": ([ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(ctypes.c_int64)], None),
    "taostream_multilevel_propose_roi": ([ctypes.c_int32] * 5 + [ctypes.c_float] * 2 + [
        ctypes.POINTER(_F32P), ctypes.POINTER(_F32P), ctypes.POINTER(ctypes.c_int64), _F32P], ctypes.c_int),
    "taostream_batched_nms": ([ctypes.c_int32] * 7 + [ctypes.c_float] * 2 + [ctypes.c_int32] * 3 + [
        _F32P, _F32P, ctypes.POINTER(ctypes.c_int32), _F32P, _F32P, _F32P], ctypes.c_int),
    "taostream_nms": ([ctypes.c_int32] * 8 + [ctypes.c_float] * 2 + [ctypes.c_int32] * 4 + [
        _F32P, _F32P, _F32P, _F32P, ctypes.POINTER(ctypes.c_int32)], ctypes.c_int),
    "taostream_multilevel_crop_and_resize": ([ctypes.c_int32] * 6 + [_F32P, ctypes.POINTER(_F32P),
                                              ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int32), _F32P],
                                             ctypes.c_int),
    "taostream_generate_detection": ([ctypes.c_int32] * 4 + [ctypes.c_float] * 2 + [ctypes.c_int32] * 2 + [_F32P] * 4,
                                     ctypes.c_int),
}

# Exported for the tests only, never called by taostream, so not in FUNCTIONS: open_library neither
# needs nor binds them (a library lacking one is not refused for it, and adding or changing one does not
# raise ABI_VERSION). The *_emulated functions run a plugin's GPU path on the host (same arguments as
# the function without the suffix; tests/test_plugin_device_emulation.py); taostream_plugin_* are the
# enqueue path choice of plugins/common/devicePath.h (tests/test_plugin_host.py). The other two exports
# serve the library itself: the ABI version, and GenerateDetection's clip, which the TensorRT plugin
# shares. tests/test_plugin_host.py holds the library's exports to exactly these names.
TEST_ONLY_FUNCTIONS = (
    "taostream_batched_nms_emulated", "taostream_nms_emulated", "taostream_efficient_nms_emulated",
    "taostream_proposal_emulated", "taostream_multilevel_propose_roi_emulated",
    "taostream_multilevel_crop_and_resize_emulated", "taostream_generate_detection_emulated",
    "taostream_plugin_device_path", "taostream_plugin_narrow_dim", "taostream_plugin_merge_largest_dims",
)
LIBRARY_FUNCTIONS = ("taostream_plugins_host_abi_version", "taostream_generate_detection_clip")


def open_library(path: str):
    """ctypes.CDLL of the library at ``path`` with its argument types set. Raises OSError when it
    cannot be loaded, is of another ABI version or lacks a function (built from older sources)."""
    library = ctypes.CDLL(path)
    try:
        library.taostream_plugins_host_abi_version.restype = ctypes.c_int
        version = library.taostream_plugins_host_abi_version()
        if version != ABI_VERSION:
            raise OSError(f"ABI {version}, this taostream needs {ABI_VERSION}")
        for name, (argtypes, restype) in FUNCTIONS.items():
            function = getattr(library, name)
            function.argtypes, function.restype = argtypes, restype
    except AttributeError as exc:
        raise OSError(str(exc)) from None
    return library


def _pointer(array: np.ndarray):
    return array.ctypes.data_as(_F32P)


def propose_rois_host(attrs: dict, inputs: list, library=None) -> list[np.ndarray]:
    """MultilevelProposeROI_TRT by the host library: the same checks, errors and output as
    maskrcnn.propose_rois_reference (which runs instead without a library or on non-finite input)."""
    library = library or _library()
    if library is None:
        return mrcnn.propose_rois_reference(attrs, inputs)
    op = "MultilevelProposeROI_TRT"
    mrcnn._require(attrs, ("prenms_topk", "keep_topk"), op)
    prenms_topk, keep_topk = int(mrcnn._scalar(attrs["prenms_topk"])), int(mrcnn._scalar(attrs["keep_topk"]))
    fg_threshold = float(mrcnn._scalar(attrs.get("fg_threshold"), 0.0))
    iou_threshold = float(mrcnn._scalar(attrs.get("iou_threshold"), 0.7))
    if not 0 < prenms_topk <= mrcnn.MAX_PRE_NMS_TOPK or keep_topk <= 0:
        raise ValueError(f"{op}: prenms_topk must be in 1..{mrcnn.MAX_PRE_NMS_TOPK} and keep_topk positive")
    height, width = mrcnn._image_size(attrs, op)
    levels = mrcnn.MAX_LEVEL - mrcnn.MIN_LEVEL + 1
    if len(inputs) != 2 * levels:
        raise ValueError(f"{op}: expected {2 * levels} inputs (delta, score per level P2..P6), got {len(inputs)}")
    counts = (ctypes.c_int64 * levels)()
    library.taostream_mrcnn_level_anchor_counts(height, width, counts)
    n = np.asarray(inputs[0]).shape[0]
    deltas, scores = [], []
    for level in range(levels):
        delta = np.ascontiguousarray(np.asarray(inputs[2 * level], np.float32).reshape(n, -1))
        score = np.ascontiguousarray(np.asarray(inputs[2 * level + 1], np.float32).reshape(n, -1))
        if delta.shape[1] != 4 * counts[level] or score.shape[1] != counts[level]:
            raise ValueError(f"{op}: level P{level + mrcnn.MIN_LEVEL} has {score.shape[1]} scores and "
                             f"{delta.shape[1] // 4} deltas, image_size {height}x{width} gives {counts[level]} anchors")
        deltas.append(delta)
        scores.append(score)
    rois = np.zeros((n, keep_topk, 4), np.float32)
    status = library.taostream_multilevel_propose_roi(
        n, height, width, prenms_topk, keep_topk, fg_threshold, iou_threshold,
        (_F32P * levels)(*map(_pointer, deltas)), (_F32P * levels)(*map(_pointer, scores)), counts, _pointer(rois))
    if status == NON_FINITE:
        return mrcnn.propose_rois_reference(attrs, inputs)
    if status != OK:
        raise ValueError(f"{op}: the plugin host library refused the inputs (status {status})")
    return [rois]


def crop_and_resize_host(attrs: dict, inputs: list, library=None) -> list[np.ndarray]:
    """MultilevelCropAndResize_TRT by the host library: maskrcnn.crop_and_resize_reference's
    checks and output [N, R, C, pooled, pooled]; the reference runs instead without a library or for
    inputs it would read otherwise (feature maps of other batch or channel counts)."""
    library = library or _library()
    op = "MultilevelCropAndResize_TRT"
    levels = mrcnn.MAX_LEVEL - mrcnn.MIN_LEVEL + 1
    if library is None or len(inputs) != 1 + levels:
        return mrcnn.crop_and_resize_reference(attrs, inputs)
    mrcnn._require(attrs, ("pooled_size",), op)
    pooled = int(mrcnn._scalar(attrs["pooled_size"]))
    height, width = mrcnn._image_size(attrs, op)
    rois = np.asarray(inputs[0], np.float32)
    features = [np.ascontiguousarray(np.asarray(f, np.float32)) for f in inputs[1:]]
    n = rois.shape[0] if rois.ndim else 0
    if (pooled <= 0 or n == 0 or rois.size % (n * 4) or any(f.ndim != 4 for f in features)
            or any(f.shape[:2] != features[0].shape[:2] or f.shape[0] != n or 0 in f.shape[2:] for f in features)):
        return mrcnn.crop_and_resize_reference(attrs, inputs)
    rois = np.ascontiguousarray(rois.reshape(n, -1, 4))
    channels = features[0].shape[1]
    out = np.empty((n, rois.shape[1], channels, pooled, pooled), np.float32)
    heights = (ctypes.c_int32 * levels)(*(f.shape[2] for f in features))
    widths = (ctypes.c_int32 * levels)(*(f.shape[3] for f in features))
    status = library.taostream_multilevel_crop_and_resize(
        n, rois.shape[1], channels, pooled, height, width, _pointer(rois),
        (_F32P * levels)(*map(_pointer, features)), heights, widths, _pointer(out))
    if status != OK:
        return mrcnn.crop_and_resize_reference(attrs, inputs)
    return [out]


def generate_detection_host(attrs: dict, inputs: list, library=None) -> list[np.ndarray]:
    """GenerateDetection_TRT by the host library: maskrcnn.generate_detection_reference's
    checks and output [N, keep_topk, 6]; the reference runs instead without a library, for inputs it
    would refuse or that are not finite."""
    library = library or _library()
    if library is None:
        return mrcnn.generate_detection_reference(attrs, inputs)
    op = "GenerateDetection_TRT"
    try:
        mrcnn._require(attrs, ("num_classes", "keep_topk"), op)
        num_classes, keep_topk = int(mrcnn._scalar(attrs["num_classes"])), int(mrcnn._scalar(attrs["keep_topk"]))
        score_threshold = float(mrcnn._scalar(attrs.get("score_threshold"), 0.0))
        iou_threshold = float(mrcnn._scalar(attrs.get("iou_threshold"), 0.5))
        height, width = mrcnn._image_size(attrs, op)
        rois = np.ascontiguousarray(np.asarray(inputs[2], np.float32))
        n = rois.shape[0]
        rois = rois.reshape(n, -1, 4)
        count = rois.shape[1]
        deltas = np.ascontiguousarray(np.asarray(inputs[0], np.float32).reshape(n, count, num_classes, 4))
        scores = np.ascontiguousarray(np.asarray(inputs[1], np.float32).reshape(n, count, num_classes))
    except (ValueError, IndexError, TypeError):
        return mrcnn.generate_detection_reference(attrs, inputs)  # its error
    if count > mrcnn.MAX_DETECTION_ROIS or num_classes < 2 or keep_topk <= 0:
        return mrcnn.generate_detection_reference(attrs, inputs)  # its error
    out = np.zeros((n, keep_topk, 6), np.float32)
    status = library.taostream_generate_detection(n, count, num_classes, keep_topk, score_threshold, iou_threshold,
                                                  height, width, _pointer(deltas), _pointer(scores), _pointer(rois),
                                                  _pointer(out))
    if status != OK:
        return mrcnn.generate_detection_reference(attrs, inputs)
    return [out]


def batched_nms_host(attrs: dict, inputs: list, static: bool = False, library=None) -> list[np.ndarray]:
    """BatchedNMS(Dynamic)_TRT by the host library: reference.batched_nms_reference's checks and
    outputs (num_detections [N, 1], or [N] for the static plugin, boxes, scores, classes). Inputs the
    reference would refuse or that are not finite go to the reference."""
    library = library or _library()
    if library is None:
        return pluginref.batched_nms_reference(attrs, inputs, static)
    p = pluginref.batched_nms_parameters(attrs)
    pluginref.check_nms_parameters(p, "BatchedNMS_TRT")
    boxes = np.asarray(inputs[0], dtype=np.float32)
    scores = np.asarray(inputs[1], dtype=np.float32)
    loc_classes = 1 if p.share_location else p.num_classes
    if boxes.ndim < 2 or boxes.size == 0 or boxes.size != boxes.shape[0] * boxes.shape[1] * loc_classes * 4 or \
            scores.size != boxes.shape[0] * boxes.shape[1] * p.num_classes:
        return pluginref.batched_nms_reference(attrs, inputs, static)  # its error, or its reading of the shapes
    n, count, k = boxes.shape[0], boxes.shape[1], p.keep_top_k
    boxes, scores = np.ascontiguousarray(boxes), np.ascontiguousarray(scores)
    num = np.zeros(n, np.int32)
    out_boxes, out_scores, out_classes = (np.zeros((n, k, 4), np.float32), np.zeros((n, k), np.float32),
                                          np.zeros((n, k), np.float32))
    status = library.taostream_batched_nms(
        n, count, p.num_classes, int(p.share_location), p.background_label_id, p.top_k, k, p.score_threshold,
        p.iou_threshold, int(p.is_normalized), int(p.caffe_semantics), int(p.clip_boxes), _pointer(boxes),
        _pointer(scores), num.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), _pointer(out_boxes),
        _pointer(out_scores), _pointer(out_classes))
    if status != OK:
        return pluginref.batched_nms_reference(attrs, inputs, static)
    return [num if static else num.reshape(n, 1), out_boxes, out_scores, out_classes]


def static_batched_nms_host(attrs: dict, inputs: list) -> list[np.ndarray]:
    return batched_nms_host(attrs, inputs, static=True)


def nms_host(attrs: dict, inputs: list, library=None) -> list[np.ndarray]:
    """NMS_TRT / NMSDynamic_TRT by the host library: reference.nms_reference's checks and outputs
    (detections [N, 1, keepTopK, 7], keep counts [N, 1, 1, 1] as int32 bits in float32). Inputs the
    reference would refuse or read otherwise, or that are not finite, go to the reference."""
    library = library or _library()
    if library is None:
        return pluginref.nms_reference(attrs, inputs)
    p = pluginref.nms_parameters(attrs)
    pluginref.check_nms_parameters(p, "NMS_TRT")
    if sorted(p.input_order) != [0, 1, 2] or len(inputs) < 3:
        return pluginref.nms_reference(attrs, inputs)
    loc, conf, prior = (np.ascontiguousarray(np.asarray(inputs[i], dtype=np.float32)) for i in p.input_order)
    n, prior_batch = loc.shape[0] if loc.ndim else 0, prior.shape[0] if prior.ndim else 0
    loc_classes = 1 if p.share_location else p.num_classes
    priors = prior.size // max(prior_batch * 8, 1)
    if (n == 0 or priors == 0 or prior_batch not in (1, n) or prior.size != prior_batch * 8 * priors
            or loc.size != n * priors * loc_classes * 4 or conf.size != n * priors * p.num_classes):
        return pluginref.nms_reference(attrs, inputs)
    detections = np.zeros((n, 1, p.keep_top_k, 7), np.float32)
    counts = np.zeros((n, 1, 1, 1), np.int32)
    status = library.taostream_nms(
        n, priors, p.num_classes, prior_batch, int(p.share_location), p.background_label_id, p.top_k, p.keep_top_k,
        p.score_threshold, p.iou_threshold, int(p.is_normalized), int(p.conf_sigmoid),
        int(p.variance_encoded_in_target), p.code_type, _pointer(loc), _pointer(conf), _pointer(prior),
        _pointer(detections), counts.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)))
    if status != OK:
        return pluginref.nms_reference(attrs, inputs)
    return [detections, counts.view(np.float32)]


# op name -> host implementation (tests and `plugins check` patch entries)
HOST_IMPLEMENTATIONS = {
    "NMS_TRT": nms_host, "NMSDynamic_TRT": nms_host, "NMS": nms_host,
    "MultilevelProposeROI_TRT": propose_rois_host, "MultilevelProposeROI": propose_rois_host,
    "MultilevelCropAndResize_TRT": crop_and_resize_host, "MultilevelCropAndResize": crop_and_resize_host,
    "GenerateDetection_TRT": generate_detection_host, "GenerateDetection": generate_detection_host,
    "BatchedNMSDynamic_TRT": batched_nms_host, "BatchedNMS_TRT": static_batched_nms_host,
    "BatchedNMS": static_batched_nms_host,
}


def host_implementations() -> dict:
    """Op name -> host implementation, for the ops the bound library can run (empty without one)."""
    return dict(HOST_IMPLEMENTATIONS) if _library() is not None else {}
# ----------------------------------------------------------------------------- the element-moving plugins
# BatchTilePlugin_TRT, ResizeNearest_TRT and SpecialSlice_TRT: copies, so NaN and infinite values are
# copied as they are (no fallback for them); inputs the reference would refuse or read otherwise go to it.

FUNCTIONS.update({
    "taostream_batch_tile": ([ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int),
    "taostream_resize_nearest_output_size": ([ctypes.c_int64, ctypes.c_float], ctypes.c_int64),
    "taostream_resize_nearest": ([ctypes.c_int64] * 3 + [ctypes.c_float, ctypes.c_int64, ctypes.c_void_p,
                                                         ctypes.c_void_p], ctypes.c_int),
    "taostream_special_slice": ([ctypes.c_int64, _F32P, _F32P], ctypes.c_int),
})


def _plain(array: np.ndarray) -> bool:
    """An array of plain values (not objects) the C functions can copy byte for byte."""
    return not array.dtype.hasobject


def batch_tile_host(attrs: dict, inputs: list, library=None) -> list[np.ndarray]:
    """BatchTilePlugin_TRT by the host library: pluginref.batch_tile_reference's output (the second
    input's first item, batch(first input) times, its dtype kept)."""
    library = library or _library()
    if library is None or len(inputs) < 2:
        return pluginref.batch_tile_reference(attrs, inputs)
    first, source = np.asarray(inputs[0]), np.asarray(inputs[1])
    if first.ndim == 0 or source.ndim == 0 or source.shape[0] == 0 or not _plain(source):
        return pluginref.batch_tile_reference(attrs, inputs)
    item = np.ascontiguousarray(source[:1])
    out = np.empty((first.shape[0], *source.shape[1:]), source.dtype)
    status = library.taostream_batch_tile(out.shape[0], item.nbytes, item.ctypes.data, out.ctypes.data)
    if status != OK:
        return pluginref.batch_tile_reference(attrs, inputs)
    return [out]




def resize_nearest_host(attrs: dict, inputs: list, library=None) -> list[np.ndarray]:
    """ResizeNearest_TRT by the host library: pluginref.resize_nearest_reference's output
    [..., int(H * scale), int(W * scale)] (float32 product and division), its dtype kept."""
    library = library or _library()
    if library is None or not inputs:
        return pluginref.resize_nearest_reference(attrs, inputs)
    scale = np.float32(pluginref._scalar(attrs.get("scale"), 2.0))
    x = np.asarray(inputs[0])
    if x.ndim < 2 or not _plain(x):
        return pluginref.resize_nearest_reference(attrs, inputs)
    height, width = x.shape[-2:]
    out_h = library.taostream_resize_nearest_output_size(height, scale)
    out_w = library.taostream_resize_nearest_output_size(width, scale)
    if out_h < 0 or out_w < 0:
        return pluginref.resize_nearest_reference(attrs, inputs)
    x = np.ascontiguousarray(x)
    out = np.empty((*x.shape[:-2], out_h, out_w), x.dtype)
    planes = int(np.prod(x.shape[:-2], dtype=np.int64))
    status = library.taostream_resize_nearest(planes, height, width, scale, x.itemsize, x.ctypes.data,
                                              out.ctypes.data)
    if status != OK:
        return pluginref.resize_nearest_reference(attrs, inputs)  # its IndexError
    return [out]




def special_slice_host(attrs: dict, inputs: list, library=None) -> list[np.ndarray]:
    """SpecialSlice_TRT by the host library: pluginref_mrcnn.special_slice_reference's output
    [N, K, 4], the first four values of each detection row [N, K, 6]."""
    library = library or _library()
    if library is None or not inputs:
        return mrcnn.special_slice_reference(attrs, inputs)
    detections = np.asarray(inputs[0], np.float32)
    n = detections.shape[0] if detections.ndim else 0
    if n == 0 or detections.size % (n * 6):
        return mrcnn.special_slice_reference(attrs, inputs)  # its error, or its reading of the shape
    detections = np.ascontiguousarray(detections)
    boxes = np.empty((n, detections.size // (n * 6), 4), np.float32)
    status = library.taostream_special_slice(detections.size // 6, _pointer(detections), _pointer(boxes))
    if status != OK:
        return mrcnn.special_slice_reference(attrs, inputs)
    return [boxes]




def _bind_references() -> None:
    """bind()'s part for these wrappers: what `plugins check` compares each with."""
    batch_tile_host.numpy_reference = pluginref.batch_tile_reference
    resize_nearest_host.numpy_reference = pluginref.resize_nearest_reference
    special_slice_host.numpy_reference = mrcnn.special_slice_reference


HOST_IMPLEMENTATIONS.update({
    "BatchTilePlugin_TRT": batch_tile_host, "BatchTilePlugin": batch_tile_host,
    "ResizeNearest_TRT": resize_nearest_host, "ResizeNearest": resize_nearest_host,
    "SpecialSlice_TRT": special_slice_host, "SpecialSlice": special_slice_host,
})


# ----------------------------------------------------------------------------- CropAndResize (FasterRCNN)

FUNCTIONS.update({
    "taostream_crop_and_resize": ([ctypes.c_int32] * 7 + [_F32P, _F32P, _F32P], ctypes.c_int),
})


def _frcnn_reference(op: str, attrs: dict, inputs: list) -> list[np.ndarray]:
    return pluginref.reference_for(op)(attrs, inputs)


def frcnn_crop_and_resize_host(attrs: dict, inputs: list, library=None, op: str = "CropAndResize") -> list[np.ndarray]:
    """CropAndResize / CropAndResizeDynamic (version 1) by the host library: frcnn.crop_and_resize_adapter's
    checks and output [N, R, C, crop_height, crop_width]; the reference runs instead without a library,
    for inputs it would refuse or read otherwise, or that are not finite."""
    library = library or _library()
    if library is None or frcnn is None or len(inputs) < 2:
        return _frcnn_reference(op, attrs, inputs)
    sizes = frcnn.crop_and_resize_attributes(attrs)  # the reference's error for missing fields
    crop_h, crop_w = sizes["crop_height"], sizes["crop_width"]
    fm, rois = np.asarray(inputs[0], np.float32), np.asarray(inputs[1], np.float32)
    if fm.ndim != 4 or 0 in fm.shape or crop_h <= 0 or crop_w <= 0 or rois.size % (fm.shape[0] * 4):
        return _frcnn_reference(op, attrs, inputs)
    n, c, h, w = fm.shape
    fm, rois = np.ascontiguousarray(fm), np.ascontiguousarray(rois.reshape(n, -1, 4))
    out = np.empty((n, rois.shape[1], c, crop_h, crop_w), np.float32)
    status = library.taostream_crop_and_resize(n, c, h, w, rois.shape[1], crop_h, crop_w, _pointer(fm),
                                               _pointer(rois), _pointer(out))
    if status != OK:
        return _frcnn_reference(op, attrs, inputs)
    return [out]


# ----------------------------------------------------------------------------- Proposal (FasterRCNN)

FUNCTIONS.update({
    "taostream_proposal": ([ctypes.c_int32] * 7 + [ctypes.c_float] * 2 + [ctypes.c_int32] * 3 + [_F32P, ctypes.c_int32]
                           + [_F32P] * 4, ctypes.c_int),
})


def proposal_host(attrs: dict, inputs: list, library=None, op: str = "Proposal") -> list[np.ndarray]:
    """Proposal / ProposalDynamic by the host library: frcnn.proposal_adapter's checks and output
    rois [N, post_nms_top_n, 4, 1]; the reference runs instead without a library, for inputs it would
    refuse or read otherwise, or NaN scores."""
    library = library or _library()
    if library is None or frcnn is None or len(inputs) < 2:
        return _frcnn_reference(op, attrs, inputs)
    p = frcnn.proposal_attributes(attrs)  # the reference's error for missing fields
    scores, deltas = np.asarray(inputs[0], np.float32), np.asarray(inputs[1], np.float32)
    sizes = np.ascontiguousarray(np.asarray(p["anchor_sizes"], np.float32).reshape(-1))
    ratios = np.ascontiguousarray(np.asarray(p["anchor_ratios"], np.float32).reshape(-1))
    if (scores.ndim != 4 or scores.shape[1] != sizes.size * ratios.size or deltas.size != 4 * scores.size
            or 0 in scores.shape or p["pre_nms_top_n"] <= 0 or p["post_nms_top_n"] <= 0
            or p["input_height"] < 2 or p["input_width"] < 2):
        return _frcnn_reference(op, attrs, inputs)
    n, a, h, w = scores.shape
    scores, deltas = np.ascontiguousarray(scores), np.ascontiguousarray(deltas)
    rois = np.empty((n, p["post_nms_top_n"], 4, 1), np.float32)
    status = library.taostream_proposal(
        n, a, h, w, p["input_height"], p["input_width"], p["rpn_stride"], p["roi_min_size"], p["nms_iou_threshold"],
        p["pre_nms_top_n"], p["post_nms_top_n"], sizes.size, _pointer(sizes), ratios.size, _pointer(ratios),
        _pointer(scores), _pointer(deltas), _pointer(rois))
    if status != OK:
        return _frcnn_reference(op, attrs, inputs)
    return [rois]


# ----------------------------------------------------------------------------- EfficientNMS_TRT

FUNCTIONS.update({
    "taostream_efficient_nms": ([ctypes.c_int32] * 9 + [ctypes.c_float] * 2 + [ctypes.c_int32] * 2 + [_F32P] * 3 + [
        ctypes.POINTER(ctypes.c_int32), _F32P, _F32P, ctypes.POINTER(ctypes.c_int32)], ctypes.c_int),
})


def efficient_nms_host(attrs: dict, inputs: list, library=None) -> list[np.ndarray]:
    """EfficientNMS_TRT by the host library: pluginref.efficient_nms_reference's checks and outputs
    (num_detections [N, 1], boxes [N, K, 4], scores [N, K], classes int32 [N, K]); the reference runs
    instead without a library, for inputs it would refuse or read otherwise, or that are not finite
    (a NaN score, a non-finite box or anchor, a candidate box the decoder makes infinite)."""
    library = library or _library()
    if library is None or len(inputs) < 2:
        return pluginref.efficient_nms_reference(attrs, inputs)
    p = pluginref.efficient_nms_parameters(attrs)  # the reference's errors
    boxes, scores = np.asarray(inputs[0], np.float32), np.asarray(inputs[1], np.float32)
    anchors = np.asarray(inputs[2], np.float32) if len(inputs) > 2 else None
    if scores.ndim != 3 or 0 in scores.shape:
        return pluginref.efficient_nms_reference(attrs, inputs)
    n, count, classes = scores.shape
    box_classes = boxes.size // (n * count * 4)
    anchor_batch = 0 if anchors is None else (anchors.shape[0] if anchors.ndim else -1)
    if (box_classes not in (1, classes) or boxes.size != n * count * box_classes * 4
            or (anchors is not None and (anchor_batch not in (1, n) or anchors.size != anchor_batch * count * 4))):
        return pluginref.efficient_nms_reference(attrs, inputs)
    boxes, scores = np.ascontiguousarray(boxes), np.ascontiguousarray(scores)
    anchors = None if anchors is None else np.ascontiguousarray(anchors)
    k = p.max_output_boxes
    num, out_boxes = np.zeros((n, 1), np.int32), np.zeros((n, k, 4), np.float32)
    out_scores, out_classes = np.zeros((n, k), np.float32), np.zeros((n, k), np.int32)
    int32p = ctypes.POINTER(ctypes.c_int32)
    status = library.taostream_efficient_nms(
        n, count, classes, box_classes, anchor_batch, p.box_coding, p.background_class, int(p.class_agnostic),
        int(p.score_activation), float(p.sort_threshold()), p.iou_threshold, k, pluginref.EFFICIENT_NMS_SELECTED_BOXES,
        _pointer(boxes), _pointer(scores), None if anchors is None else _pointer(anchors),
        num.ctypes.data_as(int32p), _pointer(out_boxes), _pointer(out_scores), out_classes.ctypes.data_as(int32p))
    if status != OK:
        return pluginref.efficient_nms_reference(attrs, inputs)
    return [num, out_boxes, out_scores, out_classes]


def _bind_frcnn_and_efficient_nms_references() -> None:
    efficient_nms_host.numpy_reference = pluginref.efficient_nms_reference
    frcnn_crop_and_resize_host.numpy_reference = pluginref.reference_for("CropAndResize")
    proposal_host.numpy_reference = pluginref.reference_for("Proposal")


HOST_IMPLEMENTATIONS.update({"CropAndResize": frcnn_crop_and_resize_host,
                             "CropAndResizeDynamic": frcnn_crop_and_resize_host,
                             "Proposal": proposal_host, "ProposalDynamic": proposal_host,
                             "EfficientNMS_TRT": efficient_nms_host})
