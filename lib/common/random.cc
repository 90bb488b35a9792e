#include "lib/common/random.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "lib/common/hex.h"

namespace cai {

absl::Status FillRandom(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(std::string("getrandom failed: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

namespace {

void FillRandomOrAbort(std::span<uint8_t> out) {
  if (absl::Status s = FillRandom(out); !s.ok()) {
    std::fprintf(stderr, "fatal: %s\n", s.ToString().c_str());
    std::abort();
  }
}

}  // namespace

std::string RandomHex(size_t n) {
  std::vector<uint8_t> bytes(n);
  FillRandomOrAbort(bytes);
  return HexEncode(bytes);
}

std::string RandomAlnum(size_t n) {
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    std::array<uint8_t, 32> bytes{};
    FillRandomOrAbort(bytes);
    for (uint8_t byte : bytes) {
      // 248 = 4 * 62: the bytes from it on are dropped, so every character is equally likely.
      if (byte < 248 && out.size() < n) out += kAlphabet[byte % kAlphabet.size()];
    }
  }
  return out;
}

}  // namespace cai
