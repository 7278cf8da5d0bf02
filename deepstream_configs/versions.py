"""Which TensorRT each DeepStream release runs, per platform: the one table every target decision
reads (which graph nvinfer loads, implicit INT8 or Q/DQ, which ONNX ops may appear, the manifest's
targets, what `taostream check` accepts).

Sources, per row, are in docs/versions.md (DeepStream "Readme First" / migration guides and
quick-start pages, JetPack release pages). DeepStream 5.x (TensorRT 7) is recorded there but not
targeted: TensorRT 7 has no Q/DQ import and the 6.x nvinfer keys differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from taostream.converter.engine.adapt import parse_trt_version
from taostream.converter.errors import TaostreamError

PLATFORMS = ("x86", "jetson")


@dataclass(frozen=True)
class DeepStreamRelease:
    version: str
    x86_tensorrt: str  # the TensorRT the dGPU/x86 release is built and validated with
    jetson_tensorrt: str  # the TensorRT of the JetPack the Jetson release is built on
    jetpack: str

    def tensorrt(self, platform: str) -> str:
        if platform not in PLATFORMS:
            raise TaostreamError(f"platform '{platform}': use x86 or jetson")
        return self.x86_tensorrt if platform == "x86" else self.jetson_tensorrt

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


# version, x86 TensorRT, Jetson TensorRT, JetPack (docs/versions.md gives the source of each cell).
DEEPSTREAM_RELEASES: dict[str, DeepStreamRelease] = {
    r.version: r
    for r in (
        DeepStreamRelease("6.0", "8.0.1", "8.0.1", "4.6"),
        DeepStreamRelease("6.1", "8.2.5.1", "8.4.0", "5.0.1 DP"),
        DeepStreamRelease("6.1.1", "8.4.1.5", "8.4.1.5", "5.0.2"),
        DeepStreamRelease("6.2", "8.5.2.2", "8.5.2.2", "5.1"),
        DeepStreamRelease("6.3", "8.5.3.1", "8.5.2.2", "5.1.2"),
        DeepStreamRelease("6.4", "8.6.1.6", "8.6.2.3", "6.0 DP"),
        DeepStreamRelease("7.0", "8.6.1.6", "8.6.2.3", "6.0"),
        DeepStreamRelease("7.1", "10.3.0.26", "10.3.0.30", "6.1"),
        DeepStreamRelease("8.0", "10.9.0.34", "10.13.2.6", "7.0"),
        DeepStreamRelease("9.0", "10.14.1.48", "10.13", "7.1"),
        DeepStreamRelease("9.1", "10.16.0.72", "10.16", "7.2"),
        DeepStreamRelease("9.2", "10.16.0.72", "10.16.1.7", "7.2"),
    )
}
DEEPSTREAM_VERSIONS = tuple(DEEPSTREAM_RELEASES)
DEFAULT_DEEPSTREAM = DEEPSTREAM_VERSIONS[-1]  # what configs, bundles and checks target unless told


def deepstream_release(version: str) -> DeepStreamRelease:
    """The release row for '6.0', '6.0.1' (a patch release ships its minor's TensorRT), '6.1.1', or a
    bare major ('9' -> the newest 9.x); TaostreamError for a version taostream does not target."""
    text = str(version).strip()
    if text in DEEPSTREAM_RELEASES:
        return DEEPSTREAM_RELEASES[text]
    parts = text.split(".")
    if not all(p.isdigit() for p in parts) or not parts[0]:
        parts = []
    for length in (3, 2):
        key = ".".join(parts[:length])
        if len(parts) > length - 1 and key in DEEPSTREAM_RELEASES:
            return DEEPSTREAM_RELEASES[key]
    if len(parts) == 1:
        same_major = [r for r in DEEPSTREAM_RELEASES.values() if r.version.split(".")[0] == parts[0]]
        if len({_route_facts(r) for r in same_major}) > 1:
            tensorrt = sorted({r.x86_tensorrt for r in same_major}, key=parse_trt_version)
            raise TaostreamError(
                f"--deepstream {version} is ambiguous: DeepStream {', '.join(r.version for r in same_major)} run "
                f"TensorRT {tensorrt[0]} to {tensorrt[-1]} (x86) and load different graphs or INT8 routes; give the "
                f"release, e.g. --deepstream {same_major[-1].version} (`deepstream-app --version` prints it)")
        if same_major:
            return same_major[-1]
    raise TaostreamError(
        f"--deepstream {version}: unsupported DeepStream version; use one of {', '.join(DEEPSTREAM_VERSIONS)}")


# The first TensorRT whose ONNX parser imports the modernized TAO graphs (NonMaxSuppression with ONNX's
# semantics, Mod: converter/engine/onnx_ops.py, docs/versions.md).
MODERNIZED_GRAPH_TENSORRT = (8, 5)


def _route_facts(release: DeepStreamRelease) -> tuple:
    """What a bundle's decisions depend on, per platform: the TensorRT major (implicit INT8 or Q/DQ, the
    plugins) and whether its parser imports the modernized graph. A bare major ('9') names its newest
    release only where these agree across the major's releases."""
    facts = []
    for platform in PLATFORMS:
        trt = parse_trt_version(release.tensorrt(platform))
        facts.append((trt[0], trt[:2] >= MODERNIZED_GRAPH_TENSORRT))
    return tuple(facts)


