# Run at build time (cmake -P) so `regcache version` names the commit that was built, not the one
# that was configured. Inputs: SOURCE_DIR, TEMPLATE, OUTPUT, FALLBACK (the project version, used
# outside a git checkout, e.g. when building from a source tarball).
execute_process(
  COMMAND git -C "${SOURCE_DIR}" describe --tags --always --dirty
  OUTPUT_VARIABLE REGCACHE_GIT_DESCRIBE
  OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET
  RESULT_VARIABLE git_result)
if(NOT git_result EQUAL 0 OR REGCACHE_GIT_DESCRIBE STREQUAL "")
  set(REGCACHE_GIT_DESCRIBE "${FALLBACK} (not a git checkout)")
endif()
# configure_file rewrites OUTPUT only when its text changes, so an unchanged commit rebuilds nothing.
configure_file("${TEMPLATE}" "${OUTPUT}" @ONLY)
