# Fuzz targets of the inference engine. Seeds in corpus/safetensors_fuzz/ were written by
# SafetensorsWriter (valid files of each dtype) plus a few malformed headers, and a shard index.
cai_add_fuzzer(safetensors_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/safetensors_fuzz.cc LIBS cai_engine_core)
# Seeds in corpus/model_config_fuzz/: the golden models' config.json, generation_config.json and
# tokenizer_config.json.
cai_add_fuzzer(model_config_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/model_config_fuzz.cc LIBS cai_engine_core)
# Seeds in corpus/json_prefix_fuzz/: objects of each kind of value, escapes, UTF-8 and near misses.
cai_add_fuzzer(json_prefix_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/json_prefix_fuzz.cc LIBS cai_engine_core)
# Seeds in corpus/json_token_mask_fuzz/: prefixes that end in each kind of state (key, value string,
# escape, \u escape, partial UTF-8 character, number, literal, nesting).
cai_add_fuzzer(json_token_mask_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/json_token_mask_fuzz.cc LIBS cai_engine)
# Seeds in corpus/json_schema_fuzz/: a schema, a NUL byte and a text, for each kind of node (nested
# and recursive objects, enums, nullable values, bounded arrays, free values) and near misses.
cai_add_fuzzer(json_schema_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/json_schema_fuzz.cc LIBS cai_engine_core)
# Seeds in corpus/tool_call_fuzz/: a parameters schema, a NUL byte and a call, for each tool and a
# few near misses (another layout, an unknown name, arguments the schema rules out).
cai_add_fuzzer(tool_call_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/tool_call_fuzz.cc LIBS cai_engine)
