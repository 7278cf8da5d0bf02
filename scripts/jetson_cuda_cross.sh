#!/usr/bin/env bash
# Assemble a CUDA 12 toolkit that cross-builds libtaostream_plugins.so for Jetson Orin on JetPack 6.1 /
# 6.2 (CUDA 12.6 driver, TensorRT 10.3, DeepStream 7.1) from an x86-64 Debian/Ubuntu host, out of
# packages only: the x86-64 nvcc 12.4 of Debian 13's non-free nvidia-cuda-toolkit, the CUDA headers of
# the nvidia-cuda-nvcc-cu12 wheel, and the aarch64 CUDA runtime (headers, libcudart.so.12) of the
# manylinux aarch64 nvidia-cuda-runtime-cu12 wheel.
#
#   scripts/jetson_cuda_cross.sh DEST
#
# DEST then holds bin/nvcc and targets/aarch64-linux, which plugins/cmake/aarch64-jetson.cmake takes as
# -DTAOSTREAM_JETSON_CUDA=DEST (plugins/README.md). NVIDIA's own x86-64 CUDA 12.x with its
# cuda-cross-aarch64 package does the same job where it is installed (-DTAOSTREAM_JETSON_CUDA=/usr/local/cuda-12.6).
#
# Why CUDA 12 and these versions: JetPack 6's r36 driver runs CUDA 12 code and no CUDA 13 runtime; a
# toolkit older than the Jetson's 12.6 is always fine (CUDA's backward compatibility), and 12.4 is
# the newest x86-64 nvcc a package registry carries (the cu12 nvcc wheels ship ptxas but no nvcc).
# The library links libcudart.so.12 by its soname: the Jetson's own runtime serves it, the wheel's
# aarch64 copy is only linked against (and run under qemu by tests/test_plugin_library_aarch64.py).
#
# Needs: apt-get and dpkg-deb (Debian/Ubuntu), python3 -m pip, and about 300 MB in a scratch folder.
# apt runs with a private configuration under DEST.work: the machine's sources and state are untouched.
set -euo pipefail

die() { echo "jetson_cuda_cross: error: $*" >&2; exit 2; }

[[ $# -eq 1 && "$1" != -* ]] || { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
DEST="$(realpath -m "$1")"
[[ ! -e "$DEST/bin/nvcc" ]] || { echo "jetson_cuda_cross: $DEST already holds a toolkit" >&2; exit 0; }
for tool in apt-get dpkg-deb python3; do command -v "$tool" >/dev/null || die "$tool not found"; done

DEBIAN_CUDA="12.4.131~12.4.1-2"           # nvidia-cuda-toolkit in Debian 13 "trixie" non-free
NVCC_WHEEL="nvidia-cuda-nvcc-cu12==12.4.131"
RUNTIME_WHEEL="nvidia-cuda-runtime-cu12==12.4.127"
WORK="$DEST.work"
rm -rf "$WORK"
mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/debs" "$WORK/deb" "$WORK/wheels"

echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie non-free" \
  > "$WORK/apt/sources.list"
[[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]] || die "no Debian archive keyring: apt-get install debian-archive-keyring"
APT=(-o "Dir::Etc::SourceList=$WORK/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache" -o Dir::State::status=/dev/null
     -o APT::Architecture=amd64 -o APT::Sandbox::User=root -o Debug::NoLocking=1)
apt-get "${APT[@]}" -q update >&2
(cd "$WORK/debs" && apt-get "${APT[@]}" -q download "nvidia-cuda-toolkit=$DEBIAN_CUDA") >&2
dpkg-deb -x "$WORK"/debs/nvidia-cuda-toolkit_*.deb "$WORK/deb"

python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux2014_x86_64 -d "$WORK/wheels" "$NVCC_WHEEL"
python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux2014_aarch64 -d "$WORK/wheels" "$RUNTIME_WHEEL"
python3 - "$WORK/wheels" "$WORK/wheels/x" <<'EOF'
import sys, zipfile, pathlib
for wheel in pathlib.Path(sys.argv[1]).glob("*.whl"):
    zipfile.ZipFile(wheel).extractall(sys.argv[2])
EOF

STAGE="$DEST.partial"
rm -rf "$STAGE"
TARGET="$STAGE/targets/aarch64-linux"
mkdir -p "$STAGE/bin" "$STAGE/nvvm/bin" "$STAGE/nvvm/libdevice" "$TARGET/include" "$TARGET/lib"
D="$WORK/deb/usr"
cp "$D/lib/nvidia-cuda-toolkit/bin/nvcc" "$STAGE/bin/"
cp -r "$D/lib/nvidia-cuda-toolkit/bin/crt" "$STAGE/bin/"
cp "$D/lib/nvidia-cuda-toolkit/bin/cicc" "$STAGE/nvvm/bin/"
cp "$D/lib/nvidia-cuda-toolkit/libdevice/"* "$STAGE/nvvm/libdevice/"
for tool in cudafe++ fatbinary ptxas nvlink bin2c cuobjdump; do cp "$D/bin/$tool" "$STAGE/bin/"; done
cp -r "$WORK/wheels/x/nvidia/cuda_runtime/include/." "$WORK/wheels/x/nvidia/cuda_nvcc/include/." "$TARGET/include/"
rm -f "$TARGET/include/__init__.py"
cp "$WORK/wheels/x/nvidia/cuda_runtime/lib/libcudart.so.12" "$TARGET/lib/"
ln -s libcudart.so.12 "$TARGET/lib/libcudart.so"
# nvcc puts -lcudadevrt on every link; only relocatable device code uses it (the plugins do not), and
# no package carries the aarch64 archive: an empty one stands in
"${AARCH64_AR:-aarch64-linux-gnu-ar}" rc "$TARGET/lib/libcudadevrt.a" 2>/dev/null || ar rc "$TARGET/lib/libcudadevrt.a"
# The standard layout's profile (Debian's points at /usr/lib/nvidia-cuda-toolkit)
cat > "$STAGE/bin/nvcc.profile" <<'EOF'

TOP              = $(_HERE_)/..

NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice

PATH            += $(TOP)/nvvm/bin:$(_HERE_):

INCLUDES        +=  "-I$(TOP)/$(_TARGET_DIR_)/include" $(_SPACE_)

LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)/stubs" "-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)"

CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
EOF
"$STAGE/bin/nvcc" --version | grep -q "release 12.4" || die "the assembled nvcc does not run"
rm -rf "$DEST" && mv "$STAGE" "$DEST" && rm -rf "$WORK"
echo "jetson_cuda_cross: CUDA 12.4 for aarch64-linux in $DEST (-DTAOSTREAM_JETSON_CUDA=$DEST)" >&2
