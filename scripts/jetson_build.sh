#!/usr/bin/env bash
# Build taostream's native parts for this Jetson and convert a bundle's model into a TensorRT engine
# on the device (engines are tied to the Jetson module and its JetPack/TensorRT: build them there).
#
#   scripts/jetson_build.sh [--bundle DIR] [--dla-core N] [--source DIR] [--build-dir DIR] [--dry-run]
#
#   --bundle DIR     a folder written by `taostream bundle --platform jetson`: its parser library slot
#                    (lib/) is filled and its model is built into DIR/engines/
#   --dla-core N     build for DLA core N with GPU fallback (Xavier / Orin; not Orin Nano)
#   --source DIR     taostream checkout with CMakeLists.txt (default: this script's parent folder)
#   --build-dir DIR  CMake build folder (default: <source>/build-jetson)
#   --dry-run        print the commands instead of running them
#
# Overrides for unusual setups (and tests): JETSON_MODEL (default /proc/device-tree/model),
# TRT_VERSION (default: the tensorrt Python module or the libnvinfer package), CUDA_ARCH, NVCC (default:
# nvcc on PATH, else JetPack's /usr/local/cuda/bin/nvcc).
# On TensorRT 10 and nvcc for the module, libtaostream_plugins.so (plugins/) is built too, against
# JetPack's TensorRT headers, and copied into a `bundle --plugins taostream` bundle's lib/.
# See docs/jetson.md for the JetPack / TensorRT / CUDA architecture combinations.
set -euo pipefail

die() { echo "jetson_build: error: $*" >&2; exit 2; }

BUNDLE="" DLA_CORE="" DRY_RUN=0
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) BUNDLE="${2:?--bundle needs a folder}"; shift 2 ;;
    --dla-core) DLA_CORE="${2:?--dla-core needs a number}"; shift 2 ;;
    --source) SOURCE="${2:?--source needs a folder}"; shift 2 ;;
    --build-dir) BUILD_DIR="${2:?--build-dir needs a folder}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
BUILD_DIR="${BUILD_DIR:-$SOURCE/build-jetson}"
PYTHON="${PYTHON:-python3}"

run() {
  if [[ "$DRY_RUN" == 1 ]]; then printf '+'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}

# CUDA architecture per Jetson module (FACTS.md section 3: Nano/TX1 53, TX2 62, Xavier/NX 72,
# Orin 87). Thor (JetPack 7) is sm_110 under CUDA 13: UNVERIFIED here, check `nvcc --list-gpu-arch`.
cuda_arch_for_model() {
  case "$1" in
    *Thor*) echo 110 ;;
    *Orin*) echo 87 ;;
    *Xavier*) echo 72 ;;
    *TX2*) echo 62 ;;
    *Nano*|*TX1*) echo 53 ;;
    *) echo "" ;;
  esac
}

# DLA cores: Xavier (AGX, NX) and Orin AGX/NX have two; Orin Nano has none.
has_dla() {
  case "$1" in
    *"Orin Nano"*) return 1 ;;
    *Orin*|*Xavier*) return 0 ;;
    *) return 1 ;;
  esac
}

detect_trt_version() {
  if [[ -n "${TRT_VERSION:-}" ]]; then echo "$TRT_VERSION"; return; fi
  "$PYTHON" -c 'import tensorrt; print(tensorrt.__version__)' 2>/dev/null && return
  dpkg-query -W -f='${Version}\n' libnvinfer10 libnvinfer8 2>/dev/null | head -n1 | cut -d- -f1 && return
  echo ""
}

MODEL="${JETSON_MODEL:-}"
if [[ -z "$MODEL" && -r /proc/device-tree/model ]]; then MODEL="$(tr -d '\0' < /proc/device-tree/model)"; fi
[[ -n "$MODEL" ]] || die "not a Jetson (no /proc/device-tree/model); set JETSON_MODEL to force a module"
ARCH="${CUDA_ARCH:-$(cuda_arch_for_model "$MODEL")}"
[[ -n "$ARCH" ]] || die "unknown Jetson module '$MODEL'; set CUDA_ARCH (e.g. 87 for Orin)"
TRT="$(detect_trt_version)"
[[ -n "$TRT" ]] || die "TensorRT not found: install JetPack's TensorRT (python3-libnvinfer) or set TRT_VERSION"
TRT_MAJOR="${TRT%%.*}"
if (( TRT_MAJOR >= 11 )); then
  die "TensorRT $TRT does not support JetPack; Jetson builds need TensorRT 10.x (JetPack 6 ships 10.3)"
fi
# JetPack puts nvcc in /usr/local/cuda/bin, which a login PATH often lacks
NVCC="${NVCC:-$(command -v nvcc || true)}"
if [[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]]; then NVCC=/usr/local/cuda/bin/nvcc; fi
SKIP_CUDA=0
if [[ -z "$NVCC" ]]; then
  SKIP_CUDA=1
