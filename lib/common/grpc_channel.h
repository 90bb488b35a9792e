#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

namespace cai {

// A channel to one of our own backends at `address`, any gRPC target: "unix:/path/to/sock",
// "host:port" or "dns:///name:port" (every address the name resolves to), or "ipv4:a:port,b:port".
// Calls are spread round robin over every address the target names, so several inference
// replicas serving the same model share the load (one address: it alone, as with any channel).
// A backend that starts after the caller, or restarts, is found within a second rather than after
// gRPC's default backoff of up to two minutes. Answers up to 64 MiB (attestation evidence with
// several GPUs' certificate chains).
std::shared_ptr<grpc::Channel> ConnectBackend(const std::string& address);

}  // namespace cai
