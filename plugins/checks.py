"""`taostream plugins check`: every plugin's host implementation (libtaostream_plugins_host.so,
plugins/host.py) against its numpy reference (plugins/reference.py, frcnn.py, maskrcnn.py) on generated cases,
bit for bit. The cases are the edge cases the references and the modernize rewrites are tested on:
ties, keepTopK above the candidates, a background class, shareLocation both ways, batches, images
with nothing above the threshold, boxes outside [0, 1], pixel boxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from taostream.plugins import reference as pluginref
from taostream.plugins import maskrcnn as mrcnn
from taostream.converter.trt_support import PLUGINS

EQUAL, DIFFERS, NO_HOST = "equal", "DIFFERS", "no host implementation yet"


@dataclass(frozen=True)
class PluginCase:
    op: str
    name: str
    attrs: dict
    inputs: Callable[[], list]  # built when the case runs


# ----------------------------------------------------------------------------- MultilevelProposeROI

def proposal_inputs(seed: int, height: int, width: int, batch: int = 1, delta_scale: float = 0.3,
                    ties: bool = False) -> list[np.ndarray]:
    """RPN outputs for an image of height x width: per level P2..P6 deltas [N, A, 4, 1] and
    foreground scores [N, A, 1, 1] (rounded to eighths with ``ties``)."""
    rng = np.random.default_rng(seed)
    inputs = []
    for anchors in mrcnn.pyramid_anchors(height, width):
        delta = (rng.standard_normal((batch, len(anchors), 4, 1)) * delta_scale).astype(np.float32)
        score = rng.random((batch, len(anchors), 1, 1)).astype(np.float32)
        if ties:
            score = (np.round(score * 8) / 8).astype(np.float32)
        inputs += [delta, score]
    return inputs


def _proposal(name, seed, height, width, prenms, keep, batch=1, fg=0.0, iou=0.7, **options) -> PluginCase:
    attrs = {"prenms_topk": prenms, "keep_topk": keep, "fg_threshold": fg, "iou_threshold": iou,
             "image_size": [3, height, width]}
    return PluginCase("MultilevelProposeROI_TRT", name, attrs,
                      lambda: proposal_inputs(seed, height, width, batch, **options))


# ----------------------------------------------------------------------------- MultilevelCropAndResize

def roi_align_inputs(seed: int, batch: int, rois: int, channels: int, height: int, width: int,
                     integral: bool = False, outside: bool = False) -> list[np.ndarray]:
    """MultilevelCropAndResize inputs: rois [N, R, 4] (y1, x1, y2, x2 pixels: the first two about the
    whole image, the others with sides log-uniform from 4 pixels to the image size, so every level
    P2..P6 gets some; whole pixels with ``integral``, which puts bins on sample points and three areas
    exactly on the level thresholds; not clipped to the image with ``outside``: those are not valid)
    and the five feature maps P2..P6 [N, C, ceil(H / 2^l), ceil(W / 2^l)]."""
    rng = np.random.default_rng(seed)
    size = np.exp(rng.uniform(np.log(4.0), np.log([height, width]), size=(batch, rois, 2)))
    centre = rng.uniform(0.0, 1.0, size=(batch, rois, 2)) * [height, width]
    lo, hi = centre - size / 2, centre + size / 2
    if not outside:
        lo, hi = np.maximum(lo, 0.0), np.minimum(hi, [height, width])
    if integral:
        lo, hi = np.floor(lo), np.ceil(hi)
    boxes = np.stack([lo[..., 0], lo[..., 1], hi[..., 0], hi[..., 1]], axis=-1).astype(np.float32)
    boxes[:, :2] = [[0, 0, height, width], [8, 16, height - 8, width - 24]][: rois]  # P6-sized: the whole image
    if integral:  # areas exactly on the level thresholds 112², 224², 448² stay on the lower level
        boxes[:, 2:5] = [[100, 100, 212, 212], [300, 300, 524, 524], [10, 10, 458, 458]][: max(rois - 2, 0)]
    maps = [rng.standard_normal((batch, channels, -(-height // 2 ** level), -(-width // 2 ** level))).astype(np.float32)
            for level in range(mrcnn.MIN_LEVEL, mrcnn.MAX_LEVEL + 1)]
    return [boxes, *maps]


def _roi_align(name, seed, batch, rois, channels, pooled, **options) -> PluginCase:
    attrs = {"pooled_size": pooled, "image_size": [3, 832, 1344]}  # TAO's MaskRCNN input
    return PluginCase("MultilevelCropAndResize_TRT", name, attrs,
                      lambda: roi_align_inputs(seed, batch, rois, channels, 832, 1344, **options))


# ----------------------------------------------------------------------------- GenerateDetection

def detection_inputs(seed: int, batch: int, rois: int, num_classes: int, ties: bool = False) -> list[np.ndarray]:
    """GenerateDetection inputs: deltas [N, R, 4C, 1, 1], scores [N, R, C, 1, 1] (quarters with
    ``ties``: equal maxima across classes and rois), rois [N, R, 4] (pixels in a 200 x 220 image)."""
    rng = np.random.default_rng(seed)
    corners = np.sort(rng.random((batch, rois, 2, 2)) * 200, axis=2)  # [N, R, (y, x), (lo, hi)]
    boxes = corners.transpose(0, 1, 3, 2).reshape(batch, rois, 4).astype(np.float32)
    scores = rng.random((batch, rois, num_classes, 1, 1)).astype(np.float32)
    if ties:
        scores = (np.round(scores * 4) / 4).astype(np.float32)
    deltas = rng.standard_normal((batch, rois, 4 * num_classes, 1, 1)).astype(np.float32)
    return [deltas, scores, boxes]


def _detection(name, seed, batch, rois, classes, keep, ties=False, score_threshold=0.0, iou=0.5) -> PluginCase:
    attrs = {"num_classes": classes, "keep_topk": keep, "score_threshold": score_threshold, "iou_threshold": iou,
             "image_size": [3, 200, 220]}
    return PluginCase("GenerateDetection_TRT", name, attrs, lambda: detection_inputs(seed, batch, rois, classes, ties))


# ----------------------------------------------------------------------------- BatchedNMS

def nms_boxes(seed: int, batch: int, count: int, loc_classes: int, num_classes: int, scale: float = 1.0,
              ties: bool = False, empty_image: int | None = None) -> list[np.ndarray]:
    """BatchedNMS inputs: corner boxes [N, count, loc_classes, 4] (centre in [0, 1], size 0.05..0.5,
    times ``scale``) and scores [N, count, num_classes] (quarters with ``ties``; 0.1 everywhere on
    ``empty_image``, under every case's threshold)."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0.0, 1.0, size=(batch, count, loc_classes, 2))
    size = rng.uniform(0.05, 0.5, size=(batch, count, loc_classes, 2))
    boxes = (np.concatenate([centre - size / 2, centre + size / 2], axis=-1) * scale).astype(np.float32)
    scores = rng.uniform(0, 1, size=(batch, count, num_classes)).astype(np.float32)
    if ties:
        scores = (rng.integers(0, 4, size=scores.shape) / 3).astype(np.float32)
    if empty_image is not None:
        scores[empty_image] = 0.1
    return [boxes, scores]


def ssd_inputs(seed: int, batch: int, priors: int, num_classes: int, share_location: bool = True,
               pixels: bool = False, logits: bool = False, ties: bool = False, one_prior_set: bool = False):
    """NMS_TRT inputs (loc, conf, priors) like TAO's SSD: priors [1|N, 2, P*4, 1] (boxes in [0, 1] or
    pixels, variances 0.1, 0.1, 0.2, 0.2), loc [N, P*Cl*4, 1, 1], conf [N, P*C, 1, 1] (softmax, or
    logits for confSigmoid; quarters with ``ties``)."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0.1, 0.9, size=(batch, priors, 2))
    size = rng.uniform(0.05, 0.4, size=(batch, priors, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=-1) * (300.0 if pixels else 1.0)
    variances = np.broadcast_to(np.array([0.1, 0.1, 0.2, 0.2]), boxes.shape)
    prior = np.stack([boxes.reshape(batch, -1), variances.reshape(batch, -1)], axis=1)[..., None].astype(np.float32)
    loc_classes = 1 if share_location else num_classes
    loc = rng.normal(0, 1.0, size=(batch, priors * loc_classes * 4, 1, 1)).astype(np.float32)
    raw = rng.normal(0, 2.0, size=(batch, priors, num_classes))
    conf = raw if logits else np.exp(raw) / np.exp(raw).sum(-1, keepdims=True)
    if ties:
        conf = rng.integers(0, 5, size=conf.shape) / 4
    return [loc, conf.reshape(batch, -1, 1, 1).astype(np.float32), prior[:1] if one_prior_set else prior]


def _ssd(name, op, seed, batch, priors, classes, keep, share=1, pixels=False, logits=False, ties=False,
         one_prior_set=False, **fields) -> PluginCase:
    attrs = dict(shareLocation=share, varianceEncodedInTarget=0, backgroundLabelId=0, confidenceThreshold=0.3,
                 nmsThreshold=0.5, topK=2 * keep, codeType=1, keepTopK=keep, numClasses=classes,
                 inputOrder=[0, 1, 2], confSigmoid=0, isNormalized=1)
    attrs.update(fields)
    return PluginCase(op, name, attrs, lambda: ssd_inputs(seed, batch, priors, classes, bool(share), pixels, logits,
                                                          ties, one_prior_set))


def _batched(name, op, seed, batch, count, classes, keep, share=1, scale=1.0, ties=False, empty_image=None,
             **fields) -> PluginCase:
    attrs = dict(shareLocation=share, backgroundLabelId=-1, scoreThreshold=0.3, iouThreshold=0.5, topK=2 * keep,
                 keepTopK=keep, numClasses=classes, clipBoxes=1, isNormalized=1)
    attrs.update(fields)
    loc_classes = 1 if share else classes
    return PluginCase(op, name, attrs, lambda: nms_boxes(seed, batch, count, loc_classes, classes, scale, ties,
                                                         empty_image))


def _outside_unit(case: PluginCase) -> PluginCase:
    """The same case with boxes reaching outside [0, 1] (x 1.5 - 0.2)."""
    def inputs():
        boxes, scores = case.inputs()
        return [boxes * np.float32(1.5) - np.float32(0.2), scores]
    return PluginCase(case.op, case.name, case.attrs, inputs)


CASES: tuple[PluginCase, ...] = (
    _proposal("ties at the prenms_topk cut", 1, 128, 96, 50, 30, ties=True),
    _proposal("over 512 tied candidates (CUB blocked order)", 2, 256, 192, 4096, 1000, ties=True, iou=0.95),
    _proposal("keep_topk above the candidates", 3, 64, 64, 7, 1000),
    _proposal("fg_threshold drops everything", 4, 64, 64, 100, 10, fg=2.0),
    _proposal("heavy overlap, iou 0.3", 5, 256, 192, 4096, 1000, delta_scale=0.05, iou=0.3),
    _proposal("large deltas (clipped, capped exp)", 6, 128, 128, 500, 200, delta_scale=8.0),
    _proposal("batch of 2", 7, 128, 96, 300, 100, batch=2, ties=True),
    _roi_align("pooled 7, every level", 41, 1, 300, 8, 7),
    _roi_align("pooled 14, whole-pixel rois, batch of 2", 42, 2, 100, 4, 14, integral=True),
    _roi_align("rois outside the image (not valid: zeros)", 43, 2, 100, 3, 7, outside=True),
    _roi_align("pooled 1", 44, 1, 50, 2, 1),
    _detection("4 classes, 1000 rois, keep_topk 100 (TAO's sample)", 31, 1, 1000, 4, 100),
    _detection("ties across classes and rois, batch of 2", 32, 2, 100, 4, 100, ties=True, iou=0.3),
    _detection("40 classes: two argmax groups of 32", 33, 1, 300, 40, 100, ties=True),
    _detection("score_threshold drops most, keep_topk 5", 34, 2, 100, 2, 5, score_threshold=0.9, iou=0.7),
    _detection("all 2048 rois", 35, 1, 2048, 3, 100),
    _ssd("shareLocation 1, background 0, batch 3", "NMSDynamic_TRT", 21, 3, 60, 4, 12),
    _ssd("shareLocation 0, background 3", "NMSDynamic_TRT", 22, 3, 60, 4, 12, share=0, backgroundLabelId=3),
    _ssd("no background, codeType TF_CENTER", "NMS_TRT", 23, 2, 40, 3, 10, backgroundLabelId=-1, codeType=3),
    _ssd("codeType CORNER, variance in target", "NMS_TRT", 24, 2, 40, 3, 10, codeType=0, varianceEncodedInTarget=1),
    _ssd("codeType CORNER_SIZE", "NMS_TRT", 25, 2, 40, 3, 10, codeType=2),
    _ssd("ties on a 0.25 grid", "NMSDynamic_TRT", 26, 2, 50, 4, 30, ties=True, topK=40),
    _ssd("confSigmoid, pixel boxes (Caffe IoU)", "NMSDynamic_TRT", 27, 2, 40, 3, 10, pixels=True, logits=True,
         confSigmoid=1, isNormalized=0, confidenceThreshold=0.5),
    _ssd("one prior set for a batch of 3", "NMS_TRT", 28, 3, 30, 3, 10, one_prior_set=True),
    _ssd("nothing above the threshold", "NMSDynamic_TRT", 29, 2, 30, 3, 8, confidenceThreshold=0.999),
    _batched("shareLocation 1, keepTopK overflow, batch 3", "BatchedNMSDynamic_TRT", 11, 3, 80, 3, 20, topK=30),
    _batched("shareLocation 0, batch 3", "BatchedNMSDynamic_TRT", 12, 3, 80, 3, 20, share=0, topK=30),
    _batched("static plugin count [N]", "BatchedNMS_TRT", 13, 2, 40, 2, 10),
    _outside_unit(_batched("clipBoxes 1, background class 2", "BatchedNMSDynamic_TRT", 14, 2, 50, 4, 15,
                           backgroundLabelId=2)),
    _outside_unit(_batched("clipBoxes 0, background class 2", "BatchedNMSDynamic_TRT", 15, 2, 50, 4, 15,
                           backgroundLabelId=2, clipBoxes=0)),
    _batched("small pixel boxes (Caffe +1)", "BatchedNMSDynamic_TRT", 17, 2, 60, 2, 100, scale=20.0, isNormalized=0,
             clipBoxes=0, topK=100),
    _batched("ties, empty image, pixel boxes", "BatchedNMSDynamic_TRT", 16, 2, 60, 3, 25, scale=400.0, ties=True,
             empty_image=1, isNormalized=0, clipBoxes=0, topK=40),
)

# ----------------------------------------------------------------------------- BatchTile, ResizeNearest, SpecialSlice

def _tile(name, seed, batch, shape, dtype=np.float32, items=1) -> PluginCase:
    """BatchTilePlugin_TRT: a [batch, 3, 4, 4] image and the constant [items, *shape] to repeat."""
    def inputs():
        rng = np.random.default_rng(seed)
        return [rng.standard_normal((batch, 3, 4, 4)).astype(np.float32),
                (rng.standard_normal((items, *shape)) * 100).astype(dtype)]
    return PluginCase("BatchTilePlugin_TRT", name, {}, inputs)


def _resize(name, seed, shape, scale, non_finite=False) -> PluginCase:
    """ResizeNearest_TRT on a feature map of ``shape`` (NaN and inf in it with ``non_finite``)."""
    def inputs():
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        if non_finite:
            x.reshape(-1)[::7], x.reshape(-1)[3::11] = np.nan, -np.inf
        return [x]
    return PluginCase("ResizeNearest_TRT", name, {"scale": scale}, inputs)


def _slice(name, seed, batch, rois, keep) -> PluginCase:
    """SpecialSlice_TRT on GenerateDetection_TRT's reference output for detection_inputs."""
    def inputs():
        attrs = {"num_classes": 4, "keep_topk": keep, "image_size": [3, 200, 220]}
        return mrcnn.generate_detection_reference(attrs, detection_inputs(seed, batch, rois, 4))
    return PluginCase("SpecialSlice_TRT", name, {}, inputs)


CASES = CASES + (
    _tile("SSD priors [1, 2, P*4, 1], batch 3", 51, 3, (2, 96, 1)),
    _tile("batch 1", 52, 1, (2, 8, 1)),
    _tile("a source of 2 items: only the first is repeated", 53, 4, (3, 2, 2), items=2),
    _tile("int64 source, batch 2", 54, 2, (5, 3), dtype=np.int64),
    _resize("scale 2, MaskRCNN FPN map", 61, (1, 16, 13, 21), 2.0),
    _resize("scale 1.5 (int(5 * 1.5) = 7)", 62, (2, 4, 5, 7), 1.5),
    _resize("scale 3, batch 2", 63, (2, 4, 5, 7), 3.0),
    _resize("scale 0.5 (down)", 64, (1, 3, 9, 6), 0.5),
    _resize("NaN and inf copied", 65, (2, 2, 4, 4), 2.0, non_finite=True),
    _slice("100 detections, batch 2", 71, 2, 300, 100),
    _slice("keep_topk above the rois (padding rows)", 72, 1, 10, 50),
)

# ----------------------------------------------------------------------------- CropAndResize (FasterRCNN)

def crop_inputs(seed: int, batch: int, channels: int, height: int, width: int, rois: int) -> list[np.ndarray]:
    """CropAndResize inputs like tests/test_modernize_frcnn.py's: a feature map [N, C, H, W] and rois
    [N, R, 4, 1] (normalized y1, x1, y2, x2 in -0.3..1.3; the first five rows: the whole map exactly,
    zero area, flipped, wholly outside, a NaN coordinate as overflowing deltas give)."""
    rng = np.random.default_rng(seed)
    fmap = rng.standard_normal((batch, channels, height, width)).astype(np.float32)
    boxes = rng.uniform(-0.3, 1.3, (batch, rois, 4, 1)).astype(np.float32)
    boxes[:, :5, :, 0] = [[0, 0, 1, 1], [0.4, 0.6, 0.4, 0.6], [1, 1, 0, 0], [-0.5, -0.5, -0.1, -0.1],
                          [np.nan, 0.2, 0.5, 0.9]][:rois]
    return [fmap, boxes]


def _crop(name, op, seed, batch, channels, height, width, rois, crop_height, crop_width) -> PluginCase:
    return PluginCase(op, name, {"crop_height": crop_height, "crop_width": crop_width},
                      lambda: crop_inputs(seed, batch, channels, height, width, rois))


CASES = CASES + (
    _crop("crop 7x7, batch 2, borders, flipped, outside, NaN rois", "CropAndResizeDynamic", 81, 2, 5, 9, 11, 8, 7, 7),
    _crop("crop 1x3 (centre row)", "CropAndResize", 82, 1, 5, 9, 11, 8, 1, 3),
    _crop("crop 4x1 (centre column), batch 3", "CropAndResizeDynamic", 83, 3, 5, 9, 11, 8, 4, 1),
    _crop("TAO-sized: 64 rois on a 24x78 map, crop 7x7", "CropAndResize", 84, 1, 16, 24, 78, 64, 7, 7),
)

# ----------------------------------------------------------------------------- Proposal (FasterRCNN)

def rpn_inputs(seed: int, batch: int, anchors: int, height: int, width: int, delta_scale: float = 0.3,
               equal_scores: bool = False, overflow: bool = False) -> list[np.ndarray]:
    """Proposal inputs like tests/test_modernize_frcnn.py's: objectness [N, A, H, W] (all 0.5 with
    ``equal_scores``) and deltas [N, 4A, H, W] (tx, ty, tw, th; tw = th = 100 for every other anchor
    with ``overflow``: exp overflows float32, the clip makes the NaN and inf coordinates 0 or the border)."""
    rng = np.random.default_rng(seed)
    scores = np.full((batch, anchors, height, width), 0.5, np.float32) if equal_scores else \
        rng.random((batch, anchors, height, width), dtype=np.float32)
    deltas = (rng.standard_normal((batch, 4 * anchors, height, width)) * delta_scale).astype(np.float32)
    if overflow:
        deltas[:, 2::8] = deltas[:, 3::8] = 100.0
    return [scores, deltas]


PROPOSAL_FIELDS = dict(input_height=64, input_width=96, rpn_stride=16, roi_min_size=4.0, nms_iou_threshold=0.7,
                       pre_nms_top_n=40, post_nms_top_n=20, anchor_sizes=[16.0, 32.0], anchor_ratios=[0.5, 1.0, 2.0])
TAO_PROPOSAL_FIELDS = dict(input_height=384, input_width=1248, rpn_stride=16, roi_min_size=1.0, nms_iou_threshold=0.7,
                           pre_nms_top_n=3000, post_nms_top_n=300, anchor_sizes=[64.0, 128.0, 256.0],
                           anchor_ratios=[1.0, 0.5, 2.0])


def _proposal_frcnn(name, op, seed, batch, grid, fields=PROPOSAL_FIELDS, **options) -> PluginCase:
    attrs = dict(fields)
    anchors = len(attrs["anchor_sizes"]) * len(attrs["anchor_ratios"])
    return PluginCase(op, name, attrs, lambda: rpn_inputs(seed, batch, anchors, *grid, **options))


CASES = CASES + (
    _proposal_frcnn("random, batch 3", "ProposalDynamic", 91, 3, (4, 6), delta_scale=0.4),
    _proposal_frcnn("equal scores, boxes over the borders", "Proposal", 92, 2, (4, 6), equal_scores=True,
                    delta_scale=2.0),
    _proposal_frcnn("every box under roi_min_size (-inf scores, still output)", "Proposal", 93, 2, (4, 6),
                    fields=dict(PROPOSAL_FIELDS, roi_min_size=500.0), delta_scale=1.0),
    _proposal_frcnn("overflowing deltas (exp -> inf, clip)", "ProposalDynamic", 94, 2, (4, 6), overflow=True),
    _proposal_frcnn("fewer candidates than post_nms_top_n", "ProposalDynamic", 95, 2, (1, 2),
                    fields=dict(PROPOSAL_FIELDS, post_nms_top_n=10, pre_nms_top_n=3, anchor_sizes=[16.0],
                                anchor_ratios=[1.0, 2.0]), delta_scale=0.1),
    _proposal_frcnn("TAO's 384x1248, pre 3000, post 300, batch 2", "ProposalDynamic", 96, 2, (24, 78),
                    fields=TAO_PROPOSAL_FIELDS, delta_scale=0.2),
    _proposal_frcnn("pre_nms_top_n 6000 (above TensorRT's NMS layer limit)", "ProposalDynamic", 97, 1, (24, 78),
                    fields=dict(TAO_PROPOSAL_FIELDS, pre_nms_top_n=6000, nms_iou_threshold=0.5), delta_scale=0.2),
)

# ----------------------------------------------------------------------------- EfficientNMS

def efficient_inputs(seed: int, batch: int, anchors: int, classes: int, per_class: bool = False,
                     anchor_batch: int = 0, coding: int = 0, ties: bool = False, logits: bool = False,
                     flipped: bool = False, empty_image: int | None = None) -> list[np.ndarray]:
    """EfficientNMS_TRT inputs like tests/test_modernize_batched_nms.py's: boxes [N, A, 4] or
    [N, A, C, 4] with ``per_class`` (corners in [0, 1], their axes swapped in every third box with
    ``flipped``; centre-size with ``coding`` 1: regressions around 0 with anchors), scores [N, A, C]
    (uniform, logits with ``logits``, quarters with ``ties``, all 0.1 in ``empty_image``) and, with
    ``anchor_batch`` 1 or N, anchors [anchor_batch, A, 4] (centre-size with ``coding`` 1)."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0.0, 1.0, (batch, anchors, 2))
    size = rng.uniform(0.05, 0.5, (batch, anchors, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], -1)
    if flipped:
        boxes[:, ::3] = boxes[:, ::3][..., [2, 3, 0, 1]]
    if coding == 1:
        boxes = rng.normal(0, 0.3, boxes.shape) if anchor_batch else np.concatenate([centre, size], -1)
    if per_class:
        boxes = boxes[:, :, None, :] + rng.normal(0, 0.02, (batch, anchors, classes, 4))
    scores = rng.normal(-1, 2, (batch, anchors, classes)) if logits else rng.uniform(0, 1, (batch, anchors, classes))
    if ties:
        scores = rng.integers(0, 4, scores.shape) / 3
    if empty_image is not None:
        scores[empty_image] = 0.1
    inputs = [boxes.astype(np.float32), scores.astype(np.float32)]
    if anchor_batch:
        c = rng.uniform(0.0, 1.0, (anchor_batch, anchors, 2))
        wh = rng.uniform(0.05, 0.5, (anchor_batch, anchors, 2))
        inputs.append((np.concatenate([c, wh], -1) if coding == 1 else np.concatenate([c - wh / 2, c + wh / 2], -1))
                      .astype(np.float32))
    return inputs


def _efficient(name, seed, batch, anchors, classes, max_output, fields=None, **options) -> PluginCase:
    attrs = dict(score_threshold=0.3, iou_threshold=0.5, max_output_boxes=max_output, background_class=-1,
                 score_activation=0, box_coding=options.get("coding", 0), plugin_version="1")
    attrs.update(fields or {})
    return PluginCase("EfficientNMS_TRT", name, attrs, lambda: efficient_inputs(seed, batch, anchors, classes, **options))


CASES = CASES + (
    _efficient("corners, batch 3", 101, 3, 90, 4, 20),
    _efficient("anchors, corners", 102, 3, 90, 4, 20, anchor_batch=1),
    _efficient("anchors, centre-size (exp)", 103, 3, 90, 4, 20, anchor_batch=1, coding=1),
    _efficient("anchors per image, centre-size", 104, 2, 90, 4, 20, anchor_batch=2, coding=1),
    _efficient("centre-size boxes, no anchors", 105, 2, 90, 4, 20, coding=1),
    _efficient("per-class boxes", 106, 3, 90, 4, 20, per_class=True),
    _efficient("class_agnostic with per-class boxes (no rewrite)", 107, 2, 90, 4, 30, {"class_agnostic": 1},
               per_class=True),
    _efficient("class_agnostic, flipped corners", 108, 2, 90, 4, 30, {"class_agnostic": 1}, flipped=True),
    _efficient("score_activation, background 0", 109, 3, 90, 4, 20, {"score_activation": 1, "background_class": 0},
               logits=True),
    _efficient("ties, background 2, an empty image", 110, 2, 60, 4, 60, {"background_class": 2}, ties=True,
               empty_image=1),
    _efficient("over 5000 candidates: the first 5000 reach NMS", 111, 1, 2000, 4, 6000, {"score_threshold": 0.05,
                                                                                          "iou_threshold": 1.0}),
    _efficient("nothing above the threshold", 112, 2, 50, 3, 10, {"score_threshold": 0.9999}),
)

# ----------------------------------------------------------------------------- scores past any probability

# 1e30 and FLT_MAX make MaskRCNN sort keys whose integer group is past int64 (GenerateDetection's and
# MultilevelProposeROI's getScoreLable: such a key decodes to no label, see maskrcnn.scores_from_keys);
# -1e30, -FLT_MAX, the denormals and the signed zeros order below every real score in every plugin's
# descending sort. Finite, so the host implementations run them (NaN and inf go to the references).
_F32_INFO = np.finfo(np.float32)
EXTREME_SCORES = np.float32([1e30, -1e30, _F32_INFO.max, -_F32_INFO.max, _F32_INFO.smallest_subnormal,
                             -_F32_INFO.smallest_subnormal, 1e-39, -1e-39, 0.0, -0.0])


def with_extreme_scores(scores: np.ndarray, seed: int, fraction: float = 0.1) -> np.ndarray:
    """``scores`` with a ``fraction`` of its values (at least one of each) replaced by EXTREME_SCORES
    in turn, at positions drawn from ``seed``."""
    flat = np.array(scores, np.float32).reshape(-1)
    count = min(flat.size, max(len(EXTREME_SCORES), int(flat.size * fraction)))
    at = np.random.default_rng(seed).choice(flat.size, count, replace=False)
    flat[at] = EXTREME_SCORES[np.arange(count) % len(EXTREME_SCORES)]
    return flat.reshape(np.shape(scores))


def _extreme_scores(case: PluginCase, indices: tuple[int, ...], seed: int) -> PluginCase:
    """The same plugin and fields with inputs ``indices`` (its scores) holding EXTREME_SCORES."""
    def inputs():
        arrays = case.inputs()
        for k, index in enumerate(indices):
            arrays[index] = with_extreme_scores(arrays[index], seed + k)
        return arrays
    return PluginCase(case.op, f"scores of +-1e30, +-FLT_MAX, denormals, signed zeros: {case.name}", case.attrs,
                      inputs)


CASES = CASES + (
    _extreme_scores(_detection("3 classes, batch of 2", 36, 2, 300, 3, 100), (1,), 361),
    _extreme_scores(_proposal("batch of 2", 9, 128, 96, 300, 100, batch=2), (1, 3, 5, 7, 9), 91),
    _extreme_scores(_batched("shareLocation 0, batch 2", "BatchedNMSDynamic_TRT", 18, 2, 80, 3, 20, share=0,
                             topK=30), (1,), 181),
    _extreme_scores(_ssd("background 0, batch 2", "NMSDynamic_TRT", 30, 2, 60, 4, 12), (1,), 301),
    _extreme_scores(_proposal_frcnn("batch 2", "ProposalDynamic", 98, 2, (4, 6)), (0,), 981),
    _extreme_scores(_efficient("corners, batch 2", 113, 2, 90, 4, 20), (1,), 1131),
)

# Plugins by folder name (plugins/<name>/) and the ops they answer to.
PLUGIN_FOLDERS = {
    "BatchTilePlugin": ("BatchTilePlugin_TRT",),
    "NMS": ("NMS_TRT", "NMSDynamic_TRT"),
    "BatchedNMS": ("BatchedNMS_TRT", "BatchedNMSDynamic_TRT"),
    "Proposal": ("Proposal", "ProposalDynamic"),
    "CropAndResize": ("CropAndResize", "CropAndResizeDynamic"),
    "ResizeNearest": ("ResizeNearest_TRT",),
    "EfficientNMS": ("EfficientNMS_TRT",),
    "MultilevelProposeROI": ("MultilevelProposeROI_TRT",),
    "MultilevelCropAndResize": ("MultilevelCropAndResize_TRT",),
    "GenerateDetection": ("GenerateDetection_TRT",),
    "SpecialSlice": ("SpecialSlice_TRT",),
}
assert all(op in PLUGINS for ops in PLUGIN_FOLDERS.values() for op in ops)


@dataclass(frozen=True)
class CheckRow:
    plugin: str
    check: str
    result: str  # EQUAL, DIFFERS (with where), NO_HOST
    detail: str = ""

    def to_json(self) -> dict:
        return {"plugin": self.plugin, "check": self.check, "result": self.result, "detail": self.detail}


def _first_difference(host: list, reference: list) -> str:
    """'' when the outputs are equal bit for bit, else where they first differ."""
    if len(host) != len(reference):
        return f"{len(host)} outputs vs the reference's {len(reference)}"
    for index, (h, r) in enumerate(zip(host, reference)):
        h, r = np.asarray(h), np.asarray(r)
        if h.shape != r.shape or h.dtype != r.dtype:
            return f"output {index}: {h.dtype}{list(h.shape)} vs the reference's {r.dtype}{list(r.shape)}"
        if h.tobytes() != r.tobytes():
            where = np.argwhere(h != r)
            if len(where) == 0:
                return f"output {index}: the sign of a zero"
            at = tuple(int(i) for i in where[0])
            return f"output {index} at {list(at)}: {h[at]!r} vs the reference's {r[at]!r}"
    return ""


def run_checks(host_for: Callable[[str], Callable | None]) -> list[CheckRow]:
    """One row per plugin folder and check: each case of a plugin with a host implementation (host
    vs reference, bit for bit), one 'no host implementation yet' row for the others."""
    rows = []
    for plugin, ops in PLUGIN_FOLDERS.items():
        cases = [case for case in CASES if case.op in ops]
        if not cases or all(host_for(op) is None for op in ops):
            rows.append(CheckRow(plugin, "host implementation = numpy reference", NO_HOST))
            continue
        for case in cases:
            inputs = case.inputs()
            reference = pluginref.reference_for(case.op)(case.attrs, [a.copy() for a in inputs])
            host = host_for(case.op)(case.attrs, [a.copy() for a in inputs])
            difference = _first_difference(host, reference)
            rows.append(CheckRow(plugin, f"{case.op}: {case.name}", DIFFERS if difference else EQUAL, difference))
    return rows
