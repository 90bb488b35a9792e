#pragma once

// Little-endian cursor over untrusted bytes, and its writing counterpart. Every read is bounds
// checked; a failed read names the section being parsed so errors say where a quote is short.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cai {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return data_.size() - offset_; }
  std::span<const uint8_t> Rest() const { return data_.subspan(offset_); }

  // Each Read* returns false when fewer bytes remain than asked for, and then consumes nothing.
  bool ReadBytes(size_t n, std::span<const uint8_t>* out) {
    if (n > remaining()) return false;
    *out = data_.subspan(offset_, n);
    offset_ += n;
    return true;
  }
  template <size_t N>
  bool ReadArray(std::array<uint8_t, N>* out) {
    std::span<const uint8_t> bytes;
    if (!ReadBytes(N, &bytes)) return false;
    std::copy(bytes.begin(), bytes.end(), out->begin());
    return true;
  }
  bool ReadU8(uint8_t* out) { return ReadLe(1, out); }
  bool ReadU16(uint16_t* out) { return ReadLe(2, out); }
  bool ReadU24(uint32_t* out) { return ReadLe(3, out); }
  bool ReadU32(uint32_t* out) { return ReadLe(4, out); }

 private:
  template <typename T>
  bool ReadLe(size_t n, T* out) {
    if (n > remaining()) return false;
    T value = 0;
    for (size_t i = 0; i < n; ++i) value |= static_cast<T>(data_[offset_ + i]) << (8 * i);
    offset_ += n;
    *out = value;
    return true;
  }

  std::span<const uint8_t> data_;
  size_t offset_ = 0;
};

// "quote truncated in <section>": the error every parser returns for a short read.
inline absl::Status Truncated(std::string_view what, std::string_view section) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(what), " truncated in ", std::string(section)));
}

class ByteWriter {
 public:
  void U8(uint8_t v) { bytes_.push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U24(uint32_t v) { Le(v, 3); }
  void U32(uint32_t v) { Le(v, 4); }
  void Bytes(std::span<const uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  void Text(std::string_view s) { bytes_.insert(bytes_.end(), s.begin(), s.end()); }
  void Zeros(size_t n) { bytes_.resize(bytes_.size() + n, 0); }

  size_t size() const { return bytes_.size(); }
  std::vector<uint8_t>& bytes() { return bytes_; }

  // Overwrites a u32 written earlier (a length known only once what follows is written).
  void PatchU32(size_t offset, uint32_t v) {
    for (size_t i = 0; i < 4; ++i) bytes_[offset + i] = static_cast<uint8_t>(v >> (8 * i));
  }

 private:
  void Le(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

}  // namespace cai
