#!/usr/bin/env bash
# Assemble an x86-64 CUDA toolkit that cross-builds libtaostream_plugins.so for a Jetson
# (plugins/cmake/aarch64-jetson.cmake), out of registry packages only:
#
#   scripts/jetson_cuda_cross.sh DEST [12|13]
#
#   12 (default): JetPack 6.1 / 6.2 (Orin; CUDA 12.6 driver, TensorRT 10.3, DeepStream 7.1). The x86-64
#       nvcc 12.4 of Debian 13's non-free nvidia-cuda-toolkit (the cu12 nvcc wheels ship ptxas but no
#       nvcc), the CUDA headers of the nvidia-cuda-nvcc-cu12 and -cccl-cu12 wheels, the aarch64 headers and
#       libcudart.so.12 of the manylinux aarch64 nvidia-cuda-runtime-cu12 wheel.
#   13: JetPack 7.x (Thor; 7.2 also Orin; DeepStream 8.0 / 9.x). The x86-64 nvidia-cuda-nvcc, -nvvm,
#       -crt, -cccl 13.0 wheels and the aarch64 nvidia-cuda-runtime 13.0 wheel.
#
# DEST then holds bin/nvcc and targets/aarch64-linux: -DTAOSTREAM_JETSON_CUDA=DEST (plugins/README.md).
# NVIDIA's own x86-64 CUDA with its cuda-cross-aarch64 package does the same job where it is installed.
# A toolkit older than the Jetson's CUDA (12.4 for 12.6, 13.0 for 13.x) is fine: CUDA's backward
# compatibility. The library links libcudart.so by its soname: the Jetson's own runtime serves it; the
# wheels' aarch64 copy is only linked against (and run under qemu by the tests).
#
# Needs python3 -m pip (for 12 also apt-get and dpkg-deb) and about 300 MB of disk. apt runs with a
# private configuration under DEST.work: the machine's sources and package state are untouched.
set -euo pipefail

die() { echo "jetson_cuda_cross: error: $*" >&2; exit 2; }

