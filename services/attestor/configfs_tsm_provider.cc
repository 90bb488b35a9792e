#include "services/attestor/configfs_tsm_provider.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/attestor/quote_binding.h"

namespace cai {
namespace {

constexpr size_t kReportDataSize = 64;      // TDX takes exactly this many inblob bytes
constexpr size_t kMinQuoteSize = 1020;      // A1 step 7: accept only 1020 < size < 8192
constexpr size_t kMaxQuoteSize = 8192;
constexpr size_t kOutblobLimit = 32 * 1024;  // TSM_OUTBLOB_MAX
constexpr size_t kSmallFileLimit = 256;      // provider, generation

std::string ErrnoText(int error) { return std::generic_category().message(error); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads the whole file, at most `limit` bytes. Returns 0 or an errno (EFBIG when over the limit).
int ReadAll(const std::string& path, size_t limit, std::string* out) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno;
  out->clear();
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd.get(), chunk, sizeof(chunk));
    if (n < 0) return errno;
    if (n == 0) return 0;
    if (out->size() + static_cast<size_t>(n) > limit) return EFBIG;
    out->append(chunk, static_cast<size_t>(n));
  }
}

absl::StatusOr<uint64_t> ReadGeneration(const std::string& dir) {
  std::string text;
  if (int error = ReadAll(dir + "/generation", kSmallFileLimit, &text); error != 0)
    return absl::UnavailableError(absl::StrCat("configfs-tsm: cannot read ", dir, "/generation: ", ErrnoText(error)));
  uint64_t generation = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &generation))
    return absl::UnavailableError(absl::StrCat("configfs-tsm: ", dir, "/generation is not a number"));
  return generation;
}

class ConfigfsTsmProvider final : public TdxQuoteProvider {
 public:
  ConfigfsTsmProvider(ConfigfsTsmOptions options, std::string dir, std::string info_json)
      : options_(std::move(options)), dir_(std::move(dir)), info_json_(std::move(info_json)) {}

  std::string name() const override { return "configfs-tsm"; }
  bool simulated() const override { return false; }
  std::string info_json() const override { return info_json_; }

  absl::StatusOr<TdxEvidence> Quote(std::span<const uint8_t, 64> report_data) override {
    absl::MutexLock lock(&mu_);  // flock alone does not order threads that share one process
    const std::string inblob = dir_ + "/inblob";
    Fd lock_fd(open(inblob.c_str(), O_WRONLY | O_CLOEXEC));
    if (lock_fd.get() < 0)
      return absl::UnavailableError(absl::StrCat("configfs-tsm: cannot open ", inblob, ": ", ErrnoText(errno)));
    while (flock(lock_fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR)
        return absl::UnavailableError(absl::StrCat("configfs-tsm: cannot lock ", inblob, ": ", ErrnoText(errno)));
    }

    absl::StatusOr<uint64_t> g1 = ReadGeneration(dir_);
    if (!g1.ok()) return g1.status();
    if (absl::Status written = WriteInblob(inblob, report_data); !written.ok()) return written;
    absl::StatusOr<uint64_t> g2 = AwaitGeneration(*g1 + 1);
    if (!g2.ok()) return g2.status();
    absl::StatusOr<std::string> outblob = ReadOutblob();
    if (!outblob.ok()) return outblob.status();
    absl::StatusOr<uint64_t> g3 = ReadGeneration(dir_);
    if (!g3.ok()) return g3.status();
    if (*g3 != *g2) {
      return absl::AbortedError(absl::StrCat("configfs-tsm: another writer raced us: generation moved from ",
                                             *g2, " to ", *g3, " while we read outblob"));
    }
    if (outblob->size() <= kMinQuoteSize || outblob->size() >= kMaxQuoteSize) {
      return absl::UnavailableError(absl::StrCat("configfs-tsm: outblob is ", outblob->size(),
                                                 " bytes; a TDX quote is more than ", kMinQuoteSize,
                                                 " and less than ", kMaxQuoteSize));
    }
    TdxEvidence evidence;
    evidence.quote.assign(outblob->begin(), outblob->end());
    if (absl::Status bound = CheckQuoteReportData(evidence.quote, report_data, "configfs-tsm"); !bound.ok())
      return bound;
    return evidence;
  }

