# cmake -DHEADER=include/hubsync.h -DOUT=hubsync.map -P exports.cmake
#
# Write the version script of libhubsync.so: every function declared in the
# public header (a name hs_... followed by "(") is global, everything else
# (the library's internal hs_* helpers included) is local.
file(READ ${HEADER} text)
string(REGEX MATCHALL "hs_[a-z0-9_]+\\(" calls "${text}")
list(REMOVE_DUPLICATES calls)
list(SORT calls)
set(body "")
foreach(c ${calls})
	string(REPLACE "(" "" name "${c}")
	string(APPEND body "\t\t${name};\n")
endforeach()
if(body STREQUAL "")
	message(FATAL_ERROR "exports.cmake: no hs_ function found in ${HEADER}")
endif()
set(map "/* Written by src/lib/exports.cmake from include/hubsync.h. */\n{\n\tglobal:\n${body}\tlocal:\n\t\t*;\n};\n")
file(WRITE ${OUT} "${map}")
