# tokenizer.json parser and Encode/Decode/StreamDecoder on fixed byte-level and SentencePiece tokenizers.
cai_add_fuzzer(tokenizer_json_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/tokenizer_json_fuzz.cc
  LIBS cai_tokenizer nlohmann_json::nlohmann_json)
