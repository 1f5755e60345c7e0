# cmake -DIN=file -DOUT=file.cc -DNAME=kSymbol -P embed_file.cmake
# Writes a C++ source defining `const unsigned char NAME[]` and `const size_t NAME##Size` with the
# bytes of IN (used to ship small assets inside the tpserve binary).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "// Generated from ${IN} by tools/cmake/embed_file.cmake. Do not edit.\n#include <cstddef>\nnamespace tpserve::cli {\nextern const unsigned char ${NAME}[];\nextern const std::size_t ${NAME}Size;\nconst unsigned char ${NAME}[] = {${bytes}};\nconst std::size_t ${NAME}Size = ${size};\n}  // namespace tpserve::cli\n")
