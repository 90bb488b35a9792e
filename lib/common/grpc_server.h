#pragma once

#include <string>
#include <vector>

#include <grpcpp/impl/service_type.h>

#include "absl/status/status.h"

namespace cai {

// Serves `services` on `address` ("unix:/path/to/sock" or "host:port") together with the
// standard grpc.health.v1 health service, until SIGINT or SIGTERM; then drains in-flight calls
// for up to 5 seconds and returns. A stale unix socket file at the address is removed first.
// Logs "listening on <address>", with the port chosen for "host:0".
absl::Status ServeUntilSignal(const std::string& address,
                              const std::vector<grpc::Service*>& services,
                              const std::string& service_name);

// Blocks SIGINT and SIGTERM in the calling thread (and threads it creates later), so that
// ServeUntilSignal can wait for them with sigwait. Call at the top of main().
void BlockTerminationSignals();
// Waits (blocked as above) for SIGINT or SIGTERM and returns which arrived.
int WaitForTerminationSignal();
// Sends this process SIGTERM, so ServeUntilSignal shuts down as if an operator had asked: for a
// server that finds it can no longer do its work (a lost GPU). Safe from any thread.
void RequestShutdown();

}  // namespace cai
