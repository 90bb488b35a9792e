#include "lib/crypto/keccak256.h"

#include <cstring>

namespace cai {
namespace {

constexpr size_t kRate = 136;  // bytes absorbed per permutation: (1600 - 2 * 256) / 8

constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

// rho offsets and pi destinations, walked along the pi cycle starting at lane 1.
constexpr int kRho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                          27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr int kPi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                         15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

inline uint64_t Rotl(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

// Keccak-f[1600]; lane (x, y) is a[x + 5 * y].
void KeccakF1600(uint64_t a[25]) {
  for (uint64_t rc : kRoundConstants) {
    // theta
    uint64_t c[5];
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; ++x) {
      uint64_t d = c[(x + 4) % 5] ^ Rotl(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    // rho and pi
    uint64_t carry = a[1];
    for (int i = 0; i < 24; ++i) {
      uint64_t next = a[kPi[i]];
      a[kPi[i]] = Rotl(carry, kRho[i]);
      carry = next;
    }
    // chi
    for (int y = 0; y < 25; y += 5) {
      uint64_t row[5];
      std::memcpy(row, &a[y], sizeof(row));
      for (int x = 0; x < 5; ++x) a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    // iota
    a[0] ^= rc;
  }
}

// Lanes are little-endian; going through bytes keeps this correct on any host.
void XorBlock(uint64_t a[25], const uint8_t* block) {
  for (size_t i = 0; i < kRate / 8; ++i) {
    uint64_t lane = 0;
    for (int b = 7; b >= 0; --b) lane = (lane << 8) | block[8 * i + b];
    a[i] ^= lane;
  }
}

}  // namespace

Keccak256Digest Keccak256(std::span<const uint8_t> data) {
  uint64_t a[25] = {};
  while (data.size() >= kRate) {
    XorBlock(a, data.data());
    KeccakF1600(a);
    data = data.subspan(kRate);
  }
  uint8_t last[kRate] = {};
  if (!data.empty()) std::memcpy(last, data.data(), data.size());
  last[data.size()] ^= 0x01;  // Keccak padding, not SHA-3's 0x06
  last[kRate - 1] ^= 0x80;
  XorBlock(a, last);
  KeccakF1600(a);

  Keccak256Digest out;
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(a[i / 8] >> (8 * (i % 8)));
  return out;
}

Keccak256Digest Keccak256(std::string_view data) {
  return Keccak256(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

}  // namespace cai
