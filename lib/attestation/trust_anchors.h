#pragma once

// Trust anchors, pinned by the SHA-256 of their DER encoding instead of copied into the repo.
//
// Evidence and collateral carry their whole chain, root included. A verifier takes that root from
// the chain, hashes its DER and accepts it only if the hash is one of the pins it was given; the
// chain is then verified by OpenSSL with that certificate as the only trusted one. A chain whose
// last certificate hashes to anything else fails, whatever it claims to be. So the pin has exactly
// the strength of a bundled root certificate (SHA-256 is collision resistant), without a
// certificate file in the tree to audit or to swap.
//
// Production pins: Intel SGX Root CA (reference B6) and NVIDIA Device Identity CA (C3). Simulated
// evidence chains to roots made at attestor start; a caller that explicitly allows simulation
// passes their hashes as pins (see PinOfPem).
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/attestation/ec_crypto.h"

namespace cai {

using CertificatePin = std::array<uint8_t, 32>;  // SHA-256 of a certificate's DER

// SHA-256 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3: Intel SGX Root CA,
// https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.cer
inline constexpr CertificatePin kIntelSgxRootCaPin = {
    0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
    0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3};

// SHA-256 102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48: NVIDIA Device Identity
// CA (nvtrust verifier_device_root.pem, attestation-sdk DEVICE_ROOT_CERT).
inline constexpr CertificatePin kNvidiaDeviceIdentityCaPin = {
    0x10, 0x2b, 0xf6, 0x59, 0xd5, 0x41, 0x96, 0x14, 0xc9, 0xd8, 0xe6, 0xae, 0xce, 0xbc, 0x80, 0x45,
    0x4e, 0xb2, 0x6b, 0x1d, 0xf6, 0xa7, 0x69, 0xac, 0x72, 0x0b, 0x9a, 0x69, 0x0b, 0x16, 0x7b, 0x48};

CertificatePin CertificateSha256(X509* cert);
std::string PinHex(const CertificatePin& pin);

// The pin of the single certificate in `pem` (for simulated roots published by the attestor).
absl::StatusOr<CertificatePin> PinOfPem(std::string_view pem);

struct ChainCheckOptions {
  int64_t now = 0;                       // unix seconds; validity of certificates and CRLs
  std::vector<CertificatePin> root_pins; // the root must hash to one of these
  std::vector<X509_CRL*> crls;           // when non-empty, every certificate must be covered by one
  size_t max_length = 0;                 // 0 = no limit; otherwise the exact number of certificates
};

// Verifies `chain` (leaf first, root last). The last certificate must be self-signed and hash to a
// pin; OpenSSL then verifies the path leaf → root at `now` with only that root trusted and, when
// CRLs are given, checks revocation of every certificate (X509_V_FLAG_CRL_CHECK_ALL). Errors say
// which rule failed ("root certificate is not pinned: sha256 ...", "certificate revoked", ...).
absl::Status VerifyChainToPinnedRoot(const std::vector<X509Ptr>& chain, const ChainCheckOptions& options);

struct X509CrlFree {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
using X509CrlPtr = std::unique_ptr<X509_CRL, X509CrlFree>;

// A DER CRL (at most 1 MiB).
absl::StatusOr<X509CrlPtr> ParseCrlDer(std::span<const uint8_t> der);

}  // namespace cai
