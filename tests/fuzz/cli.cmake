# `cai verify`: quote and GPU evidence files and the answers of the service under verification,
# through the CLI's own checks. The fuzz build does not add tools/, so the check library is
# defined here then. Seeds in corpus/cai_verify_fuzz/ are simulated or hand-written.
if(NOT TARGET cai_verify_checks)
  include(${PROJECT_SOURCE_DIR}/tools/cai/verify_checks.cmake)
endif()
cai_add_fuzzer(cai_verify_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/cai_verify_fuzz.cc LIBS cai_verify_checks
  SAMPLES tdx_quote tdx-quote.hex dstack_quote-report.json nvidia/hopper_evidence.json)
