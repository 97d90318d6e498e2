# What `cmake --install` (and `make install`, `make deb`) puts where, under
# CMAKE_INSTALL_PREFIX (default /usr/local) and DESTDIR:
#
#   bin/hubsync                        the command (libhubsync linked in)
#   LIBDIR/libhubsync.so.SOVERSION...  the shared library, and its .so link
#   LIBDIR/libhubsync.a                the static library
#   LIBDIR/pkgconfig/hubsync.pc        pkg-config --cflags --libs hubsync
#   include/hubsync.h                  the public API
#   share/man/man1/hubsync*.1          man/*.1: hubsync(1), one page per command
#   lib/systemd/user/*.service         contrib/*.service (systemd user units)
#   share/doc/hubsync/                 README.md and docs/
#
# LIBDIR is GNUInstallDirs' (lib/x86_64-linux-gnu for /usr on Debian, lib
# under /usr/local). hubsync.pc and the units name installed paths: they are
# written at install time (install-paths.cmake) for the prefix in force
# then, so `cmake --install build --prefix DIR` is right too.
include(GNUInstallDirs)

set(HS_SYSTEMD_USER_UNIT_DIR lib/systemd/user CACHE STRING
	"where the systemd user units go, relative to the prefix")

install(TARGETS hubsync_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS hubsync ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET hubsync_shared)
	install(TARGETS hubsync_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(FILES include/hubsync.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

file(GLOB HS_MAN_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.1)
install(FILES ${HS_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB HS_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md
	${PROJECT_SOURCE_DIR}/docs/*.png)
install(FILES ${HS_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

file(GLOB HS_USER_UNITS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/contrib/*.service)
install(CODE "
	set(HS_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
	set(HS_WORK_DIR \"${PROJECT_BINARY_DIR}/install-paths\")
	set(HS_VERSION \"${PROJECT_VERSION}\")
	set(HS_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
	set(HS_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
	set(HS_UNIT_DIR \"${HS_SYSTEMD_USER_UNIT_DIR}\")
	set(HS_USER_UNITS \"${HS_USER_UNITS}\")
")
install(SCRIPT cmake/install-paths.cmake)
