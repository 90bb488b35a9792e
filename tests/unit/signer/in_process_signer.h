#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "services/signer/signer_service.h"

namespace cai::testing {

// The real signer service with fresh keys, behind a real gRPC server reached through an in-process
// channel: what the signer's own tests and the edge's E2EE tests talk to.
class InProcessSigner {
 public:
  InProcessSigner() {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service);
    server_ = builder.BuildAndStart();
    stub = v1::Signer::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~InProcessSigner() { server_->Shutdown(); }

  EthereumSigner ecdsa = EthereumSigner::Generate().value();
  Ed25519Signer ed25519 = Ed25519Signer::Generate().value();
  SignatureStore store{absl::Minutes(30), 100};
  ReplayGuard replay_guard{300, 100};
  SignerService service{ecdsa, ed25519, store, replay_guard};
  std::unique_ptr<v1::Signer::Stub> stub;

 private:
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace cai::testing