def tensorrt_for(deepstream: str, platform: str) -> str:
    """The TensorRT version DeepStream ``deepstream`` runs on ``platform`` (x86 or jetson)."""
    return deepstream_release(deepstream).tensorrt(platform)


def trt_tuple(version: str) -> tuple[int, int, int]:
    return parse_trt_version(version)


def implicit_int8_route(deepstream: str, platform: str) -> bool:
    """Does INT8 on this target use TensorRT's implicit calibration (the plugin graph plus the TAO
    calibration cache) rather than Q/DQ nodes in the ONNX?

    - TensorRT 8.x (DeepStream 6.0-7.0): yes; implicit calibration from the cache is TensorRT 8's
      native INT8 path and the one NVIDIA's TAO configs for these releases use.
    - TensorRT 10.x: Jetson yes (DLA and the TAO INT8 configs of JetPack 6/7 calibrate from the cache),
      x86 no: implicit calibration is deprecated since 10.1, Q/DQ is the supported route.
    - TensorRT 11 and later: no, implicit calibration is removed.
    """
    major = trt_tuple(tensorrt_for(deepstream, platform))[0]
    if major >= 11:
        return False
    return major < 10 or platform == "jetson"


# Triton Inference Server container releases and the TensorRT each ships (docs/versions.md gives the
# source of each row): the Triton container whose TensorRT is the one a bundle's x86 target runs serves
# its GPU models (a plan built by one TensorRT loads only in the same TensorRT; the ONNX Runtime
# TensorRT accelerator builds with the container's own).
@dataclass(frozen=True)
class TritonRelease:
    release: str  # the NGC tag's yy.mm
    tensorrt: str
    triton: str  # the server version it carries

    @property
    def image(self) -> str:
        return f"{TRITON_IMAGE}:{self.release}-py3"


TRITON_IMAGE = "nvcr.io/nvidia/tritonserver"
TRITON_RELEASES: tuple[TritonRelease, ...] = (
    TritonRelease("21.08", "8.0.1.6", "2.13.0"),
    TritonRelease("22.05", "8.2.5.1", "2.22.0"),
    TritonRelease("22.07", "8.4.1.5", "2.24.0"),
    TritonRelease("23.01", "8.5.2.2", "2.30.0"),
    TritonRelease("23.03", "8.5.3.1", "2.32.0"),
    TritonRelease("23.08", "8.6.1.6", "2.37.0"),
    TritonRelease("24.08", "10.3.0.26", "2.49.0"),
    TritonRelease("25.03", "10.9.0.34", "2.56.0"),
    TritonRelease("26.01", "10.14.1.48", "2.65.0"),
    TritonRelease("26.03", "10.16.0.72", "2.67.0"),
)


