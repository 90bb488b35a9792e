#include "lib/attestation/trust_anchors.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/common/hex.h"

namespace cai {
namespace {

struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};

constexpr size_t kMaxCrlSize = 1 << 20;

// OpenSSL counts a certificate or CRL as expired when notAfter/nextUpdate equals the verification
// time; RFC 5280 (and Intel's collateral windows) include that second. Forgive exactly that case.
int InclusiveExpiry(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return ok;
  const int err = X509_STORE_CTX_get_error(ctx);
  const ASN1_TIME* limit = nullptr;
  if (err == X509_V_ERR_CERT_HAS_EXPIRED && X509_STORE_CTX_get_current_cert(ctx) != nullptr) {
    limit = X509_get0_notAfter(X509_STORE_CTX_get_current_cert(ctx));
  } else if (err == X509_V_ERR_CRL_HAS_EXPIRED && X509_STORE_CTX_get0_current_crl(ctx) != nullptr) {
    limit = X509_CRL_get0_nextUpdate(X509_STORE_CTX_get0_current_crl(ctx));
  }
  if (limit == nullptr) return ok;
  time_t now = X509_VERIFY_PARAM_get_time(X509_STORE_CTX_get0_param(ctx));
  ASN1_TIME* now_asn1 = ASN1_TIME_set(nullptr, now);
  int days = 0, seconds = 0;
  bool equal = now_asn1 != nullptr && ASN1_TIME_diff(&days, &seconds, limit, now_asn1) == 1 && days == 0 && seconds == 0;
  ASN1_TIME_free(now_asn1);
  return equal ? 1 : ok;
}

}  // namespace

CertificatePin CertificateSha256(X509* cert) {
  CertificatePin pin{};
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len > 0) {
    unsigned int out_len = 0;
    EVP_Digest(der, static_cast<size_t>(len), pin.data(), &out_len, EVP_sha256(), nullptr);
  }
  OPENSSL_free(der);
  return pin;
}

std::string PinHex(const CertificatePin& pin) { return HexEncode(pin); }

absl::StatusOr<CertificatePin> PinOfPem(std::string_view pem) {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePemCertificates(pem, 1);
  if (!certs.ok()) return certs.status();
  return CertificateSha256(certs->front().get());
}

absl::StatusOr<X509CrlPtr> ParseCrlDer(std::span<const uint8_t> der) {
  if (der.empty() || der.size() > kMaxCrlSize) return absl::InvalidArgumentError("CRL is empty or too large");
  const unsigned char* p = der.data();
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl || p != der.data() + der.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError("CRL is not a single DER X.509 CRL");
  }
  return crl;
}

absl::Status VerifyChainToPinnedRoot(const std::vector<X509Ptr>& chain, const ChainCheckOptions& options) {
  if (chain.empty()) return absl::InvalidArgumentError("certificate chain is empty");
  if (options.max_length != 0 && chain.size() != options.max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate chain has ", chain.size(), " certificates, expected ", options.max_length));
  }
  X509* root = chain.back().get();
  const CertificatePin pin = CertificateSha256(root);
  if (std::find(options.root_pins.begin(), options.root_pins.end(), pin) == options.root_pins.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("root certificate is not pinned: sha256 ", PinHex(pin)));
  }
  if (X509_check_issued(root, root) != X509_V_OK) {
    return absl::InvalidArgumentError("the last certificate of the chain is not a self-signed root");
  }

  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  bool setup = store && ctx && untrusted && X509_STORE_add_cert(store.get(), root) == 1;
  for (size_t i = 1; setup && i + 1 < chain.size(); ++i) setup = sk_X509_push(untrusted, chain[i].get()) > 0;
  for (X509_CRL* crl : options.crls) setup = setup && X509_STORE_add_crl(store.get(), crl) == 1;
  setup = setup && X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted) == 1;
  if (setup) {
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(options.now));
    unsigned long flags = X509_V_FLAG_X509_STRICT;
    if (!options.crls.empty()) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    X509_VERIFY_PARAM_set_flags(param, flags);
    X509_STORE_CTX_set_verify_cb(ctx.get(), InclusiveExpiry);
  }
  int ok = setup ? X509_verify_cert(ctx.get()) : -1;
  int err = ctx ? X509_STORE_CTX_get_error(ctx.get()) : 0;
  int depth = ctx ? X509_STORE_CTX_get_error_depth(ctx.get()) : 0;
  sk_X509_free(untrusted);  // the certificates stay owned by `chain`
  ERR_clear_error();
  if (!setup) return absl::InternalError("cannot set up certificate verification");
  if (ok != 1) {
    return absl::InvalidArgumentError(absl::StrCat("certificate chain does not verify at depth ", depth, ": ",
                                                   X509_verify_cert_error_string(err)));
  }
  // OpenSSL may build a shorter path through the trusted root; require that it used every
  // certificate we were given, so an unrelated intermediate cannot ride along.
  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
  if (built == nullptr || static_cast<size_t>(sk_X509_num(built)) != chain.size()) {
    return absl::InvalidArgumentError("certificate chain contains certificates outside the verified path");
  }
  return absl::OkStatus();
}

}  // namespace cai
