# Cross-compiles for arm64 on an x86_64 Debian 12 host with crossbuild-essential-arm64 and the
# :arm64 -dev packages (multiarch; scripts/install-deps --arm64). Programs built here run under
# qemu-user with the cross sysroot: the unit tests (CTest, Catch2's test discovery) and help2man.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Libraries and CMake packages from the multiarch directories (/usr/lib/aarch64-linux-gnu).
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# qemu-aarch64 runs them with the multiarch arm64 glibc (libc6:arm64, which libssl3:arm64 and the
# other :arm64 libraries pull in): its ld.so is /lib/ld-linux-aarch64.so.1, so the prefix is /.
# Not /usr/aarch64-linux-gnu: that would load ld.so from libc6-arm64-cross (2.36-8cross1) and
# libc.so.6 from /lib/aarch64-linux-gnu (libc6:arm64, a later 2.36 build). The two share private
# structures (GLIBC_PRIVATE); mixed, a test's first pthread_create spins forever inside ld.so
# before any clone(), which is why four threaded unit tests used to hang under qemu.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
# pkg-config: arm64 .pc files only, plus libevent-dev:arm64 unpacked by install-deps --arm64.
get_filename_component(regcache_arm64_deps "${CMAKE_CURRENT_LIST_DIR}/../build/arm64-deps" ABSOLUTE)
set(ENV{PKG_CONFIG_LIBDIR}
  "${regcache_arm64_deps}/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(REGCACHE_DEB_ARCHITECTURE arm64 CACHE STRING "Debian architecture of the .deb")
