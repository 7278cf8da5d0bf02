# Cross-compiles taostream's C++ for 64-bit Arm Linux (Jetson: JetPack 5/6/7 userlands are
# aarch64 glibc) with Debian/Ubuntu's cross toolchain, and runs built programs (ctest) under
# user-mode qemu:
#
#   apt-get install g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=parsers/cmake/aarch64-linux-gnu.cmake \
#         -DCMAKE_BUILD_TYPE=Release -DTAOSTREAM_PARSERS_FUZZ=OFF      (scripts/jetson_build.sh's flags)
#
# No -march/-mcpu: a Jetson's own g++ targets plain armv8-a too, and the parser library must load
# on every module (Xavier's Carmel and Orin's Cortex-A78AE alike).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(TAOSTREAM_AARCH64_TRIPLE "aarch64-linux-gnu" CACHE STRING "cross toolchain prefix")
set(TAOSTREAM_AARCH64_SYSROOT "/usr/${TAOSTREAM_AARCH64_TRIPLE}" CACHE PATH
    "aarch64 libraries (libc, libstdc++) for linking and for qemu -L")

set(CMAKE_C_COMPILER "${TAOSTREAM_AARCH64_TRIPLE}-gcc")
set(CMAKE_CXX_COMPILER "${TAOSTREAM_AARCH64_TRIPLE}-g++")

set(CMAKE_FIND_ROOT_PATH "${TAOSTREAM_AARCH64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest (and try_run) run aarch64 programs through qemu when it is installed.
find_program(TAOSTREAM_QEMU_AARCH64 qemu-aarch64)
if(TAOSTREAM_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${TAOSTREAM_QEMU_AARCH64};-L;${TAOSTREAM_AARCH64_SYSROOT}")
endif()
