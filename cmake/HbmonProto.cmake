# Code generation from proto/: protobuf-c for the server side, nanopb for the
# robot client library. Generated files live in the build tree only.

set(HBMON_PROTO_DIR ${CMAKE_SOURCE_DIR}/proto)
set(HBMON_GEN_DIR ${CMAKE_BINARY_DIR}/gen)

# hbmon_protobuf_c(<out-sources-var> <out-headers-var> <name>...)
# <name> is a path under proto/ without ".proto", e.g. hbmon/v1/rpc.
function(hbmon_protobuf_c srcs_var hdrs_var)
  set(srcs)
  set(hdrs)
  foreach(name IN LISTS ARGN)
    set(src ${HBMON_GEN_DIR}/c/${name}.pb-c.c)
    set(hdr ${HBMON_GEN_DIR}/c/${name}.pb-c.h)
    add_custom_command(
      OUTPUT ${src} ${hdr}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${HBMON_GEN_DIR}/c
      COMMAND ${PROTOC_EXECUTABLE} --plugin=protoc-gen-c=${PROTOC_C_PLUGIN}
              -I${HBMON_PROTO_DIR} --c_out=${HBMON_GEN_DIR}/c
              ${HBMON_PROTO_DIR}/${name}.proto
      DEPENDS ${HBMON_PROTO_DIR}/${name}.proto
      COMMENT "protobuf-c: ${name}.proto"
      VERBATIM)
    list(APPEND srcs ${src})
    list(APPEND hdrs ${hdr})
  endforeach()
  set(${srcs_var} ${srcs} PARENT_SCOPE)
  set(${hdrs_var} ${hdrs} PARENT_SCOPE)
endfunction()

# hbmon_nanopb(<out-sources-var> <out-headers-var> <name>...)
# Sizes come from the .options file beside each .proto.
function(hbmon_nanopb srcs_var hdrs_var)
  set(srcs)
  set(hdrs)
  foreach(name IN LISTS ARGN)
    set(src ${HBMON_GEN_DIR}/nanopb/${name}.pb.c)
    set(hdr ${HBMON_GEN_DIR}/nanopb/${name}.pb.h)
    set(deps ${HBMON_PROTO_DIR}/${name}.proto)
    if(EXISTS ${HBMON_PROTO_DIR}/${name}.options)
      list(APPEND deps ${HBMON_PROTO_DIR}/${name}.options)
    endif()
    add_custom_command(
      OUTPUT ${src} ${hdr}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${HBMON_GEN_DIR}/nanopb
      # protoc-gen-nanopb runs through its own shebang (/usr/bin/python3,
      # which has the protobuf module), whatever python3 is first on PATH.
      COMMAND ${PROTOC_EXECUTABLE} --plugin=protoc-gen-nanopb=${PROTOC_NANOPB_PLUGIN}
              -I${HBMON_PROTO_DIR} --nanopb_opt=-I${HBMON_PROTO_DIR}
              --nanopb_out=${HBMON_GEN_DIR}/nanopb
              ${HBMON_PROTO_DIR}/${name}.proto
      DEPENDS ${deps}
      COMMENT "nanopb: ${name}.proto"
      VERBATIM)
    list(APPEND srcs ${src})
    list(APPEND hdrs ${hdr})
  endforeach()
  set(${srcs_var} ${srcs} PARENT_SCOPE)
  set(${hdrs_var} ${hdrs} PARENT_SCOPE)
endfunction()
