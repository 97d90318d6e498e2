# Run by `cmake --install` (see install.cmake, which sets the HS_ variables
# before): write and install the files that name installed paths, for the
# CMAKE_INSTALL_PREFIX of this install.
#
# - hubsync.pc from cmake/hubsync.pc.in;
# - each contrib/*.service with "/usr/local/" (the path the unit names for a
#   copy made by hand, see docs/DAEMON.md) replaced by the prefix.
set(prefix "${CMAKE_INSTALL_PREFIX}")
# In hubsync.pc: "${prefix}/lib", or the folder as given when absolute.
foreach(dir libdir includedir)
	string(TOUPPER "HS_${dir}" var)
	if(IS_ABSOLUTE "${${var}}")
		set(${dir} "${${var}}")
	else()
		set(${dir} "\${prefix}/${${var}}")
	endif()
endforeach()
string(REPLACE "\${prefix}" "${prefix}" pcdir "${libdir}/pkgconfig")
set(version "${HS_VERSION}")
configure_file("${HS_SOURCE_DIR}/cmake/hubsync.pc.in" "${HS_WORK_DIR}/hubsync.pc" @ONLY)
file(INSTALL "${HS_WORK_DIR}/hubsync.pc" DESTINATION "${pcdir}")

foreach(unit ${HS_USER_UNITS})
	get_filename_component(name "${unit}" NAME)
	file(READ "${unit}" text)
	string(REPLACE "/usr/local/" "${prefix}/" text "${text}")
	file(WRITE "${HS_WORK_DIR}/${name}" "${text}")
	file(INSTALL "${HS_WORK_DIR}/${name}" DESTINATION "${prefix}/${HS_UNIT_DIR}")
endforeach()
