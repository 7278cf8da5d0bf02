"""Thresholds and clustering for a model that comes without a training spec (NGC model-zoo
downloads: ``.etlt``/``.onnx`` + ``labels.txt`` + an nvinfer config + a calibration cache).

NVIDIA publishes one nvinfer config per NGC model; their ``[class-attrs-*]`` values are the
deployment defaults used here when ``--network`` names the model (``--network peoplenet``). Any
other ``--network`` gets the registry's per-network values (FACTS.md section 2; for DetectNet_v2
also the TAO clustering_config defaults of the parser). Every value is reported with where it came
from (``ClusterDefaults.notes``), and bundle prints and records that. docs/deepstream.md ("Bring what
you have") lists the sources.

How NVIDIA's nvinfer clustering maps onto taostream's DetectNet_v2 parser (which clusters itself,
cluster-mode=4, so DeepStream, Triton and the CPU paths give the same boxes):
- cluster-mode=2 (NMS, with nms-iou-threshold and topk): the parser's ``nms`` mode, the same
  greedy per-class NMS on the grid cells' coverage, and the same top-k: equivalent.
- cluster-mode=3 (DBSCAN then NMS) and 1 (DBSCAN): the parser's ``dbscan_nms`` / ``dbscan`` modes,
  which run TAO's DBSCAN (coverage-weighted); nvinfer's DBSCAN groups boxes without weights, so
  the boxes are close but not identical. eps is NVIDIA's where its config sets it.
- cluster-mode=0 (OpenCV groupRectangles, FaceDetectIR): the parser's ``dbscan`` with NVIDIA's eps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taostream.converter.registry import Network
from taostream.deepstream_configs.specs.settings import ClusterSettings, Preprocessing, cluster_settings_from_spec
from taostream.parsers.reference import DetectNetV2Clustering

DEEPSTREAM_TAO_APPS = "NVIDIA-AI-IOT/deepstream_tao_apps"
_NVINFER_MODES = {0: "dbscan", 1: "dbscan", 2: "nms", 3: "dbscan_nms"}
_NVINFER_MODE_NAMES = {0: "groupRectangles", 1: "DBSCAN", 2: "NMS", 3: "DBSCAN+NMS"}


@dataclass(frozen=True)
class PublishedModel:
    """One NGC model's published nvinfer post-processing ([class-attrs-all] and per class)."""

    name: str
    network: str
    cluster_mode: int  # nvinfer cluster-mode in NVIDIA's config (0 when the config leaves it out)
    pre_cluster_threshold: float  # [class-attrs-all]
    class_thresholds: dict[int, float] = field(default_factory=dict)  # [class-attrs-<id>]
    nms_iou: float | None = None
    top_k: int = 0
    eps: float | None = None
    aliases: tuple[str, ...] = ()
    source: str = ""
    # the classes the NGC model outputs (its labels.txt): [class-attrs-<id>] mean these classes only
    classes: tuple[str, ...] = ()
    # NVIDIA's config's model-color-format, net-scale-factor and offsets, where they differ from the
    # registry's for the network (NGC's classifiers take RGB with the caffe means in RGB order).
    preprocessing: Preprocessing | None = None

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


_TAO_APPS_NMS = dict(cluster_mode=2, pre_cluster_threshold=0.2, class_thresholds={0: 0.4}, nms_iou=0.5, top_k=20)

