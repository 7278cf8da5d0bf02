# Cross-builds libtaostream_plugins.so for a Jetson on an x86-64 host: parsers/cmake/aarch64-linux-gnu.cmake's
# C++ cross compiler, plus an x86-64 nvcc whose targets/aarch64-linux holds the aarch64 CUDA headers
# and runtime. The CUDA major must be the Jetson's:
#
#   JetPack 6.1 / 6.2 (Orin; DeepStream 7.1): CUDA 12 (the r36 driver loads no CUDA 13 code), TensorRT 10.3
#   JetPack 7.x (Thor; 7.2 also Orin; DeepStream 8.0 / 9.x): CUDA 13, the TensorRT 10.x of that JetPack
#
#   cmake -S . -B build-jetson -DCMAKE_TOOLCHAIN_FILE=plugins/cmake/aarch64-jetson.cmake \
#         -DTAOSTREAM_JETSON_CUDA=<toolkit> -DTAOSTREAM_BUILD_PLUGINS=ON \
#         -DTENSORRT_ROOT=<that TensorRT's headers> -DTAOSTREAM_PARSERS_FUZZ=OFF
#   cmake --build build-jetson --target taostream_plugins -j
#
# <toolkit>: NVIDIA's x86-64 CUDA with its aarch64 cross package (cuda-cross-aarch64), or the tree
# `scripts/jetson_cuda_cross.sh DIR [12|13]` assembles from Debian's and PyPI's packages.
include("${CMAKE_CURRENT_LIST_DIR}/../../parsers/cmake/aarch64-linux-gnu.cmake")

if(NOT TAOSTREAM_JETSON_CUDA AND DEFINED ENV{TAOSTREAM_JETSON_CUDA})
  set(TAOSTREAM_JETSON_CUDA "$ENV{TAOSTREAM_JETSON_CUDA}")
endif()
set(TAOSTREAM_JETSON_CUDA "${TAOSTREAM_JETSON_CUDA}" CACHE PATH
    "CUDA 12 or 13 toolkit root (the Jetson's CUDA major): bin/nvcc (x86-64) and targets/aarch64-linux (the aarch64 runtime)")
# try_compile projects get the same toolkit
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TAOSTREAM_JETSON_CUDA)
if(NOT TAOSTREAM_JETSON_CUDA)
  message(FATAL_ERROR "aarch64-jetson.cmake needs the CUDA toolkit to cross-build with (12 for JetPack 6, 13 for JetPack 7): "
                      "-DTAOSTREAM_JETSON_CUDA=<root with bin/nvcc and targets/aarch64-linux> "
                      "(scripts/jetson_cuda_cross.sh makes one)")
endif()
set(_jetson_target "${TAOSTREAM_JETSON_CUDA}/targets/aarch64-linux")
if(NOT EXISTS "${TAOSTREAM_JETSON_CUDA}/bin/nvcc" OR NOT EXISTS "${_jetson_target}/include/cuda_runtime.h")
  message(FATAL_ERROR "TAOSTREAM_JETSON_CUDA=${TAOSTREAM_JETSON_CUDA} has no bin/nvcc or no "
                      "targets/aarch64-linux/include/cuda_runtime.h: give a CUDA 12 or 13 toolkit with the aarch64 "
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

# Architectures: plugins/CMakeLists.txt's Jetson default (Orin 87; with CUDA 13 also Thor 110). Xavier
# (72) stops at JetPack 5.1 and TensorRT 8.5, which has no IPluginV3 and ships the TAO plugins itself.
#
# The CUDA runtime: the Jetson's own libcudart.so (JetPack's cuda-cudart package puts it on the loader
# path, and DeepStream's nvinfer has loaded it before the library): it matches the device's driver
# and Tegra flavour, which a server (sbsa) aarch64 libcudart_static.a from a wheel may not.
# -DTAOSTREAM_CUDART_STATIC=ON links the toolkit's static one instead.
if(NOT DEFINED TAOSTREAM_CUDART_STATIC OR NOT TAOSTREAM_CUDART_STATIC)
  set(TAOSTREAM_CUDART_STATIC OFF CACHE BOOL "Link the CUDA runtime statically")
  # CMake's compiler check links a program, with nvcc's default (static) runtime unless told
  string(APPEND CMAKE_CUDA_FLAGS_INIT " -cudart shared")
  set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
endif()
