# cai_edge_http: the edge's HTTP/1.1 layer (framing, limits, refusals, TLS). No gRPC: included by
# CMakeLists.txt here and by tests/fuzz/edge.cmake (the fuzz build does not add services/edge).
if(NOT TARGET Boost::headers)
  find_package(Boost 1.74 REQUIRED)
endif()
set(cai_edge_http_sources lingering_closer.cc tls_context.cc http_server.cc)
list(TRANSFORM cai_edge_http_sources PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
add_library(cai_edge_http STATIC ${cai_edge_http_sources})
target_link_libraries(cai_edge_http PUBLIC cai_openai cai_crypto cai_common Boost::headers OpenSSL::SSL Threads::Threads)