[[ ($# -eq 1 || $# -eq 2) && "$1" != -* ]] || { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
DEST="$(realpath -m "$1")"
MAJOR="${2:-12}"
[[ "$MAJOR" == 12 || "$MAJOR" == 13 ]] || die "CUDA major '$MAJOR': use 12 (JetPack 6) or 13 (JetPack 7)"
[[ ! -e "$DEST/bin/nvcc" ]] || { echo "jetson_cuda_cross: $DEST already holds a toolkit" >&2; exit 0; }
command -v python3 >/dev/null || die "python3 not found"

WORK="$DEST.work"
STAGE="$DEST.partial"
TARGET="$STAGE/targets/aarch64-linux"
rm -rf "$WORK" "$STAGE"
mkdir -p "$WORK" "$STAGE/bin" "$TARGET/lib"

fetch() {  # FOLDER PLATFORM REQUIREMENT...: download the wheels and unpack them into FOLDER/x
  local folder="$WORK/$1" platform="$2"; shift 2
  python3 -m pip download -q --no-deps --only-binary=:all: --platform "$platform" -d "$folder" "$@"
  python3 -c 'import sys, zipfile, pathlib
for wheel in pathlib.Path(sys.argv[1]).glob("*.whl"):
    zipfile.ZipFile(wheel).extractall(sys.argv[2])' "$folder" "$folder/x"
}

finish() {  # VERSION
  "$STAGE/bin/nvcc" --version | grep -q "release $1" || die "the assembled nvcc does not run"
  rm -rf "$DEST" && mv "$STAGE" "$DEST" && rm -rf "$WORK"
  echo "jetson_cuda_cross: CUDA $1 for aarch64-linux in $DEST (-DTAOSTREAM_JETSON_CUDA=$DEST)" >&2
}

if [[ "$MAJOR" == 13 ]]; then
  fetch host manylinux2014_x86_64 nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 \
    nvidia-cuda-cccl==13.0.85 nvidia-cuda-cuobjdump==13.2.51
  fetch target manylinux2014_aarch64 nvidia-cuda-runtime==13.0.96
  cp -r "$WORK/host/x/nvidia/cu13/bin/." "$STAGE/bin/"   # nvcc and the standard nvcc.profile
  cp -r "$WORK/host/x/nvidia/cu13/nvvm" "$STAGE/"
  cp -r "$WORK/host/x/nvidia/cu13/include" "$TARGET/"    # crt/, cccl/: the same on every CPU
  cp -r "$WORK/target/x/nvidia/cu13/include/." "$TARGET/include/"
  cp -r "$WORK/target/x/nvidia/cu13/lib/." "$TARGET/lib/"
  chmod +x "$STAGE"/bin/* "$STAGE"/nvvm/bin/* 2>/dev/null || true
  ln -s libcudart.so.13 "$TARGET/lib/libcudart.so"
  finish 13.0
  exit 0
fi

for tool in apt-get dpkg-deb; do command -v "$tool" >/dev/null || die "$tool not found"; done
DEBIAN_CUDA="12.4.131~12.4.1-2"  # nvidia-cuda-toolkit in Debian 13 "trixie" non-free
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r "$KEYRING" ]] || die "no Debian archive keyring: apt-get install debian-archive-keyring"
mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/debs" "$WORK/deb"
echo "deb [signed-by=$KEYRING] http://deb.debian.org/debian trixie non-free" > "$WORK/apt/sources.list"
APT=(-o "Dir::Etc::SourceList=$WORK/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache" -o Dir::State::status=/dev/null
     -o APT::Architecture=amd64 -o APT::Sandbox::User=root -o Debug::NoLocking=1)
apt-get "${APT[@]}" -q update >&2
(cd "$WORK/debs" && apt-get "${APT[@]}" -q download "nvidia-cuda-toolkit=$DEBIAN_CUDA") >&2
dpkg-deb -x "$WORK"/debs/nvidia-cuda-toolkit_*.deb "$WORK/deb"
fetch host manylinux2014_x86_64 nvidia-cuda-nvcc-cu12==12.4.131 nvidia-cuda-cccl-cu12==12.4.127.post1
fetch target manylinux2014_aarch64 nvidia-cuda-runtime-cu12==12.4.127

D="$WORK/deb/usr"
mkdir -p "$STAGE/nvvm/bin" "$STAGE/nvvm/libdevice" "$TARGET/include"
cp "$D/lib/nvidia-cuda-toolkit/bin/nvcc" "$STAGE/bin/"
cp -r "$D/lib/nvidia-cuda-toolkit/bin/crt" "$STAGE/bin/"
cp "$D/lib/nvidia-cuda-toolkit/bin/cicc" "$STAGE/nvvm/bin/"
cp "$D/lib/nvidia-cuda-toolkit/libdevice/"* "$STAGE/nvvm/libdevice/"
for tool in cudafe++ fatbinary ptxas nvlink bin2c cuobjdump; do cp "$D/bin/$tool" "$STAGE/bin/"; done
cp -r "$WORK/target/x/nvidia/cuda_runtime/include/." "$WORK/host/x/nvidia/cuda_nvcc/include/." \
  "$WORK/host/x/nvidia/cuda_cccl/include/." "$TARGET/include/"   # CUB, Thrust, libcu++
rm -f "$TARGET/include/__init__.py"
cp "$WORK/target/x/nvidia/cuda_runtime/lib/libcudart.so.12" "$TARGET/lib/"
ln -s libcudart.so.12 "$TARGET/lib/libcudart.so"
# nvcc puts -lcudadevrt on every link; only relocatable device code uses it (the plugins have none),
# and no cu12 package carries the aarch64 archive: an empty one stands in
ar rc "$TARGET/lib/libcudadevrt.a"
# the standard layout's profile (Debian's points at /usr/lib/nvidia-cuda-toolkit)
cat > "$STAGE/bin/nvcc.profile" <<'EOF'

TOP              = $(_HERE_)/..

NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice

PATH            += $(TOP)/nvvm/bin:$(_HERE_):

INCLUDES        +=  "-I$(TOP)/$(_TARGET_DIR_)/include" $(_SPACE_)

LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)/stubs" "-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)"

CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
EOF
finish 12.4
