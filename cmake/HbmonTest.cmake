# hbmon_test(<name> SOURCES <file>... [LIBS <lib>...] [TIMEOUT <s>] [LABELS <l>...])
# Builds one Criterion test program and registers it with ctest. Criterion
# runs each Test() in its own process; ctest's timeout is the backstop for a
# test program that hangs as a whole.
function(hbmon_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CRITERION)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  # --jobs bounds Criterion's parallel workers on the 2-core CI machine.
  # (No --full-stats: it makes Criterion send every assertion over its own
  # nng channel, which panics in test workers that also use nng.)
  add_test(NAME ${name} COMMAND ${name} --jobs=2)
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    LABELS "${T_LABELS}"
    ENVIRONMENT "HBMON_BUILD_DIR=${CMAKE_BINARY_DIR};HBMON_SOURCE_DIR=${CMAKE_SOURCE_DIR};LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp")
endfunction()
