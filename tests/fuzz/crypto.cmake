cai_add_fuzzer(eth_recover_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/eth_recover_fuzz.cc LIBS cai_crypto)