PUBLISHED_MODELS: tuple[PublishedModel, ...] = (
    PublishedModel("peoplenet", "detectnet_v2", **_TAO_APPS_NMS, classes=("person", "bag", "face"),
                   source=f"{DEEPSTREAM_TAO_APPS} configs/nvinfer/peoplenet_tao/config_infer_primary_peoplenet.txt "
                          "@ 5b678439"),
    PublishedModel("trafficcamnet", "detectnet_v2", **_TAO_APPS_NMS, classes=("car", "bicycle", "person", "roadsign"),
                   source=f"{DEEPSTREAM_TAO_APPS} configs/nvinfer/trafficcamnet_tao/pgie_trafficcamnet_config.txt "
                          "@ 5b678439"),
    PublishedModel("dashcamnet", "detectnet_v2", **_TAO_APPS_NMS, classes=("car", "bicycle", "person", "road_sign"),
                   source="DeepStream 6.0 samples/configs/tao_pretrained_models/config_infer_primary_dashcamnet.txt "
                          "(as copied in latonaio/dashcamnet-on-deepstream @ 50235b04)"),
    PublishedModel("lpdnet", "detectnet_v2", cluster_mode=3, pre_cluster_threshold=0.3,
                   aliases=("lpd", "lpd_us", "lpd_ch", "lpd_ccpd", "lpdnet_us", "lpdnet_ch"),
                   source=f"{DEEPSTREAM_TAO_APPS} configs/nvinfer/LPD_us_tao/sgie_lpd_DetectNet2_us.txt and "
                          "LPD_ch_tao/sgie_lpd_DetectNet2_ch.txt @ b60f99a4"),
    PublishedModel("facedetectir", "detectnet_v2", cluster_mode=0, pre_cluster_threshold=0.2, eps=0.2,
                   aliases=("facedetect_ir",),
                   source=f"{DEEPSTREAM_TAO_APPS} configs/facial_tlt/config_infer_primary_facedetectir.txt @ 5c1aab53"),
    *(PublishedModel(name, "classification", cluster_mode=0, pre_cluster_threshold=0.2,
                     preprocessing=Preprocessing("RGB", 1.0, (124.0, 117.0, 104.0)),
                     source=f"DeepStream 6.0 samples/configs/tao_pretrained_models/config_infer_secondary_{name}.txt "
                            f"(as copied in latonaio/{name}-on-deepstream @ {commit})")
      for name, commit in (("vehicletypenet", "e6bd86dc"), ("vehiclemakenet", "2a1b4118"))),
)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


_BY_SPELLING = {_normalise(s): m for m in PUBLISHED_MODELS for s in m.spellings}


def published_model(network_argument: str) -> PublishedModel | None:
    """The NGC model a ``--network`` spelling names (peoplenet, lpdnet, ...), or None."""
    return _BY_SPELLING.get(_normalise(network_argument))


@dataclass
class ClusterDefaults:
    settings: ClusterSettings
    notes: list[str]  # one line per value group: what was used and where it comes from


def _fmt(value: float) -> str:
    return f"{value:g}"


def published_cluster_settings(net: Network, network_argument: str, labels: list[str]) -> ClusterDefaults:
    """Post-processing for a model without a spec: the NGC model's published values when
    ``network_argument`` names one, else the registry's (and the parser's) defaults."""
    model = published_model(network_argument)
    if model is not None and model.network == net.name and net.label_rule == "detectnet_v2":
        return _detectnet_published(model, net, labels)
    if model is not None and model.network == net.name and net.network_type == 1:
        settings = cluster_settings_from_spec(net, None, labels)
        same = "the registry's value too" if model.pre_cluster_threshold == net.pre_cluster_threshold else \
            f"the registry says {_fmt(net.pre_cluster_threshold)}; the bundle writes the registry's"
        return ClusterDefaults(settings, [f"classifier-threshold {_fmt(model.pre_cluster_threshold)}: NVIDIA's "
                                          f"published {model.name} default ({model.source}; {same})"])
    settings = cluster_settings_from_spec(net, None, labels)
    common = settings.class_attrs.get("all", {})
    # a classifier's threshold is written as classifier-threshold (nvinfer has no clustering for it)
    names = {"pre-cluster-threshold": "classifier-threshold"} if net.network_type == 1 else {}
    values = ", ".join(f"{names.get(k, k)} {_fmt(v)}" for k, v in common.items())
    notes = [f"{values}: taostream's registry defaults for {net.name} (FACTS.md section 2, from NVIDIA's "
             "deepstream_tao_apps configs)"]
    if settings.parser_settings:
        notes.append(f"clustering {settings.parser_settings.split()[0]} with TAO's DetectNet_v2 clustering_config "
                     f"defaults ({settings.parser_settings})")
    if model is not None:
        notes.append(f"--network {network_argument} is NVIDIA's {model.name}, a {model.network} model: "
                     f"its published defaults do not apply to --network {net.name}")
    return ClusterDefaults(settings, notes)


