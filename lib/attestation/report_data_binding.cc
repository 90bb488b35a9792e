#include "lib/attestation/report_data_binding.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace cai {

absl::Status ExpectedReportData(std::span<const uint8_t> key_id, std::span<const uint8_t, 32> nonce,
                                std::array<uint8_t, 64>* out) {
  if (key_id.empty() || key_id.size() > 32) {
    return absl::InvalidArgumentError("key id must be 1 to 32 bytes");
  }
  out->fill(0);
  std::copy(key_id.begin(), key_id.end(), out->begin());
  std::copy(nonce.begin(), nonce.end(), out->begin() + 32);
  return absl::OkStatus();
}

absl::Status CheckReportDataBinding(std::span<const uint8_t, 64> report_data, std::span<const uint8_t> key_id,
                                    std::span<const uint8_t, 32> nonce) {
  std::array<uint8_t, 64> expected;
  if (absl::Status s = ExpectedReportData(key_id, nonce, &expected); !s.ok()) return s;
  const bool key_ok = CRYPTO_memcmp(report_data.data(), expected.data(), 32) == 0;
  const bool nonce_ok = CRYPTO_memcmp(report_data.data() + 32, expected.data() + 32, 32) == 0;
  if (!key_ok) return absl::InvalidArgumentError("report_data[0:32] is not the signing key id, zero-padded");
  if (!nonce_ok) return absl::InvalidArgumentError("report_data[32:64] is not our nonce (replayed or foreign evidence)");
  return absl::OkStatus();
}

}  // namespace cai
