#pragma once

// Policy over NVIDIA GPU evidence (reference C2-C5): per GPU, the certificate chain to the pinned
// NVIDIA Device Identity CA, the SPDM report signature by the leaf, the FWID binding between leaf
// certificate and report, and the nonce; over the list, one nonce for all GPUs, no GPU twice and
// the expected number of GPUs. OCSP and RIM comparison need NVIDIA's online services and are
// reported as not performed.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/attestation/trust_anchors.h"
#include "lib/attestation/verification.h"

namespace cai {

inline constexpr size_t kGpuEvidenceMaxSize = 1 << 20;
inline constexpr size_t kMaxGpus = 16;
inline constexpr size_t kNvidiaChainLength = 5;  // nvtrust MAX_CERT_CHAIN_LENGTH

struct GpuEvidenceItem {
  std::string arch;                   // "HOPPER"
  std::string certificate_chain_pem;  // leaf first, root last
  std::vector<uint8_t> report;        // SPDM request || response
};

struct GpuEvidenceList {
  std::string nonce_hex;  // the nonce the document says it answers ("" when absent)
  std::vector<GpuEvidenceItem> items;
};

// Accepts the Phala/NEAR nvidia_payload object {"nonce", "evidence_list": [{"certificate",
// "evidence", "arch"}], "arch"} (also when given as a JSON string holding it) and NVIDIA's
// serialized evidence [{"arch", "nonce", "evidence", "certificate"}]. certificate and evidence are
// base64. At most kGpuEvidenceMaxSize bytes and kMaxGpus items.
absl::StatusOr<GpuEvidenceList> ParseGpuEvidenceJson(std::string_view json);

struct GpuVerifyOptions {
  int64_t now = 0;
  std::vector<CertificatePin> root_pins = {kNvidiaDeviceIdentityCaPin};
  // The nonce the verifier sent. Without it the nonce checks are not performed (and say so).
  std::optional<std::array<uint8_t, 32>> expected_nonce;
  // How many GPUs the machine has; a shorter list means a GPU's evidence is missing.
  std::optional<size_t> expected_gpu_count;
};

struct GpuFacts {
  std::string driver_version;
  std::string vbios_version;
  std::string leaf_sha256;  // hex, identifies the device
};

struct GpuVerification {
  Verification checks;
  std::vector<GpuFacts> gpus;
  bool ok() const { return checks.ok(); }
};

// Check names (per GPU they are prefixed with "GPU <i>: ").
inline constexpr char kCheckGpuReport[] = "SPDM report parses";
inline constexpr char kCheckGpuChain[] = "certificate chain";
inline constexpr char kCheckGpuSignature[] = "report signature";
inline constexpr char kCheckGpuFwid[] = "FWID";
inline constexpr char kCheckGpuNonce[] = "nonce";
inline constexpr char kCheckGpuOcsp[] = "OCSP revocation";
inline constexpr char kCheckGpuRim[] = "RIM measurements";
inline constexpr char kCheckGpuCount[] = "GPU count";
inline constexpr char kCheckGpuDistinct[] = "GPUs are distinct";
inline constexpr char kCheckGpuSameNonce[] = "one nonce for every GPU";

GpuVerification VerifyGpuEvidence(const std::vector<GpuEvidenceItem>& items, const GpuVerifyOptions& options);

// Standard base64 with padding; whitespace is ignored. Exposed for the CLI and tests.
absl::StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace cai