 private:
  int InjectedErrno(std::string_view operation) const {
    return options_.inject_errno_for_test ? options_.inject_errno_for_test(operation) : 0;
  }

  // Its own open/write/close: configfs commits a binary attribute when the writer closes it.
  absl::Status WriteInblob(const std::string& inblob, std::span<const uint8_t, 64> report_data) {
    for (int attempt = 1;; ++attempt) {
      int error = InjectedErrno("write_inblob");
      if (error == 0) {
        Fd fd(open(inblob.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.get() < 0) {
          error = errno;
        } else {
          ssize_t n = write(fd.get(), report_data.data(), kReportDataSize);
          if (n < 0) error = errno;
          else if (n != static_cast<ssize_t>(kReportDataSize))
            return absl::UnavailableError(absl::StrCat("configfs-tsm: short write to inblob (", n, " of 64 bytes)"));
        }
      }
      if (error == 0) return absl::OkStatus();
      if (error != EBUSY || attempt >= options_.write_busy_tries) {
        return absl::UnavailableError(absl::StrCat("configfs-tsm: cannot write inblob (attempt ", attempt,
                                                   "): ", ErrnoText(error)));
      }
      std::this_thread::sleep_for(options_.write_busy_pause);
    }
  }

  // The write must move generation by exactly one; more means someone else wrote too.
  absl::StatusOr<uint64_t> AwaitGeneration(uint64_t expected) {
    const auto deadline = std::chrono::steady_clock::now() + options_.generation_timeout;
    for (;;) {
      absl::StatusOr<uint64_t> generation = ReadGeneration(dir_);
      if (!generation.ok()) return generation.status();
      if (*generation == expected) return expected;
      if (*generation > expected || *generation + 1 < expected) {
        return absl::AbortedError(absl::StrCat("configfs-tsm: another writer raced us: generation is ", *generation,
                                               ", expected ", expected));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat("configfs-tsm: generation stayed at ", *generation, " for ",
                                                        options_.generation_timeout.count(),
                                                        " ms after writing inblob"));
      }
      std::this_thread::sleep_for(options_.generation_poll);
    }
  }

  // The first read runs the quote request; the kernel says EBUSY/EINTR/ETIMEDOUT while it waits.
  absl::StatusOr<std::string> ReadOutblob() {
    for (int attempt = 1;; ++attempt) {
      std::string outblob;
      int error = InjectedErrno("read_outblob");
      if (error == 0) error = ReadAll(dir_ + "/outblob", kOutblobLimit, &outblob);
      if (error == 0) return outblob;
      bool transient = error == EBUSY || error == EINTR || error == ETIMEDOUT;
      if (!transient || attempt >= options_.read_tries) {
        return absl::UnavailableError(absl::StrCat("configfs-tsm: cannot read outblob (attempt ", attempt,
                                                   "): ", ErrnoText(error)));
      }
      std::this_thread::sleep_for(options_.read_retry_pause);
    }
  }

  const ConfigfsTsmOptions options_;
  const std::string dir_;
  const std::string info_json_;
  absl::Mutex mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> MakeConfigfsTsmProvider(ConfigfsTsmOptions options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.root, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "configfs-tsm: ", options.root, " is not a directory (needs Linux 6.7+ with configfs mounted)"));
  }
  const std::string dir = options.root + "/" + options.report_name;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    const int error = errno;
    return absl::FailedPreconditionError(absl::StrCat(
        "configfs-tsm: cannot create ", dir, ": ", ErrnoText(error),
        error == ENXIO ? " (no TSM provider is registered: is this a TDX guest?)" : ""));
  }
  std::string provider;
  if (int error = ReadAll(dir + "/provider", kSmallFileLimit, &provider); error != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("configfs-tsm: cannot read ", dir, "/provider: ", ErrnoText(error)));
  }
  provider = std::string(absl::StripAsciiWhitespace(provider));
  if (!absl::StartsWith(provider, "tdx_guest")) {
    return absl::FailedPreconditionError(
        absl::StrCat("configfs-tsm: provider is '", provider.substr(0, 64), "', not tdx_guest"));
  }
  nlohmann::json info = {{"tsm_report", dir}, {"tsm_provider", provider}};
  // The provider name came from a file: do not let odd bytes in it throw.
  std::string info_json = info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return std::make_unique<ConfigfsTsmProvider>(std::move(options), dir, std::move(info_json));
}

}  // namespace cai