elif (( ARCH < 75 )) && "$NVCC" --version | grep -q "release 1[3-9]"; then
  echo "jetson_build: note: CUDA 13+ cannot target sm_$ARCH; the CUDA plugins are skipped" >&2
  SKIP_CUDA=1
elif (( TRT_MAJOR < 10 )); then
  SKIP_CUDA=1  # IPluginV3 starts with TensorRT 10; TensorRT 8.x ships the TAO plugins itself
fi
if [[ -n "$DLA_CORE" ]] && ! has_dla "$MODEL"; then
  die "$MODEL has no DLA; drop --dla-core"
fi
echo "jetson_build: $MODEL, sm_$ARCH, TensorRT $TRT" >&2

# A `bundle --plugins taostream` bundle keeps plugin nodes only libtaostream_plugins.so registers
WANT_PLUGINS=0
if [[ -n "$BUNDLE" && -f "$BUNDLE/manifest.json" ]] && "$PYTHON" -c 'import json, sys
sys.exit(0 if (json.load(open(sys.argv[1])).get("plugins") or {}).get("library") == "taostream" else 1)' \
    "$BUNDLE/manifest.json" 2>/dev/null; then
  WANT_PLUGINS=1
  if [[ "$SKIP_CUDA" == 1 ]]; then
    die "$BUNDLE keeps TensorRT plugins libtaostream_plugins.so provides, which needs TensorRT 10 and nvcc for sm_$ARCH (JetPack's /usr/local/cuda/bin/nvcc; set NVCC)"
  fi
fi

CMAKE_ARGS=(-S "$SOURCE" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DTAOSTREAM_PARSERS_FUZZ=OFF)
if [[ "$SKIP_CUDA" == 0 && -f "$SOURCE/plugins/CMakeLists.txt" ]]; then
  CMAKE_ARGS+=(-DTAOSTREAM_BUILD_PLUGINS=ON "-DCMAKE_CUDA_ARCHITECTURES=$ARCH" "-DCMAKE_CUDA_COMPILER=$NVCC")
fi
run cmake "${CMAKE_ARGS[@]}"
run cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)"

[[ -n "$BUNDLE" ]] || exit 0
[[ -f "$BUNDLE/manifest.json" ]] || die "$BUNDLE/manifest.json not found: make the bundle with \`taostream bundle --platform jetson\`"
LIBRARY="libnvds_infercustomparser_taostream.so"
if [[ "$DRY_RUN" == 1 ]]; then
  run cp "$BUILD_DIR/parsers/$LIBRARY" "$BUNDLE/lib/$LIBRARY"
else
  FOUND="$(find "$BUILD_DIR" -name "$LIBRARY" -type f | head -n1)"
  [[ -n "$FOUND" ]] || die "the build produced no $LIBRARY"
  mkdir -p "$BUNDLE/lib"
  cp "$FOUND" "$BUNDLE/lib/$LIBRARY.tmp" && mv "$BUNDLE/lib/$LIBRARY.tmp" "$BUNDLE/lib/$LIBRARY"
fi
if [[ "$WANT_PLUGINS" == 1 ]]; then
  PLUGINS="libtaostream_plugins.so"
  [[ "$DRY_RUN" == 1 || -f "$BUILD_DIR/plugins/$PLUGINS" ]] || die "the build produced no $BUILD_DIR/plugins/$PLUGINS"
  run cp "$BUILD_DIR/plugins/$PLUGINS" "$BUNDLE/lib/$PLUGINS.tmp"
  run mv "$BUNDLE/lib/$PLUGINS.tmp" "$BUNDLE/lib/$PLUGINS"
fi

# The convert arguments come from the bundle's manifest (plugin graph + cal cache on TensorRT 10).
mapfile -d '' CONVERT_ARGS < <("$PYTHON" - "$BUNDLE" "$TRT" "$DLA_CORE" <<'EOF'
import sys
from taostream.converter.cli.convert import bundle_convert_argv
from taostream.converter.errors import TaostreamError
from taostream.deepstream_configs.bundle.manifest import load_manifest
bundle, trt, dla = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    argv = bundle_convert_argv(load_manifest(bundle), bundle, trt, int(dla) if dla else None)
except TaostreamError as exc:
    sys.exit(f"taostream: error: {exc}")
sys.stdout.write("\0".join(argv) + "\0")
EOF
)
[[ ${#CONVERT_ARGS[@]} -gt 0 ]] || die "could not read $BUNDLE/manifest.json"
run "$PYTHON" -m taostream convert "${CONVERT_ARGS[@]}"
