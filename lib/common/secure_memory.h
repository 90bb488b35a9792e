#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace cai {

// Keeps secrets out of swap, core dumps and freed memory: page-aligned, mlock'd, marked
// MADV_DONTDUMP, and wiped with explicit_bzero before it is unmapped. Move-only.
class SecureBuffer {
 public:
  static absl::StatusOr<SecureBuffer> Allocate(size_t size);

  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;
  ~SecureBuffer();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

 private:
  SecureBuffer(uint8_t* data, size_t size, size_t mapped) : data_(data), size_(size), mapped_(mapped) {}
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
};

// Makes the process non-dumpable (no core files, no ptrace by other users) and sets RLIMIT_CORE
// to 0. Call first thing in any process that holds a secret.
absl::Status DisableCoreDumps();

// Overwrites memory in a way the compiler may not elide.
void SecureWipe(void* data, size_t size);

}  // namespace cai
