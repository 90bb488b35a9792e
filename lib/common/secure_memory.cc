#include "lib/common/secure_memory.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace cai {

absl::StatusOr<SecureBuffer> SecureBuffer::Allocate(size_t size) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t mapped = (size + page - 1) / page * page;
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError(std::string("mmap for secret memory: ") + std::strerror(errno));
  }
  if (mlock(p, mapped) != 0) {
    int err = errno;
    munmap(p, mapped);
    return absl::ResourceExhaustedError(
        std::string("mlock for secret memory failed (raise RLIMIT_MEMLOCK or grant CAP_IPC_LOCK): ") +
        std::strerror(err));
  }
  if (madvise(p, mapped, MADV_DONTDUMP) != 0) {
    int err = errno;
    munlock(p, mapped);
    munmap(p, mapped);
    return absl::InternalError(std::string("madvise(MADV_DONTDUMP): ") + std::strerror(err));
  }
  return SecureBuffer(static_cast<uint8_t*>(p), size, mapped);
}

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

SecureBuffer::~SecureBuffer() { Release(); }

void SecureBuffer::Release() {
  if (data_ == nullptr) return;
  SecureWipe(data_, mapped_);
  munlock(data_, mapped_);
  munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
}

absl::Status DisableCoreDumps() {
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return absl::InternalError(std::string("setrlimit(RLIMIT_CORE): ") + std::strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(std::string("prctl(PR_SET_DUMPABLE): ") + std::strerror(errno));
  }
  return absl::OkStatus();
}

void SecureWipe(void* data, size_t size) { explicit_bzero(data, size); }

}  // namespace cai
