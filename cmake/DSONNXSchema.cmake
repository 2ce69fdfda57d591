# Compile the ONNX protobuf schema of the pinned `onnx` PyPI release at build time,
# and generate the table of operator since-versions from the same release.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_package(Protobuf REQUIRED)
set(DS_ONNX_VERSION 1.22.0)
execute_process(
  COMMAND ${Python3_EXECUTABLE} -c "import onnx, os; print(onnx.__version__); print(os.path.dirname(onnx.__file__))"
  OUTPUT_VARIABLE _onnx_info OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _onnx_rc)
if(NOT _onnx_rc EQUAL 0)
  message(FATAL_ERROR "The Python package onnx==${DS_ONNX_VERSION} is required (pip install onnx==${DS_ONNX_VERSION})")
endif()
string(REPLACE "\n" ";" _onnx_info "${_onnx_info}")
list(GET _onnx_info 0 _onnx_found_version)
list(GET _onnx_info 1 DS_ONNX_PACKAGE_DIR)
if(NOT _onnx_found_version VERSION_EQUAL DS_ONNX_VERSION)
  message(FATAL_ERROR "onnx ${_onnx_found_version} found, ds pins onnx==${DS_ONNX_VERSION}")
endif()
set(DS_ONNX_PROTO_SRC ${DS_ONNX_PACKAGE_DIR}/onnx.proto)
set(DS_ONNX_NODE_TESTS ${DS_ONNX_PACKAGE_DIR}/backend/test/data/node)
message(STATUS "ONNX schema: ${DS_ONNX_PROTO_SRC}")

# C++ classes of onnx.proto, compiled from the pinned release.
set(DS_ONNX_PROTO_DIR ${CMAKE_BINARY_DIR}/onnx_proto)
file(MAKE_DIRECTORY ${DS_ONNX_PROTO_DIR}/onnx)
add_custom_command(
  OUTPUT ${DS_ONNX_PROTO_DIR}/onnx/onnx.pb.cc ${DS_ONNX_PROTO_DIR}/onnx/onnx.pb.h
  COMMAND ${CMAKE_COMMAND} -E copy ${DS_ONNX_PROTO_SRC} ${DS_ONNX_PROTO_DIR}/onnx/onnx.proto
  COMMAND protobuf::protoc --cpp_out=${DS_ONNX_PROTO_DIR} -I ${DS_ONNX_PROTO_DIR} ${DS_ONNX_PROTO_DIR}/onnx/onnx.proto
  DEPENDS ${DS_ONNX_PROTO_SRC}
  COMMENT "Compiling onnx.proto of onnx ${DS_ONNX_VERSION}")
add_library(DSONNXProto STATIC ${DS_ONNX_PROTO_DIR}/onnx/onnx.pb.cc)
target_include_directories(DSONNXProto SYSTEM PUBLIC ${DS_ONNX_PROTO_DIR})
target_link_libraries(DSONNXProto PUBLIC protobuf::libprotobuf)
set_target_properties(DSONNXProto PROPERTIES POSITION_INDEPENDENT_CODE ON)

# Operator since-versions of the same release.
add_custom_command(
  OUTPUT ${DS_ONNX_PROTO_DIR}/OnnxOpVersions.inc ${DS_ONNX_PROTO_DIR}/OnnxOpAttributes.inc
  COMMAND ${Python3_EXECUTABLE} ${ds_SOURCE_DIR}/utils/gen_onnx_op_versions.py
          ${DS_ONNX_PROTO_DIR}/OnnxOpVersions.inc ${DS_ONNX_PROTO_DIR}/OnnxOpAttributes.inc
  DEPENDS ${ds_SOURCE_DIR}/utils/gen_onnx_op_versions.py
  COMMENT "Generating the ONNX operator version and attribute tables")
add_custom_target(DSONNXOpVersions DEPENDS ${DS_ONNX_PROTO_DIR}/OnnxOpVersions.inc
                                           ${DS_ONNX_PROTO_DIR}/OnnxOpAttributes.inc)
