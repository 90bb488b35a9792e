#include "lib/attestation/ec_crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "absl/strings/str_cat.h"
#include "lib/crypto/openssl_error.h"
#include "lib/common/random.h"

namespace cai {
namespace {

const char* GroupName(EcCurve curve) { return curve == EcCurve::kP256 ? "prime256v1" : "secp384r1"; }

absl::StatusOr<EcCurve> CurveOf(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return absl::InvalidArgumentError("not an EC key");
  switch (EVP_PKEY_get_bits(key)) {
    case 256:
      return EcCurve::kP256;
    case 384:
      return EcCurve::kP384;
    default:
      return absl::InvalidArgumentError("EC key is neither P-256 nor P-384");
  }
}

}  // namespace

size_t CoordinateSize(EcCurve curve) { return curve == EcCurve::kP256 ? 32 : 48; }

absl::StatusOr<EvpPkeyPtr> GenerateEcKey(EcCurve curve) {
  EvpPkeyPtr key(EVP_EC_gen(curve == EcCurve::kP256 ? "P-256" : "P-384"));
  if (!key) return OpenSslError("EC key generation failed");
  return key;
}

absl::StatusOr<EvpPkeyPtr> EcPublicKeyFromPoint(EcCurve curve, std::span<const uint8_t> point) {
  if (point.size() != 2 * CoordinateSize(curve)) {
    return absl::InvalidArgumentError("EC public point has the wrong size");
  }
  std::vector<uint8_t> sec1 = {0x04};
  sec1.insert(sec1.end(), point.begin(), point.end());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(GroupName(curve)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, sec1.data(), sec1.size()),
      OSSL_PARAM_construct_end()};
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("EC public key is not a point on the curve");
  }
  return EvpPkeyPtr(raw);
}

absl::StatusOr<std::vector<uint8_t>> EcPublicPoint(EVP_PKEY* key) {
  uint8_t buf[1 + 2 * 48];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len) != 1 || len < 1 ||
      buf[0] != 0x04) {
    return OpenSslError("cannot export EC public point");
  }
  return std::vector<uint8_t>(buf + 1, buf + len);
}

absl::StatusOr<std::vector<uint8_t>> SignEcdsaRaw(EVP_PKEY* key, const EVP_MD* md,
                                                  std::span<const uint8_t> message) {
  absl::StatusOr<EcCurve> curve = CurveOf(key);
  if (!curve.ok()) return curve.status();
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, message.data(), message.size()) != 1) {
    return OpenSslError("ECDSA sign init failed");
  }
  std::vector<uint8_t> der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, message.data(), message.size()) != 1) {
    return OpenSslError("ECDSA sign failed");
  }
  const uint8_t* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return OpenSslError("cannot decode own ECDSA signature");
  size_t n = CoordinateSize(*curve);
  std::vector<uint8_t> raw(2 * n);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), static_cast<int>(n)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + n, static_cast<int>(n)) < 0) {
    return OpenSslError("ECDSA signature does not fit");
  }
  return raw;
}

