// PCK certificate SGX extension parser: the input is the extension's DER value, or a whole DER
// certificate whose extension is found and parsed.
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/attestation/pck_extension.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)cai::ParsePckExtensionDer(std::span<const uint8_t>(data, size));
  const unsigned char* p = data;
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(size));
  if (cert != nullptr) {
    (void)cai::ParsePckExtension(cert);
    X509_free(cert);
  }
  return 0;
}
