# Parsers of hardware evidence (TDX quotes, NVIDIA SPDM reports) that come from outside.
# Committed seeds are simulated evidence written by tests/unit/attestation/write_fuzz_seeds.cc; the
# real samples join the working corpus at run time when ../shared is present.
cai_add_fuzzer(tdx_quote_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/tdx_quote_fuzz.cc LIBS cai_attestation
  SAMPLES tdx_quote tdx_quote_outdated dstack_ratls_tdx_quote)
cai_add_fuzzer(spdm_report_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/spdm_report_fuzz.cc LIBS cai_attestation)
# The dstack guest agent's answers as the attestor reads them. Seeds in corpus/dstack_answer_fuzz/
# wrap the simulated quotes of tdx_quote_fuzz in /GetQuote answers with their own report_data.
if(NOT TARGET cai_attestor_answers)
  include(${PROJECT_SOURCE_DIR}/services/attestor/answers.cmake)
endif()
cai_add_fuzzer(dstack_answer_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/dstack_answer_fuzz.cc LIBS cai_attestor_answers)
