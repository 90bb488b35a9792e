# Parsers of collateral and evidence side data used by the offline verifier, and the verifier itself.
# Committed seeds are simulated (tests/unit/attestation/write_fuzz_seeds.cc) or hand-written, never
# the real samples, which join the working corpus at run time when ../shared is present.
cai_add_fuzzer(collateral_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/collateral_fuzz.cc LIBS cai_attestation
  SAMPLES tdx_quote_collateral.json tdx_quote_outdated_collateral.json)
cai_add_fuzzer(pck_extension_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/pck_extension_fuzz.cc LIBS cai_attestation)
cai_add_fuzzer(event_log_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/event_log_fuzz.cc LIBS cai_attestation
  SAMPLES dstack_quote-report.json)
cai_add_fuzzer(gpu_evidence_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/gpu_evidence_fuzz.cc LIBS cai_attestation
  SAMPLES nvidia/hopper_evidence.json)
# The whole offline TDX path (parse quote, parse collateral, VerifyTdxQuote) on a quote followed by
# its collateral JSON. Committed seeds are simulated pairs; the raw real quotes join as SAMPLES
# (a quote with nothing after it is verified without collateral).
cai_add_fuzzer(tdx_verify_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/tdx_verify_fuzz.cc LIBS cai_attestation
  SAMPLES tdx_quote tdx_quote_outdated dstack_ratls_tdx_quote)
if(CAI_FUZZ)
  # SAMPLES copies files one by one, but a real quote reaches the collateral policy only together
  # with its collateral in one input: this run builds those inputs with `cat` in the build tree
  # (the samples never enter the repository) and fuzzes from them. Skipped without the samples.
  add_test(NAME fuzz.tdx_verify_fuzz.real_pairs
    COMMAND sh -c "samples=\${CAI_ATTESTATION_TESTDATA:-${PROJECT_SOURCE_DIR}/../shared/testdata/attestation}; [ -f \"$samples/tdx_quote_collateral.json\" ] || exit 77; rm -rf work_tdx_verify_fuzz_pairs && mkdir -p work_tdx_verify_fuzz_pairs && cat \"$samples/tdx_quote\" \"$samples/tdx_quote_collateral.json\" > work_tdx_verify_fuzz_pairs/tdx_quote_pair && cat \"$samples/tdx_quote_outdated\" \"$samples/tdx_quote_outdated_collateral.json\" > work_tdx_verify_fuzz_pairs/tdx_quote_outdated_pair && ./tdx_verify_fuzz -max_total_time=${CAI_FUZZ_SECONDS} -rss_limit_mb=2048 -print_final_stats=1 work_tdx_verify_fuzz_pairs"
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(fuzz.tdx_verify_fuzz.real_pairs PROPERTIES LABELS fuzz TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
