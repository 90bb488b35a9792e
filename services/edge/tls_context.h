#pragma once

#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "absl/status/statusor.h"

namespace cai::edge {

// The edge's TLS server side: a certificate chain and its private key (PEM files), TLS 1.2 or
// newer. TLS ends inside the confidential VM, so no host-side proxy ever sees a prompt in clear.
class TlsContext {
 public:
  static absl::StatusOr<std::shared_ptr<TlsContext>> Load(const std::string& cert_chain_file,
                                                          const std::string& private_key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

}  // namespace cai::edge
