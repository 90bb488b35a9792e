# Parsers of collateral and evidence side data used by the offline verifier. Seeds are simulated
# (tests/unit/attestation/write_fuzz_seeds.cc), never the real samples.
cai_add_fuzzer(collateral_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/collateral_fuzz.cc LIBS cai_attestation
  SAMPLES tdx_quote_collateral.json tdx_quote_outdated_collateral.json)
cai_add_fuzzer(pck_extension_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/pck_extension_fuzz.cc LIBS cai_attestation)
cai_add_fuzzer(event_log_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/event_log_fuzz.cc LIBS cai_attestation
  SAMPLES dstack_quote-report.json)
cai_add_fuzzer(gpu_evidence_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/gpu_evidence_fuzz.cc LIBS cai_attestation
  SAMPLES nvidia/hopper_evidence.json)