def _same_release(tensorrt: str, other: str) -> bool:
    """'8.0.1' and '8.0.1.6' are one release (a shorter version names every build of it)."""
    a, b = tensorrt.split("."), other.split(".")
    n = min(len(a), len(b))
    return n >= 3 and a[:n] == b[:n]


def triton_release_for(tensorrt: str) -> TritonRelease | None:
    """The first Triton container release that ships TensorRT ``tensorrt`` (same major.minor.patch);
    None when the table has none."""
    return next((r for r in TRITON_RELEASES if _same_release(tensorrt, r.tensorrt)), None)


def triton_release(tag: str) -> TritonRelease | None:
    """The table row of a tritonserver tag ('24.08-py3', '24.08'); None for a release not in the table."""
    release = str(tag).split("-")[0]
    return next((r for r in TRITON_RELEASES if r.release == release), None)


DEEPSTREAM_IMAGE = "nvcr.io/nvidia/deepstream"
DEEPSTREAM_L4T_IMAGE = "nvcr.io/nvidia/deepstream-l4t"
# From 9.2 NVIDIA distributes the DeepStream images through GitHub's registry (DeepStream 9.2 "Docker
# Containers" page); 9.1 and before are on NGC.
DEEPSTREAM_GHCR_IMAGE = "ghcr.io/nvidia/deepstream"
DEEPSTREAM_IMAGES = (DEEPSTREAM_IMAGE, DEEPSTREAM_L4T_IMAGE, DEEPSTREAM_GHCR_IMAGE)
MULTIARCH_SINCE = (6, 3)  # from 6.3 one `-triton-multiarch` tag serves x86 and Jetson
GHCR_SINCE = (9, 2)
# Releases whose image tag no public page seen confirms (docs/versions.md): the bundle's deployment
# README says so next to the image.
UNCONFIRMED_IMAGE_TAGS = frozenset({"9.2"})


def _minor(version: str) -> tuple[int, int]:
    return tuple(int(p) for p in version.split(".")[:2])  # type: ignore[return-value]


def deepstream_image(deepstream: str, platform: str) -> str:
    """NVIDIA's DeepStream container with nvinfer and nvinferserver (Triton) for a release and platform:
    ``deepstream:<ver>-triton-multiarch`` from 6.3 on (x86 and Jetson alike; from 9.2 on ghcr.io, the tag
    kept in the 6.3-9.1 form: unconfirmed, see UNCONFIRMED_IMAGE_TAGS); before 6.3,
    ``deepstream:<ver>-triton`` on x86 and ``deepstream-l4t:<ver>-triton`` on Jetson (the ``-samples`` one
    has no Triton)."""
    version = deepstream_release(deepstream).version
    if platform not in PLATFORMS:
        raise TaostreamError(f"platform '{platform}': use x86 or jetson")
    if _minor(version) >= GHCR_SINCE:
        return f"{DEEPSTREAM_GHCR_IMAGE}:{version}-triton-multiarch"
    if _minor(version) >= MULTIARCH_SINCE:
        return f"{DEEPSTREAM_IMAGE}:{version}-triton-multiarch"
    return f"{DEEPSTREAM_IMAGE if platform == 'x86' else DEEPSTREAM_L4T_IMAGE}:{version}-triton"


def deepstream_image_version(image: str) -> str | None:
    """The DeepStream version a deepstream image reference names ('...deepstream:7.1-triton-multiarch' ->
    '7.1'); None when it is not one of NVIDIA's DeepStream images."""
    name, _, tag = str(image).rpartition(":")
    if name not in DEEPSTREAM_IMAGES or not tag:
        return None
    return tag.split("-")[0]
