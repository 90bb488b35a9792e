# cai-edge: the parsers of client bytes (request bodies, query strings).
cai_add_fuzzer(chat_request_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/chat_request_fuzz.cc LIBS cai_openai)
