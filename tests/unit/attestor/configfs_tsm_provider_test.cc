#include "services/attestor/configfs_tsm_provider.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "lib/attestation/simulated_tdx.h"
#include "tests/unit/attestor/shared_simulated_tdx.h"
#include "lib/attestation/tdx_quote.h"

namespace cai {
namespace {

namespace fs = std::filesystem;

SimulatedTdx& Tdx() { return SharedSimulatedTdx(); }

void WriteAtomically(const fs::path& path, const std::string& content) {
  const fs::path temp = path.string() + ".tmp";
  std::ofstream(temp, std::ios::binary) << content;
  fs::rename(temp, path);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Imitates the kernel side of configfs-tsm in a plain directory. A plain file cannot run
// report_new when written, so a thread watches inblob (inotify) and, like the kernel, produces
// outblob for the written report_data and then moves generation on.
class FakeTsmKernel {
 public:
  // generation_step 2 imitates another writer slipping in, 0 a stuck kernel. outblob_size 0
  // answers with a real (simulated) quote, otherwise with that many junk bytes.
  explicit FakeTsmKernel(std::string provider = "tdx_guest", uint64_t generation_step = 1, size_t outblob_size = 0)
      : provider_(std::move(provider)), generation_step_(generation_step), outblob_size_(outblob_size) {
    static std::atomic<int> counter{0};
    root_ = fs::path(::testing::TempDir()) / ("cai-tsm-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(root_);
    fs::create_directories(dir());
    std::ofstream(dir() / "inblob") << "";
    std::ofstream(dir() / "outblob") << "";
    std::ofstream(dir() / "provider") << provider_ << "\n";
    std::ofstream(dir() / "generation") << "0\n";
    inotify_ = inotify_init1(IN_CLOEXEC);
    inotify_add_watch(inotify_, (dir() / "inblob").c_str(), IN_MODIFY);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeTsmKernel() {
    stopping_ = true;
    thread_.join();
    close(inotify_);
    fs::remove_all(root_);
  }

  std::string root() const { return root_.string(); }
  fs::path dir() const { return root_ / "com.intel.dcap"; }
  uint64_t generation() const { return std::stoull(ReadFile(dir() / "generation")); }
  void SetGeneration(uint64_t generation) { WriteAtomically(dir() / "generation", std::to_string(generation) + "\n"); }

 private:
  void Run() {
    while (!stopping_) {
      pollfd pfd{inotify_, POLLIN, 0};
      if (poll(&pfd, 1, 20) <= 0) continue;
      alignas(inotify_event) char events[4096];
      if (read(inotify_, events, sizeof(events)) <= 0) continue;
      std::string inblob = ReadFile(dir() / "inblob");
      if (inblob.size() != 64) continue;  // the real kernel says EINVAL
      std::string outblob;
      if (outblob_size_ == 0) {
        absl::StatusOr<std::vector<uint8_t>> quote =
            Tdx().Quote(std::span<const uint8_t, 64>(reinterpret_cast<const uint8_t*>(inblob.data()), 64));
        outblob.assign(quote->begin(), quote->end());
      } else {
        outblob.assign(outblob_size_, 'q');
      }
      WriteAtomically(dir() / "outblob", outblob);
      SetGeneration(generation() + generation_step_);
    }
  }

  const std::string provider_;
  const uint64_t generation_step_;
  const size_t outblob_size_;
  fs::path root_;
  int inotify_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

ConfigfsTsmOptions FastOptions(const FakeTsmKernel& kernel) {
  ConfigfsTsmOptions options;
  options.root = kernel.root();
  options.write_busy_pause = std::chrono::milliseconds(1);
  options.read_retry_pause = std::chrono::milliseconds(1);
  options.generation_poll = std::chrono::milliseconds(1);
  return options;
}

std::array<uint8_t, 64> ReportData(uint8_t seed) {
  std::array<uint8_t, 64> data;
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(seed * 31 + i);
  return data;
}

void ExpectError(const absl::Status& status, const std::string& fragment) {
  ASSERT_FALSE(status.ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(std::string(status.message()).find(fragment), std::string::npos) << status;
}

absl::StatusOr<TdxEvidence> QuoteOnce(const ConfigfsTsmOptions& options, uint8_t seed = 1) {
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> provider = MakeConfigfsTsmProvider(options);
  if (!provider.ok()) return provider.status();
  return (*provider)->Quote(ReportData(seed));
}

TEST(ConfigfsTsmProviderTest, QuoteCarriesTheReportDataWeWrote) {
  FakeTsmKernel kernel;
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> provider = MakeConfigfsTsmProvider(FastOptions(kernel));
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->name(), "configfs-tsm");
  EXPECT_FALSE((*provider)->simulated());
  for (uint8_t seed : {1, 2, 3}) {
    absl::StatusOr<TdxEvidence> evidence = (*provider)->Quote(ReportData(seed));
    ASSERT_TRUE(evidence.ok()) << evidence.status();
    absl::StatusOr<TdxQuote> quote = ParseTdxQuote(evidence->quote);
    ASSERT_TRUE(quote.ok()) << quote.status();
    EXPECT_EQ(quote->body.report_data, ReportData(seed));
    EXPECT_TRUE(VerifyQuoteSignature(*quote).ok());
    EXPECT_EQ(evidence->event_log, "");
  }
  EXPECT_EQ(kernel.generation(), 3u);
  std::string inblob = ReadFile(kernel.dir() / "inblob");
  EXPECT_EQ(inblob.size(), 64u);  // exactly 64 bytes written
}

TEST(ConfigfsTsmProviderTest, ConcurrentCallersAreSerialized) {
  FakeTsmKernel kernel;
  // Two providers stand for two processes: only flock orders them.
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> first = MakeConfigfsTsmProvider(FastOptions(kernel));
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> second = MakeConfigfsTsmProvider(FastOptions(kernel));
  ASSERT_TRUE(first.ok() && second.ok());
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      TdxQuoteProvider& provider = t % 2 == 0 ? **first : **second;
      for (int i = 0; i < 3; ++i) {
        const uint8_t seed = static_cast<uint8_t>(t * 10 + i);
        absl::StatusOr<TdxEvidence> evidence = provider.Quote(ReportData(seed));
        if (!evidence.ok()) continue;
        absl::StatusOr<TdxQuote> quote = ParseTdxQuote(evidence->quote);
        if (quote.ok() && quote->body.report_data == ReportData(seed)) ++good;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), 12);
  EXPECT_EQ(kernel.generation(), 12u);
}

TEST(ConfigfsTsmProviderTest, GenerationJumpMeansAnotherWriterRacedUs) {
  FakeTsmKernel kernel("tdx_guest", 2);
  absl::StatusOr<TdxEvidence> result = QuoteOnce(FastOptions(kernel));
  ExpectError(result.status(), "another writer raced us");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
}

TEST(ConfigfsTsmProviderTest, GenerationMovingWhileReadingIsARace) {
  FakeTsmKernel kernel;
  ConfigfsTsmOptions options = FastOptions(kernel);
  options.inject_errno_for_test = [&kernel](std::string_view operation) {
    if (operation == "read_outblob") kernel.SetGeneration(kernel.generation() + 1);  // someone else wrote
    return 0;
  };
  ExpectError(QuoteOnce(options).status(), "another writer raced us");
}

TEST(ConfigfsTsmProviderTest, StuckGenerationTimesOut) {
  FakeTsmKernel kernel("tdx_guest", 0);
  ConfigfsTsmOptions options = FastOptions(kernel);
  options.generation_timeout = std::chrono::milliseconds(50);
  absl::StatusOr<TdxEvidence> result = QuoteOnce(options);
  ExpectError(result.status(), "generation stayed at 0");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ConfigfsTsmProviderTest, BusyOutblobIsRetriedThenGivenUp) {
  FakeTsmKernel kernel;
  ConfigfsTsmOptions options = FastOptions(kernel);
  int reads = 0;
  options.inject_errno_for_test = [&reads](std::string_view operation) {
    if (operation != "read_outblob") return 0;
    ++reads;
    return reads == 1 ? EBUSY : reads == 2 ? EINTR : reads == 3 ? ETIMEDOUT : 0;
  };
  absl::StatusOr<TdxEvidence> evidence = QuoteOnce(options, 7);
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  EXPECT_EQ(reads, 4);

  options.inject_errno_for_test = [](std::string_view operation) { return operation == "read_outblob" ? EBUSY : 0; };
  ExpectError(QuoteOnce(options).status(), "cannot read outblob (attempt 5)");

  options.inject_errno_for_test = [](std::string_view operation) { return operation == "read_outblob" ? EIO : 0; };
  ExpectError(QuoteOnce(options).status(), "cannot read outblob (attempt 1)");
}

TEST(ConfigfsTsmProviderTest, BusyInblobIsRetriedThenGivenUp) {
  FakeTsmKernel kernel;
  ConfigfsTsmOptions options = FastOptions(kernel);
  int writes = 0;
  options.inject_errno_for_test = [&writes](std::string_view operation) {
    return operation == "write_inblob" && ++writes == 1 ? EBUSY : 0;
  };
  ASSERT_TRUE(QuoteOnce(options).ok());
  EXPECT_EQ(writes, 2);

  options.inject_errno_for_test = [](std::string_view operation) { return operation == "write_inblob" ? EBUSY : 0; };
  ExpectError(QuoteOnce(options).status(), "cannot write inblob (attempt 3)");
  options.inject_errno_for_test = [](std::string_view operation) { return operation == "write_inblob" ? EINVAL : 0; };
  ExpectError(QuoteOnce(options).status(), "cannot write inblob (attempt 1)");
}

TEST(ConfigfsTsmProviderTest, OutblobSizeIsChecked) {
  FakeTsmKernel small("tdx_guest", 1, 1020);
  ExpectError(QuoteOnce(FastOptions(small)).status(), "outblob is 1020 bytes");
  FakeTsmKernel large("tdx_guest", 1, 8192);
  ExpectError(QuoteOnce(FastOptions(large)).status(), "outblob is 8192 bytes");
  FakeTsmKernel junk("tdx_guest", 1, 5000);
  ExpectError(QuoteOnce(FastOptions(junk)).status(), "does not parse");
}

TEST(ConfigfsTsmProviderTest, ProviderMustBeTdxGuest) {
  FakeTsmKernel sev("sev_guest");
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> provider = MakeConfigfsTsmProvider(FastOptions(sev));
  ASSERT_FALSE(provider.ok());
  ExpectError(provider.status(), "provider is 'sev_guest', not tdx_guest");

  FakeTsmKernel versioned("tdx_guest.v2");  // dstack accepts any tdx_guest prefix
  EXPECT_TRUE(MakeConfigfsTsmProvider(FastOptions(versioned)).ok());
}

TEST(ConfigfsTsmProviderTest, ReportDirectoryIsCreatedAndRootMustExist) {
  const fs::path root = fs::path(::testing::TempDir()) / ("cai-tsm-empty-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  ConfigfsTsmOptions options;
  options.root = root.string();
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> provider = MakeConfigfsTsmProvider(options);
  EXPECT_TRUE(fs::is_directory(root / "com.intel.dcap"));  // mkdir, as the kernel ABI wants
  ASSERT_FALSE(provider.ok());  // a plain directory has no provider file: the kernel would add it
  ExpectError(provider.status(), "provider");
  fs::remove_all(root);

  options.root = "/nonexistent/cai/tsm/report";
  ExpectError(MakeConfigfsTsmProvider(options).status(), "/nonexistent/cai/tsm/report is not a directory");
}

}  // namespace
}  // namespace cai
