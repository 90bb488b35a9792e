#include "lib/crypto/openssl_error.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace cai {

std::string OpenSslErrorText() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char text[256] = "no detail";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  return text;
}

absl::Status OpenSslError(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", OpenSslErrorText()));
}

}  // namespace cai
