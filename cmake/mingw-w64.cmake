# Cross-compiling for 64-bit Windows with Debian's mingw-w64 (make windows).
# The posix-threads flavour of gcc: the daemon uses pthreads (winpthreads,
# linked statically). HS_WIN_DEPS is the prefix the dependencies were
# installed into by scripts/windows-deps.sh; pkg-config looks only there.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(HS_MINGW x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${HS_MINGW}-gcc-posix)
set(CMAKE_RC_COMPILER ${HS_MINGW}-windres)
set(CMAKE_AR ${HS_MINGW}-gcc-ar-posix CACHE FILEPATH "")
set(CMAKE_RANLIB ${HS_MINGW}-gcc-ranlib-posix CACHE FILEPATH "")
set(CMAKE_FIND_ROOT_PATH /usr/${HS_MINGW})
if(DEFINED ENV{HS_WIN_DEPS})
	list(APPEND CMAKE_FIND_ROOT_PATH $ENV{HS_WIN_DEPS})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
