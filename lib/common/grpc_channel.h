#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

namespace cai {

// How a channel picks among the addresses its target resolves to.
enum class LoadBalancing {
  // gRPC's default: one address at a time. After a backend restarts, the next call connects on
  // demand, so it succeeds as soon as the backend is back.
  kPickFirst,
  // Every address in turn, so several replicas share the calls. A dropped connection is redialled
  // at once with backoff (200 ms to 1 s), and calls fail fast while none is connected.
  kRoundRobin,
};

// A channel to one of our own backends at `address`, any gRPC target: "unix:/path/to/sock",
// "host:port" or "dns:///name:port", or "ipv4:a:port,b:port". A backend that starts after the
// caller, or restarts, is found within a second rather than after gRPC's default backoff of up to
// two minutes. Answers up to 64 MiB (attestation evidence with several GPUs' certificate chains).
// Plaintext: the backends must be inside the same confidential VM as the caller.
std::shared_ptr<grpc::Channel> ConnectBackend(const std::string& address,
                                              LoadBalancing balancing = LoadBalancing::kPickFirst);

}  // namespace cai
