# cai_verify_checks: what `cai verify` checks, without gRPC: the checklist, typed reads of outside
# JSON, the offline evidence checks, the service round trip and its HTTP client. Included by
# CMakeLists.txt here and by tests/fuzz/cli.cmake (the fuzz build does not add tools/).
if(NOT TARGET Boost::headers)
  find_package(Boost 1.74 REQUIRED)
endif()
set(cai_verify_checks_sources checklist.cc json_field.cc verify_report.cc evidence_check.cc service_answers.cc
  http_client.cc service_check.cc)
list(TRANSFORM cai_verify_checks_sources PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
add_library(cai_verify_checks STATIC ${cai_verify_checks_sources})
target_link_libraries(cai_verify_checks PUBLIC cai_common cai_crypto cai_attestation nlohmann_json::nlohmann_json
  Boost::headers OpenSSL::SSL Threads::Threads absl::time)
