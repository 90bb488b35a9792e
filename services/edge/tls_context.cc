#include "services/edge/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "lib/crypto/openssl_error.h"

namespace cai::edge {

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::Load(const std::string& cert_chain_file,
                                                             const std::string& private_key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return OpenSslError("TLS");
  std::shared_ptr<TlsContext> context(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Beast's write_some may be handed a partial write; the buffer may move between retries.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  // A client that closes without a close_notify has ended the connection, not broken the protocol
  // (HTTP has its own framing): an end of stream, as with plain TCP.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS: cannot use the certificate chain in ", cert_chain_file, ": ", OpenSslErrorText()));
  }
  const bool key_loaded = SSL_CTX_use_PrivateKey_file(ctx, private_key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
  if (!key_loaded && !mismatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS: cannot use the private key in ", private_key_file, ": ", OpenSslErrorText()));
  }
  if (!key_loaded || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("TLS: the private key in ", private_key_file,
                                                   " does not match the certificate in ", cert_chain_file));
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace cai::edge
