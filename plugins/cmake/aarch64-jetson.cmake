# Cross-builds libtaostream_plugins.so for Jetson Orin (JetPack 6.1 / 6.2: aarch64, CUDA 12.6,
# TensorRT 10.3, DeepStream 7.1) on an x86-64 host: parsers/cmake/aarch64-linux-gnu.cmake's C++
# cross compiler, plus a CUDA 12 nvcc whose targets/aarch64-linux holds the aarch64 CUDA runtime.
#
#   cmake -S . -B build-jetson -DCMAKE_TOOLCHAIN_FILE=plugins/cmake/aarch64-jetson.cmake \
#         -DTAOSTREAM_JETSON_CUDA=<CUDA 12 root> -DTAOSTREAM_BUILD_PLUGINS=ON \
#         -DTENSORRT_ROOT=<TensorRT 10.3 headers> -DTAOSTREAM_PARSERS_FUZZ=OFF
#   cmake --build build-jetson --target taostream_plugins -j
#
# <CUDA 12 root>: NVIDIA's x86-64 CUDA 12.x with its aarch64 cross package (cuda-cross-aarch64,
# /usr/local/cuda-12.6), or the tree scripts/jetson_cuda_cross.sh assembles from Debian's
# nvidia-cuda-toolkit 12.4 and the aarch64 nvidia-cuda-runtime-cu12 wheel. Not CUDA 13: JetPack 6's
# r36 driver runs CUDA 12 code, and a CUDA 13 runtime does not load on it (JetPack 7 / Thor is CUDA 13).
#
# The library needs libcudart.so.12 (the Jetson's own, which JetPack's cuda-cudart package puts on
# the loader path and DeepStream's nvinfer has already loaded) unless the toolkit has an aarch64
# libcudart_static.a: then it links that, as the x86-64 build does.
include("${CMAKE_CURRENT_LIST_DIR}/../../parsers/cmake/aarch64-linux-gnu.cmake")

if(NOT TAOSTREAM_JETSON_CUDA AND DEFINED ENV{TAOSTREAM_JETSON_CUDA})
  set(TAOSTREAM_JETSON_CUDA "$ENV{TAOSTREAM_JETSON_CUDA}")
endif()
set(TAOSTREAM_JETSON_CUDA "${TAOSTREAM_JETSON_CUDA}" CACHE PATH
    "CUDA 12 toolkit root: bin/nvcc (x86-64) and targets/aarch64-linux (the aarch64 runtime)")
# try_compile projects get the same toolkit
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TAOSTREAM_JETSON_CUDA)
if(NOT TAOSTREAM_JETSON_CUDA)
  message(FATAL_ERROR "aarch64-jetson.cmake needs the CUDA 12 toolkit to cross-build with: "
                      "-DTAOSTREAM_JETSON_CUDA=<root with bin/nvcc and targets/aarch64-linux> "
                      "(scripts/jetson_cuda_cross.sh makes one)")
endif()
set(_jetson_target "${TAOSTREAM_JETSON_CUDA}/targets/aarch64-linux")
if(NOT EXISTS "${TAOSTREAM_JETSON_CUDA}/bin/nvcc" OR NOT EXISTS "${_jetson_target}/include/cuda_runtime.h")
  message(FATAL_ERROR "TAOSTREAM_JETSON_CUDA=${TAOSTREAM_JETSON_CUDA} has no bin/nvcc or no "
                      "targets/aarch64-linux/include/cuda_runtime.h: give a CUDA 12 toolkit with the aarch64 "
                      "target (scripts/jetson_cuda_cross.sh makes one)")
endif()

set(CMAKE_CUDA_COMPILER "${TAOSTREAM_JETSON_CUDA}/bin/nvcc")
set(CMAKE_CUDA_HOST_COMPILER "${CMAKE_CXX_COMPILER}")
set(CUDAToolkit_ROOT "${TAOSTREAM_JETSON_CUDA}")
# nvcc takes its headers and libraries from targets/<dir>: the host's (x86_64-linux) unless told
set(CMAKE_CUDA_FLAGS_INIT "--target-directory aarch64-linux")
list(APPEND CMAKE_FIND_ROOT_PATH "${_jetson_target}")

# The library goes to a Jetson as built: no RUNPATH to this host's toolkit (run the harness under qemu
# with LD_LIBRARY_PATH=<toolkit>/targets/aarch64-linux/lib)
set(CMAKE_SKIP_BUILD_RPATH ON)

# JetPack 6 (TensorRT 10.3, the first with IPluginV3 on Jetson) runs on Orin only: sm_87. Xavier (72)
# stops at JetPack 5.1 and TensorRT 8.5, whose own plugin library serves the TAO plugins.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 87)
endif()
if(NOT EXISTS "${_jetson_target}/lib/libcudart_static.a")
  set(TAOSTREAM_CUDART_STATIC OFF CACHE BOOL "Link the CUDA runtime statically")
  # CMake's compiler check links a program, with nvcc's default (static) runtime unless told
  string(APPEND CMAKE_CUDA_FLAGS_INIT " -cudart shared")
  set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
endif()
