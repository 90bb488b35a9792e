#pragma once

#include <grpcpp/grpcpp.h>

#include "cai/v1/signer.grpc.pb.h"
#include "lib/common/signer_protocol.h"
#include "lib/crypto/ed25519_signer.h"
#include "lib/crypto/secp256k1_signer.h"
#include "services/signer/replay_guard.h"
#include "services/signer/signature_store.h"

namespace cai {

// The cai.v1.Signer RPCs. It signs only the text it builds itself from two SHA-256 digests, so a
// caller can make it vouch for hashes but never for arbitrary text; it opens end-to-end encrypted
// fields with its ECDSA key so that key never leaves. The keys and the store are
// owned by the caller and must outlive the service.
class SignerService final : public v1::Signer::Service {
 public:
  SignerService(const EthereumSigner& ecdsa, const Ed25519Signer& ed25519, SignatureStore& store,
                ReplayGuard& replay_guard)
      : ecdsa_(ecdsa), ed25519_(ed25519), store_(store), replay_guard_(replay_guard) {}

  grpc::Status GetPublicKeys(grpc::ServerContext* context, const v1::GetPublicKeysRequest* request,
                             v1::PublicKeys* response) override;
  grpc::Status SignChat(grpc::ServerContext* context, const v1::SignChatRequest* request,
                        v1::SignChatResponse* response) override;
  grpc::Status GetSignature(grpc::ServerContext* context, const v1::GetSignatureRequest* request,
                            v1::ChatSignature* response) override;
  grpc::Status OpenSealed(grpc::ServerContext* context, const v1::OpenSealedRequest* request,
                          v1::OpenSealedResponse* response) override;

  // Bounds the work of one call (an ECDH each); the edge refuses requests with more.
  static constexpr int kMaxSealedFields = static_cast<int>(kMaxSealedFieldsPerCall);
  static constexpr size_t kMaxNonceBytes = kMaxReplayNonceBytes;

 private:
  absl::StatusOr<std::string> SignAndStore(const v1::SignChatRequest& request);
  grpc::Status OutsideWindow(int64_t now) const;
  absl::Status Lookup(const v1::GetSignatureRequest& request, v1::ChatSignature* response) const;

  const EthereumSigner& ecdsa_;
  const Ed25519Signer& ed25519_;
  SignatureStore& store_;
  ReplayGuard& replay_guard_;
};

}  // namespace cai
