# cai_edge_e2ee: the end-to-end encryption protocol's header parsing and associated data. No gRPC:
# included by CMakeLists.txt here and by tests/fuzz/edge.cmake.
if(NOT TARGET cai_edge_http)
  include(${CMAKE_CURRENT_LIST_DIR}/http_layer.cmake)
endif()
add_library(cai_edge_e2ee STATIC ${CMAKE_CURRENT_LIST_DIR}/e2ee_headers.cc)
target_link_libraries(cai_edge_e2ee PUBLIC cai_edge_http cai_crypto)