def _detectnet_published(model: PublishedModel, net: Network, labels: list[str]) -> ClusterDefaults:
    defaults = DetectNetV2Clustering()
    # Per-class values are by class id: on a model with other classes (a wrong --network, a retrained model)
    # they would give some other class NVIDIA's threshold for e.g. PeopleNet's person.
    own_classes = not model.classes or len(model.classes) == len(labels)
    per_id = model.class_thresholds if own_classes else {}
    thresholds = [per_id.get(i, model.pre_cluster_threshold) for i in range(len(labels))]
    mode = _NVINFER_MODES[model.cluster_mode]
    nms_iou = model.nms_iou if model.nms_iou is not None else net.nms_iou_threshold
    parser = DetectNetV2Clustering(mode=mode, eps=model.eps if model.eps is not None else defaults.eps,
                                   nms_iou=nms_iou, top_k=model.top_k)
    settings = ClusterSettings(cluster_mode=4, parser_settings=parser.to_env(), class_thresholds=thresholds)
    settings.class_attrs = {"all": {"pre-cluster-threshold": min(thresholds) if thresholds else model.pre_cluster_threshold}}
    for class_id, threshold in enumerate(thresholds):
        settings.class_attrs[str(class_id)] = {"pre-cluster-threshold": threshold}
    per_class = "; ".join(f"{labels[i] if i < len(labels) else i} {_fmt(t)}" for i, t in sorted(per_id.items()))
    nvinfer = _NVINFER_MODE_NAMES[model.cluster_mode]
    notes = [f"pre-cluster-threshold {_fmt(model.pre_cluster_threshold)}" + (f" ({per_class})" if per_class else "")
             + f", cluster-mode {model.cluster_mode} ({nvinfer})"
             + (f", nms-iou-threshold {_fmt(model.nms_iou)}" if model.nms_iou is not None else "")
             + (f", topk {model.top_k}" if model.top_k else "") + (f", eps {_fmt(model.eps)}" if model.eps is not None else "")
             + f": NVIDIA's published {model.name} defaults ({model.source})"]
    if not own_classes and model.class_thresholds:
        published = "; ".join(f"{model.classes[i]} {_fmt(t)}" for i, t in sorted(model.class_thresholds.items()))
        notes.append(f"NVIDIA's {model.name} outputs {len(model.classes)} classes ({', '.join(model.classes)}), the "
                     f"labels give {len(labels)}: its per-class thresholds ({published}) are not applied; every class "
                     f"gets {_fmt(model.pre_cluster_threshold)} (check --network, or give the model's training spec)")
    if mode != "nms":
        unset = [] if model.eps is not None else [f"eps {_fmt(defaults.eps)}"]
        unset += [f"min_samples {_fmt(defaults.min_samples)}", f"confidence {_fmt(defaults.confidence_threshold)}",
                  f"min_height {_fmt(defaults.min_height)}"]
        if mode == "dbscan_nms" and model.nms_iou is None:
            unset.append(f"nms_iou {_fmt(nms_iou)}")
        notes.append(f"nvinfer's {nvinfer} runs as TAO's DetectNet_v2 {mode} in taostream's parser; values NVIDIA's "
                     f"config leaves unset are TAO's clustering_config defaults: {', '.join(unset)}")
    return ClusterDefaults(settings, notes)


def published_preprocessing(net: Network, network_argument: str) -> tuple[Preprocessing | None, list[str]]:
    """NVIDIA's preprocessing for the NGC model ``network_argument`` names, where its config differs
    from the registry's (None otherwise), and the note saying so."""
    model = published_model(network_argument)
    if model is None or model.preprocessing is None or model.network != net.name:
        return None, []
    pre = model.preprocessing
    return pre, [f"model-color-format {pre.color}, net-scale-factor {_fmt(pre.net_scale_factor)}, offsets "
                 f"{';'.join(_fmt(o) for o in pre.offsets)}: NVIDIA's published {model.name} preprocessing "
                 f"({model.source}; the registry's {net.name} default is {net.color} with offsets "
                 f"{';'.join(_fmt(o) for o in net.offsets)})"]
