# tokenizer.json parser and Encode/Decode/StreamDecoder on fixed byte-level and SentencePiece tokenizers.
cai_add_fuzzer(tokenizer_json_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/tokenizer_json_fuzz.cc
  LIBS cai_tokenizer nlohmann_json::nlohmann_json)
# The writer of Python's json.dumps for chat templates. Seeds in corpus/python_json_fuzz/: objects
# with floats of each form, escapes, non-ASCII, nesting, a repeated key, and texts it refuses.
cai_add_fuzzer(python_json_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/python_json_fuzz.cc
  LIBS cai_tokenizer nlohmann_json::nlohmann_json)
