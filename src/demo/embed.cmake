# embed.cmake - turn a file into a C array, at build time.
#
#   cmake -DIN=data.csv -DOUT=data.c -DNAME=sym -DHEADER=decl.h -P embed.cmake
#
# writes OUT defining `const unsigned char NAME[]` (the bytes of IN followed
# by one NUL, so it can also be read as a string) and `const size_t NAME_len`
# (the size of IN, without that NUL). HEADER, if given, is included first so
# that the compiler checks the definitions against their declarations.
if(NOT DEFINED IN OR NOT DEFINED OUT OR NOT DEFINED NAME)
	message(FATAL_ERROR "embed.cmake: need -DIN=file -DOUT=file.c -DNAME=symbol")
endif()
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR nbytes "${nhex} / 2")
# 16 bytes (32 hex digits) per line, then each byte as 0xNN.
string(REPEAT "[0-9a-f]" 32 line_re)
string(REGEX REPLACE "(${line_re})" "\\1\n" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
set(include "")
if(DEFINED HEADER)
	set(include "#include \"${HEADER}\"\n")
endif()
file(WRITE "${OUT}.tmp"
	"/* Generated from ${IN} by embed.cmake. Do not edit. */\n"
	"#include <stddef.h>\n${include}\n"
	"const unsigned char ${NAME}[] = {\n${body}0x00\n};\n"
	"const size_t ${NAME}_len = ${nbytes};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
