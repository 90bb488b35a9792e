# cai-edge: the parsers of client bytes (request bodies, query strings, HTTP framing).
cai_add_fuzzer(chat_request_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/chat_request_fuzz.cc LIBS cai_openai)
# The HTTP layer through a loopback socket. Seeds in corpus/http_request_fuzz/ are hand-written
# requests: plain, with a body, chunked, pipelined, 100-continue, over the header limit.
if(NOT TARGET cai_edge_http)
  include(${PROJECT_SOURCE_DIR}/services/edge/http_layer.cmake)
endif()
cai_add_fuzzer(http_request_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/http_request_fuzz.cc LIBS cai_edge_http)
# End-to-end encryption: the E2EE headers and a sealed field. Seeds: valid v1/v2 headers and a
# message sealed to the fuzzer's fixed key.
if(NOT TARGET cai_edge_e2ee)
  include(${PROJECT_SOURCE_DIR}/services/edge/e2ee.cmake)
endif()
cai_add_fuzzer(e2ee_fuzz SOURCE ${CMAKE_CURRENT_LIST_DIR}/e2ee_fuzz.cc LIBS cai_edge_e2ee)
