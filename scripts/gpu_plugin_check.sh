#!/usr/bin/env bash
# The one GPU check of the TensorRT plugins (plugins/README.md, "What has and has not run on a GPU"):
# on a machine with a CUDA device, nvcc and CMake (no TensorRT, no network), build the plugin library
# and its harness against carried TensorRT headers, compile every kernel, and run
#   pytest tests/test_plugin_kernels.py tests/test_plugin_library.py
# whose test_every_enqueue_equals_the_host_implementation_on_a_gpu runs every plugin's enqueue (from
# its serialized, restored plugin, as an engine runs it) on generated inputs and compares the outputs
# byte for byte with the host implementation. Prints a short summary; exit 0 only when everything
# passed and the GPU test ran (not skipped).
#
#   scripts/gpu_plugin_check.sh --prepare [HEADERS]   # here, before the run: copies the TensorRT
#        headers (default /work/wt/trt-headers/11.1/include) to .trt-headers/include, and pytest with
#        its pure-Python dependencies and pyelftools (test_plugin_library reads the ELF) to
#        .gpu-tools/python (both git-ignored); carry both to the device
#   scripts/gpu_plugin_check.sh                        # on the device, from the repository root
#
# Environment: TAOSTREAM_TENSORRT_ROOT (default .trt-headers), PYTHON (default python3),
# GPU_CHECK_BUDGET_S (default 510: the pytest run is stopped past it, under 9 minutes in all),
# GPU_CHECK_JOBS (default: every core).
set -u
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO" || exit 2

if [ "${1:-}" = "--prepare" ]; then
    headers="${2:-/work/wt/trt-headers/11.1/include}"
    [ -f "$headers/NvInferRuntime.h" ] || { echo "gpu_plugin_check: no NvInferRuntime.h in $headers"; exit 2; }
    rm -rf .trt-headers && mkdir -p .trt-headers && cp -r "$headers" .trt-headers/include || exit 2
    python="${PYTHON:-$REPO/.venv/bin/python}"
    site="$("$python" -c 'import os, pytest; print(os.path.dirname(os.path.dirname(pytest.__file__)))')" || exit 2
    rm -rf .gpu-tools/python && mkdir -p .gpu-tools/python || exit 2
    for package in _pytest pytest pluggy iniconfig packaging py.py elftools; do
        [ -e "$site/$package" ] && cp -r "$site/$package" .gpu-tools/python/
    done
    du -sh .trt-headers .gpu-tools
    echo "gpu_plugin_check: prepared; carry .trt-headers and .gpu-tools (run(carry=[...]))"
    exit 0
fi

start=$(date +%s)
budget="${GPU_CHECK_BUDGET_S:-510}"
jobs="${GPU_CHECK_JOBS:-$(nproc)}"
python="${PYTHON:-python3}"
export TAOSTREAM_TENSORRT_ROOT="${TAOSTREAM_TENSORRT_ROOT:-$REPO/.trt-headers}"
export PATH="$REPO/.gpu-tools/bin:$PATH:/usr/local/cuda/bin"
# taostream importable from this checkout without installing it: a package folder of links (the
# layout pyproject.toml's package-dir gives an install)
shim="$(mktemp -d)"
trap 'rm -rf "$shim"' EXIT
mkdir -p "$shim/taostream"
for f in "$REPO"/taostream/*.py; do ln -s "$f" "$shim/taostream/"; done
for package in converter plugins parsers deepstream_configs inference training; do
    ln -s "$REPO/$package" "$shim/taostream/$package"
done
export PYTHONPATH="$shim:$REPO/.gpu-tools/python${PYTHONPATH:+:$PYTHONPATH}"
export TAOSTREAM_TEST_BUILD_JOBS="$jobs" TAOSTREAM_TEST_CUDA_ARCHITECTURES="${TAOSTREAM_TEST_CUDA_ARCHITECTURES:-native}"
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs"

missing=""
command -v nvcc >/dev/null || missing="$missing nvcc"
command -v cmake >/dev/null || missing="$missing cmake"
[ -f "$TAOSTREAM_TENSORRT_ROOT/include/NvInferRuntime.h" ] || [ -f "$TAOSTREAM_TENSORRT_ROOT/NvInferRuntime.h" ] ||
    missing="$missing TensorRT-headers($TAOSTREAM_TENSORRT_ROOT)"
"$python" -c "import pytest, numpy" 2>/dev/null || missing="$missing pytest/numpy(for $python)"
# python runs from the shim: from the checkout's root, its taostream/ folder (the top package alone)
# would shadow the shim's
where="$(cd "$shim" && "$python" -c 'import os, taostream.plugins as p; print(os.path.realpath(p.__file__))' 2>/dev/null)"
case "$where" in
    "$REPO"/*) ;;
    *) missing="$missing taostream-from-this-checkout(got:${where:-none})" ;;
esac
if [ -n "$missing" ]; then
    echo "gpu_plugin_check: MISSING:$missing (run scripts/gpu_plugin_check.sh --prepare here and carry .trt-headers, .gpu-tools)"
    exit 2
fi
# the device's own architecture (its compute capability from nvidia-smi); without a visible device 75,
# so that everything builds and the GPU test is skipped with its reason
gpu="$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>/dev/null | head -1)"
if [ "$TAOSTREAM_TEST_CUDA_ARCHITECTURES" = "native" ]; then
    cap="$(printf '%s' "$gpu" | awk -F', ' '{print $2}' | tr -d '.')"
    export TAOSTREAM_TEST_CUDA_ARCHITECTURES="${cap:-75}"
fi
echo "gpu_plugin_check: GPU: ${gpu:-none visible to nvidia-smi}"
echo "gpu_plugin_check: nvcc $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), cmake $(cmake --version | head -1 | awk '{print $3}'), TensorRT headers $TAOSTREAM_TENSORRT_ROOT, architectures $TAOSTREAM_TEST_CUDA_ARCHITECTURES, $jobs jobs"

log="${GPU_CHECK_LOG:-$REPO/gpu_plugin_check.log}"
left=$((budget - ($(date +%s) - start)))
(cd "$shim" && timeout --signal=INT --kill-after=20 "$left" "$python" -m pytest --rootdir "$REPO" -c "$REPO/pyproject.toml" \
    "$REPO/tests/test_plugin_kernels.py" "$REPO/tests/test_plugin_library.py" -p no:cacheprovider -q -rs -o addopts="" \
    --durations=5 >"$log" 2>&1)
status=$?
elapsed=$(($(date +%s) - start))
echo "gpu_plugin_check: pytest exit $status after ${elapsed}s (log: $log)"
grep -E "passed|failed|error" "$log" | tail -1
grep -E "^(SKIPPED|FAILED|ERROR)" "$log" | head -20
gpu_test="test_every_enqueue_equals_the_host_implementation_on_a_gpu"
if grep -q "SKIPPED.*no CUDA device" "$log"; then
    echo "gpu_plugin_check: $gpu_test SKIPPED: no CUDA device"
    exit 1
fi
if [ "$status" -ne 0 ]; then
    grep -E "^E " "$log" | head -30
    [ "$status" -eq 124 ] || [ "$status" -eq 130 ] && echo "gpu_plugin_check: stopped at the ${budget}s budget"
    exit 1
fi
echo "gpu_plugin_check: every enqueue equals the host implementation on this GPU"
exit 0
