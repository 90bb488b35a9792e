#include "lib/common/hex.h"

#include "absl/strings/str_cat.h"

namespace cai {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

}  // namespace

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  return HexEncode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            bytes.size()));
}

absl::StatusOr<std::vector<uint8_t>> HexDecode(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("hex string has an odd length");
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexDigitValue(hex[2 * i]);
    int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("not a hex string");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> HexDecodeExact(std::string_view hex, size_t size) {
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", size, " bytes (", 2 * size, " hex digits), got ", bytes->size()));
  }
  return bytes;
}

}  // namespace cai
