# Shared parsers of operator input. Seeds in corpus/api_key_list_fuzz/: a key file's text, a NUL,
# then a CAI_API_KEYS value.
cai_add_fuzzer(api_key_list_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/api_key_list_fuzz.cc LIBS cai_common)
