#include "tests/unit/attestation/testdata.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "lib/common/hex.h"

namespace cai::testing {

std::optional<std::string> ReadAttestationSample(const std::string& relative_path) {
  const char* env = std::getenv("CAI_ATTESTATION_TESTDATA");
  std::string dir = env != nullptr ? env : std::string(CAI_SOURCE_DIR) + "/../shared/testdata/attestation";
  std::ifstream in(dir + "/" + relative_path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> DecodeHexSample(const std::string& text) {
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(std::string(absl::StripAsciiWhitespace(text)));
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

}  // namespace cai::testing
