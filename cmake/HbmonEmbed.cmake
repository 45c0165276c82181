# hbmon_embed(<out.c> <table> <dir> <file>...)
# Generates <out.c> at build time: every <file> (a path relative to <dir>)
# as a NUL-terminated byte array, and `const struct embedded_file
# <table>[]` (with `<table>_count`) naming each by its relative path. The
# files stay the source; the program carries a copy, so it needs no data
# directory to run. Regenerated when any file changes.
function(hbmon_embed out table dir)
  set(inputs)
  foreach(f IN LISTS ARGN)
    list(APPEND inputs ${dir}/${f})
  endforeach()
  string(REPLACE ";" "," files "${ARGN}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DTABLE=${table} -DDIR=${dir}
            -DFILES=${files} -P ${HBMON_EMBED_SCRIPT}
    DEPENDS ${inputs} ${HBMON_EMBED_SCRIPT}
    COMMENT "embedding ${table}"
    VERBATIM)
endfunction()

set(HBMON_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/HbmonEmbedScript.cmake)
