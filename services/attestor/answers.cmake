# cai_attestor_answers: what the attestor checks in the answers of the TDX and GPU interfaces it
# calls (the dstack agent's JSON, a quote's binding to its report_data). No gRPC: included by
# CMakeLists.txt here and by tests/fuzz/attestation.cmake (the fuzz build does not add services/).
set(cai_attestor_answers_sources dstack_answers.cc quote_binding.cc)
list(TRANSFORM cai_attestor_answers_sources PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
add_library(cai_attestor_answers STATIC ${cai_attestor_answers_sources})
target_link_libraries(cai_attestor_answers PUBLIC cai_attestation cai_common nlohmann_json::nlohmann_json
  absl::statusor absl::strings)
