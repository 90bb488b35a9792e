# tokenizer.json parser and Encode/Decode/StreamDecoder on a fixed tokenizer.
cai_add_fuzzer(tokenizer_json_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/tokenizer_json_fuzz.cc
  LIBS cai_tokenizer)