absl::Status VerifyEcdsaRaw(EVP_PKEY* key, const EVP_MD* md, std::span<const uint8_t> message,
                            std::span<const uint8_t> signature) {
  absl::StatusOr<EcCurve> curve = CurveOf(key);
  if (!curve.ok()) return curve.status();
  size_t n = CoordinateSize(*curve);
  if (signature.size() != 2 * n) return absl::InvalidArgumentError("ECDSA signature has the wrong size");
  // OpenSSL wants DER; the formats carry raw big-endian r||s.
  BignumPtr r(BN_bin2bn(signature.data(), static_cast<int>(n), nullptr));
  BignumPtr s(BN_bin2bn(signature.data() + n, static_cast<int>(n), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return OpenSslError("cannot build ECDSA signature");
  }
  r.release();  // owned by sig now
  s.release();
  uint8_t* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return OpenSslError("cannot encode ECDSA signature");
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  int ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1
          ? EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(der_len), message.data(), message.size())
          : -1;
  OPENSSL_free(der);
  ERR_clear_error();
  if (ok != 1) return absl::InvalidArgumentError("ECDSA signature does not verify");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(std::string_view pem, size_t max_certificates) {
  constexpr size_t kMaxPemSize = 64 * 1024;
  if (pem.size() > kMaxPemSize) return absl::InvalidArgumentError("PEM certificate chain is too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  std::vector<X509Ptr> certs;
  while (true) {
    // Stop at the end of the text; PEM_read_bio_X509 would skip junk silently, so reject it here.
    size_t consumed = pem.size() - static_cast<size_t>(BIO_pending(bio.get()));
    std::string_view rest = pem.substr(consumed);
    size_t i = 0;
    while (i < rest.size() && (std::isspace(static_cast<unsigned char>(rest[i])) || rest[i] == '\0')) ++i;
    if (i == rest.size()) break;
    if (!rest.substr(i).starts_with("-----BEGIN CERTIFICATE-----")) {
      return absl::InvalidArgumentError("unexpected text in PEM certificate chain");
    }
    if (certs.size() == max_certificates) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM certificate chain has more than ", max_certificates, " certificates"));
    }
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", certs.size(), " of the PEM chain does not parse"));
    }
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) return absl::InvalidArgumentError("PEM certificate chain is empty");
  return certs;
}

absl::StatusOr<EvpPkeyPtr> LeafPublicKey(std::string_view pem_chain) {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePemCertificates(pem_chain);
  if (!certs.ok()) return certs.status();
  EvpPkeyPtr key(X509_get_pubkey(certs->front().get()));
  if (!key) return OpenSslError("leaf certificate has no usable public key");
  return key;
}

std::string CertificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<X509Ptr> MakeCertificate(const CertificateSpec& spec) {
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  uint8_t serial_bytes[16];
  if (absl::Status s = FillRandom(serial_bytes); !s.ok()) return s;
  serial_bytes[0] &= 0x7f;  // positive
  BignumPtr serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add_entry = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  X509* issuer = spec.issuer != nullptr ? spec.issuer : cert.get();
  EVP_PKEY* issuer_key = spec.issuer != nullptr ? spec.issuer_key : spec.subject_key;
  bool ok = serial && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) != nullptr &&
            add_entry("O", "cai SIMULATED (not a hardware vendor)") && add_entry("CN", spec.common_name) &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1 &&
            X509_set_pubkey(cert.get(), spec.subject_key) == 1;
  if (!ok) return OpenSslError("cannot fill certificate");

  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, cert.get(), nullptr, nullptr, 0);
  auto add_ext = [&](int nid, const char* value) {
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
    return ext && X509_add_ext(cert.get(), ext.get(), -1) == 1;
  };
  ok = add_ext(NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
       add_ext(NID_key_usage, spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
       add_ext(NID_subject_key_identifier, "hash");
  if (ok && spec.issuer != nullptr) ok = add_ext(NID_authority_key_identifier, "keyid:always");
  if (!ok) return OpenSslError("cannot add certificate extensions");

  if (!spec.extra_extension_oid.empty()) {
    ASN1_OBJECT* oid = OBJ_txt2obj(spec.extra_extension_oid.c_str(), 1);
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    bool set = oid && value &&
               ASN1_OCTET_STRING_set(value, spec.extra_extension_der.data(),
                                     static_cast<int>(spec.extra_extension_der.size())) == 1;
    X509ExtensionPtr ext(set ? X509_EXTENSION_create_by_OBJ(nullptr, oid, 0, value)
                                                     : nullptr);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(value);
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) return OpenSslError("cannot add extension");
  }
  if (X509_sign(cert.get(), issuer_key, spec.md) <= 0) return OpenSslError("cannot sign certificate");
  return cert;
}

}  // namespace cai
