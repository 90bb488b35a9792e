#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cai/v1/attestor.pb.h"
#include "cai/v1/signer.pb.h"

namespace cai::edge {

enum class SigningAlgo { kEcdsa, kEd25519 };

// "ecdsa" | "ed25519"; "" means ecdsa. InvalidArgument otherwise.
absl::StatusOr<SigningAlgo> ParseSigningAlgo(std::string_view text);
std::string_view SigningAlgoName(SigningAlgo algo);

// The key the report binds: the 20-byte Ethereum address (ecdsa) or the 32-byte public key.
absl::StatusOr<std::vector<uint8_t>> KeyId(const v1::PublicKeys& keys, SigningAlgo algo);

// report_data = key_id right-padded with zeros to 32 bytes || 32-byte nonce.
absl::StatusOr<std::array<uint8_t, 64>> BuildReportData(std::span<const uint8_t> key_id,
                                                        std::span<const uint8_t> nonce);

// The attestation report JSON (Phala/Redpill field set, see DESIGN.md → Attestation).
struct ReportInputs {
  SigningAlgo algo = SigningAlgo::kEcdsa;
  const v1::PublicKeys* keys = nullptr;
  std::span<const uint8_t> nonce;
  const v1::Evidence* evidence = nullptr;
  std::string model;         // "" when the client named none
  std::string edge_version;
};
std::string RenderAttestationReport(const ReportInputs& inputs);

std::string Base64(std::string_view bytes);

}  // namespace cai::edge
