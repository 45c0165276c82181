# Finds every dependency of hbmon. A missing one stops configuration with the
# Debian package that provides it, so `apt-get install` is one step away.
find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

# hbmon_require_pkg(<target> <pkg-config module> <debian package>)
# Creates the imported target PkgConfig::<target> or fails clearly.
function(hbmon_require_pkg target module debian)
  pkg_check_modules(${target} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR
      "${module} not found (pkg-config): apt-get install ${debian}")
  endif()
  message(STATUS "Found ${module} ${${target}_VERSION}")
endfunction()

# hbmon_require_program(<var> <program> <debian package>)
function(hbmon_require_program var program debian)
  find_program(${var} ${program})
  if(NOT ${var})
    message(FATAL_ERROR "${program} not found: apt-get install ${debian}")
  endif()
endfunction()

hbmon_require_pkg(PROTOBUF_C libprotobuf-c libprotobuf-c-dev)
hbmon_require_pkg(SQLITE3 sqlite3 libsqlite3-dev)
hbmon_require_pkg(INIH inih libinih-dev)
hbmon_require_pkg(CURL libcurl libcurl4-openssl-dev)
hbmon_require_pkg(JANSSON jansson libjansson-dev)
hbmon_require_pkg(SYSTEMD libsystemd libsystemd-dev)

find_package(nng 1.5 CONFIG QUIET)
if(NOT nng_FOUND)
  message(FATAL_ERROR "nng (CMake package) not found: apt-get install libnng-dev")
endif()
message(STATUS "Found nng ${nng_VERSION}")

find_package(nanopb CONFIG QUIET)
if(NOT nanopb_FOUND)
  message(FATAL_ERROR "nanopb (CMake package) not found: apt-get install libnanopb-dev")
endif()

# mbedTLS 2.28 ships neither pkg-config nor CMake files.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/md.h)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto)
if(NOT MBEDTLS_INCLUDE_DIR OR NOT MBEDCRYPTO_LIBRARY)
  message(FATAL_ERROR "mbedTLS (mbedcrypto) not found: apt-get install libmbedtls-dev")
endif()
add_library(hbmon::mbedcrypto UNKNOWN IMPORTED)
set_target_properties(hbmon::mbedcrypto PROPERTIES
  IMPORTED_LOCATION "${MBEDCRYPTO_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${MBEDTLS_INCLUDE_DIR}")
# X.509 parsing, to check TLS certificates and keys at start-up
# (src/common/tlsconf.c); the same library nng's TLS uses.
find_library(MBEDX509_LIBRARY mbedx509)
if(NOT MBEDX509_LIBRARY)
  message(FATAL_ERROR "mbedTLS (mbedx509) not found: apt-get install libmbedtls-dev")
endif()
add_library(hbmon::mbedx509 UNKNOWN IMPORTED)
set_target_properties(hbmon::mbedx509 PROPERTIES
  IMPORTED_LOCATION "${MBEDX509_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${MBEDTLS_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES hbmon::mbedcrypto)

find_package(Threads REQUIRED)

hbmon_require_program(PROTOC_EXECUTABLE protoc protobuf-compiler)
hbmon_require_program(PROTOC_C_PLUGIN protoc-gen-c protobuf-c-compiler)
hbmon_require_program(PROTOC_NANOPB_PLUGIN protoc-gen-nanopb nanopb)

if(HBMON_TESTS)
  hbmon_require_pkg(CRITERION criterion libcriterion-dev)
endif()
