#include "services/signer/signer_service.h"

#include <ctime>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/common/grpc_status.h"
#include "lib/common/hex.h"
#include "lib/crypto/ecies_secp256k1.h"
#include "lib/crypto/ecies_x25519.h"

namespace cai {

grpc::Status SignerService::GetPublicKeys(grpc::ServerContext*, const v1::GetPublicKeysRequest*,
                                          v1::PublicKeys* response) {
  const auto& ecdsa_key = ecdsa_.public_key();
  const auto& ed25519_key = ed25519_.public_key();
  response->set_ecdsa_address(ecdsa_.address());
  response->set_ecdsa_public_key(ecdsa_key.data(), ecdsa_key.size());
  response->set_ed25519_public_key(ed25519_key.data(), ed25519_key.size());
  return grpc::Status::OK;
}

grpc::Status SignerService::SignChat(grpc::ServerContext*, const v1::SignChatRequest* request,
                                     v1::SignChatResponse* response) {
  absl::StatusOr<std::string> text = SignAndStore(*request);
  if (!text.ok()) return ToGrpcStatus(text.status());
  response->set_text(*std::move(text));
  return grpc::Status::OK;
}

grpc::Status SignerService::GetSignature(grpc::ServerContext*, const v1::GetSignatureRequest* request,
                                         v1::ChatSignature* response) {
  return ToGrpcStatus(Lookup(*request, response));
}

grpc::Status SignerService::OutsideWindow(int64_t now) const {
  return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                      absl::StrCat("the timestamp is more than ", replay_guard_.window_seconds(),
                                   " s from the signer's clock (", now, ")"));
}

grpc::Status SignerService::OpenSealed(grpc::ServerContext*, const v1::OpenSealedRequest* request,
                                       v1::OpenSealedResponse* response) {
  if (request->algo() != v1::SIGNING_ALGO_ECDSA && request->algo() != v1::SIGNING_ALGO_ED25519) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "algo must be SIGNING_ALGO_ECDSA or SIGNING_ALGO_ED25519");
  }
  if (request->fields_size() > kMaxSealedFields) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("at most ", kMaxSealedFields, " sealed fields per call"));
  }
  const bool claims = request->has_replay_claim();
  const v1::ReplayClaim& claim = request->replay_claim();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (claims) {
    if (claim.nonce().empty() || claim.nonce().size() > kMaxNonceBytes) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("a replay claim's nonce must be 1..", kMaxNonceBytes, " bytes"));
    }
    // Before the work of opening: a stale request is refused cheaply.
    if (!replay_guard_.InWindow(claim.timestamp(), now)) return OutsideWindow(now);
  }
  for (int i = 0; i < request->fields_size(); ++i) {
    const v1::SealedField& field = request->fields(i);
    const std::string& sealed = field.sealed();
    const std::span bytes(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size());
    absl::StatusOr<std::string> plaintext = request->algo() == v1::SIGNING_ALGO_ECDSA
                                                ? EciesOpen(ecdsa_, bytes, field.aad())
                                                : X25519Open(ed25519_, bytes, field.aad());
    if (!plaintext.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat("sealed field ", i, " did not open"));
    }
    response->add_plaintexts(*std::move(plaintext));
  }
  // Claimed only once everything opened: a request that does not open cannot use up a claim.
  if (claims) {
    switch (replay_guard_.Admit(claim.nonce(), claim.timestamp(), now)) {
      case ReplayGuard::Claim::kFresh:
        break;
      case ReplayGuard::Claim::kOutsideWindow:  // with the same clock, checked above already
        return OutsideWindow(now);
      case ReplayGuard::Claim::kReplayed:
        return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "this nonce and timestamp were opened before");
      case ReplayGuard::Claim::kFull:
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "too many live replay claims; retry when older ones expire");
    }
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::string> SignerService::SignAndStore(const v1::SignChatRequest& request) {
  if (request.request_sha256().size() != 32 || request.response_sha256().size() != 32) {
    return absl::InvalidArgumentError("request_sha256 and response_sha256 must be 32 bytes each");
  }
  ChatSignatures entry;
  entry.id = request.id();
  entry.model = request.model();
  entry.text = HexEncode(request.request_sha256()) + ":" + HexEncode(request.response_sha256());
  // The store's limits before the two signatures, not after.
  if (absl::Status valid = SignatureStore::Validate(entry); !valid.ok()) return valid;
  entry.ecdsa = ecdsa_.SignPersonalMessage(entry.text);
  entry.ed25519 = ed25519_.Sign(entry.text);
  std::string text = entry.text;
  if (absl::Status status = store_.Insert(std::move(entry)); !status.ok()) return status;
  return text;
}

absl::Status SignerService::Lookup(const v1::GetSignatureRequest& request, v1::ChatSignature* response) const {
  if (request.algo() != v1::SIGNING_ALGO_ECDSA && request.algo() != v1::SIGNING_ALGO_ED25519) {
    return absl::InvalidArgumentError("algo must be SIGNING_ALGO_ECDSA or SIGNING_ALGO_ED25519");
  }
  if (absl::Status id = SignatureStore::ValidateId(request.id()); !id.ok()) return id;
  absl::StatusOr<ChatSignatures> entry = store_.Get(request.id());
  if (!entry.ok()) return entry.status();

  response->set_id(entry->id);
  response->set_model(entry->model);
  response->set_text(entry->text);
  response->set_algo(request.algo());
  if (request.algo() == v1::SIGNING_ALGO_ECDSA) {
    response->set_signature(entry->ecdsa.data(), entry->ecdsa.size());
    response->set_signing_address(ecdsa_.address());
  } else {
    response->set_signature(entry->ed25519.data(), entry->ed25519.size());
    response->set_signing_address(HexEncode(ed25519_.public_key()));
  }
  return absl::OkStatus();
}

}  // namespace cai
