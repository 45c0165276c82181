# Warnings, sanitizers and coverage for every hbmon target.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral)
# snprintf into fixed buffers truncates on purpose (messages, names that
# were length-checked earlier); gcc cannot see the checks and would make
# every such call an error.
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-Wno-format-truncation)
endif()
if(HBMON_WERROR)
  add_compile_options(-Werror)
endif()
add_compile_definitions(_GNU_SOURCE)

if(HBMON_SANITIZE)
  if(HBMON_SANITIZE STREQUAL "thread" OR HBMON_SANITIZE STREQUAL "address,undefined"
     OR HBMON_SANITIZE STREQUAL "address" OR HBMON_SANITIZE STREQUAL "undefined")
    add_compile_options(-fsanitize=${HBMON_SANITIZE} -fno-omit-frame-pointer
                        -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=${HBMON_SANITIZE})
    # The sanitizer build is the one that checks: its assert()s run too
    # (RelWithDebInfo defines NDEBUG; this comes after it on the line).
    add_compile_options(-UNDEBUG)
  else()
    message(FATAL_ERROR "HBMON_SANITIZE must be empty, address,undefined, or thread")
  endif()
endif()

if(HBMON_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "HBMON_FUZZ needs clang: CC=clang cmake -DHBMON_FUZZ=ON "
                        "(apt-get install clang libclang-rt-14-dev)")
  endif()
  # Everything is instrumented for coverage; only the targets link the
  # fuzzer's main().
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(HBMON_COVERAGE)
  add_compile_options(--coverage -O0)
  add_link_options(--coverage)
endif()

# hbmon_generated_flags(<target>): generated code is not ours to fix; keep
# warnings on but do not fail the build on them.
function(hbmon_relax_generated target)
  target_compile_options(${target} PRIVATE -Wno-error -Wno-missing-prototypes
                         -Wno-shadow -Wno-unused-parameter)
endfunction()
