# Fuzz targets of the inference engine. Seeds in corpus/safetensors_fuzz/ were written by
# SafetensorsWriter (valid files of each dtype) plus a few malformed headers.
cai_add_fuzzer(safetensors_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/safetensors_fuzz.cc LIBS cai_engine_core)
