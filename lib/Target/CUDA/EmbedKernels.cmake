# Writes the kernel templates into a C++ include as raw string literals, so
# the emitter can prepend them to the generated source (cmake -P script).
#   -DOUT=<file.inc> -DSOURCES="Name1=path1;Name2=path2"
set(content "// Generated from lib/Target/CUDA/kernels by EmbedKernels.cmake.\n")
foreach(entry IN LISTS SOURCES)
  string(REPLACE "=" ";" pair "${entry}")
  list(GET pair 0 name)
  list(GET pair 1 path)
  file(READ "${path}" text)
  string(APPEND content "static const char k${name}Source[] = R\"dscuda(\n${text})dscuda\";\n")
endforeach()
file(WRITE "${OUT}.tmp" "${content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
