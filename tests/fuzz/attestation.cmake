# Parsers of hardware evidence (TDX quotes, NVIDIA SPDM reports) that come from outside.
# Seeds are simulated evidence written by tests/unit/attestation/write_fuzz_seeds.cc, never the
# real samples.
cai_add_fuzzer(tdx_quote_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/tdx_quote_fuzz.cc LIBS cai_attestation)
cai_add_fuzzer(spdm_report_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/spdm_report_fuzz.cc LIBS cai_attestation)
