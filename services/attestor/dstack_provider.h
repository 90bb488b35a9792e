#pragma once

// TDX quotes from the dstack guest agent (inside a Phala/dstack CVM): HTTP over a unix socket,
// POST /GetQuote {"report_data": "<128 hex>"} and GET /Info. Layout:
// shared/reference/attestation-formats.md A4.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/attestor/providers.h"
#include "services/attestor/unix_http_client.h"

namespace cai {

// Where the agent's socket is, in the order the dstack SDK tries them.
inline const std::vector<std::string>& DefaultDstackSockets() {
  static const std::vector<std::string> kPaths = {"/var/run/dstack.sock", "/run/dstack.sock",
                                                  "/var/run/dstack/dstack.sock", "/run/dstack/dstack.sock"};
  return kPaths;
}

// The first of `candidates` that exists, or "" if none does.
std::string FindDstackSocket(const std::vector<std::string>& candidates);

// Asks the agent for /Info once (its app id, compose hash, ... go into info_json()); fails if the
// agent does not answer, so a broken agent stops the attestor at start, not at the first request.
absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> MakeDstackProvider(const std::string& socket_path,
                                                                     const UnixHttpLimits& limits = {});

}  // namespace cai
