#pragma once

// The OpenSSL pieces the attestation code needs: ECDSA with raw r||s signatures (the form used in
// TDX quotes and SPDM reports), EC keys from raw points, PEM chains, and small X.509 certificates
// for the simulated providers.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/crypto/openssl_ptr.h"

namespace cai {

enum class EcCurve { kP256, kP384 };

// Bytes in one coordinate (and in r or s): 32 for P-256, 48 for P-384.
size_t CoordinateSize(EcCurve curve);

absl::StatusOr<EvpPkeyPtr> GenerateEcKey(EcCurve curve);

// `point` is x||y (no 0x04 prefix), 2 * CoordinateSize bytes. Fails unless it is on the curve.
absl::StatusOr<EvpPkeyPtr> EcPublicKeyFromPoint(EcCurve curve, std::span<const uint8_t> point);

// x||y of an EC key, without the 0x04 prefix.
absl::StatusOr<std::vector<uint8_t>> EcPublicPoint(EVP_PKEY* key);

// ECDSA over `message` hashed with `md`; the signature is raw big-endian r||s, each half
// CoordinateSize bytes of the key's curve.
absl::StatusOr<std::vector<uint8_t>> SignEcdsaRaw(EVP_PKEY* key, const EVP_MD* md,
                                                  std::span<const uint8_t> message);
absl::Status VerifyEcdsaRaw(EVP_PKEY* key, const EVP_MD* md, std::span<const uint8_t> message,
                            std::span<const uint8_t> signature);

// Every certificate in a PEM text, in order. Fails on an empty text, on more than
// `max_certificates`, or on anything but whitespace and NUL padding between certificates.
absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(std::string_view pem, size_t max_certificates = 8);

// The public key of the first certificate of a PEM chain (the leaf).
absl::StatusOr<EvpPkeyPtr> LeafPublicKey(std::string_view pem_chain);

std::string CertificateToPem(X509* cert);

// A certificate for the simulated providers. Self-signed when issuer is null.
struct CertificateSpec {
  std::string common_name;
  EVP_PKEY* subject_key = nullptr;
  X509* issuer = nullptr;
  EVP_PKEY* issuer_key = nullptr;
  bool is_ca = false;
  const EVP_MD* md = nullptr;
  // Optional non-critical extension (dotted OID, DER value), e.g. a DICE TcbInfo carrying an FWID.
  std::string extra_extension_oid;
  std::vector<uint8_t> extra_extension_der;
};
absl::StatusOr<X509Ptr> MakeCertificate(const CertificateSpec& spec);

}  // namespace cai
