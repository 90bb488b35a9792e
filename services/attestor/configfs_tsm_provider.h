#pragma once

// TDX quotes through the Linux configfs-tsm ABI (Linux 6.7+), with the race-free recipe of
// shared/reference/attestation-formats.md A1: flock on inblob, generation before and after, and a
// quote accepted only if it carries the report_data we wrote.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/attestor/providers.h"

namespace cai {

struct ConfigfsTsmOptions {
  std::string root = "/sys/kernel/config/tsm/report";
  std::string report_name = "com.intel.dcap";  // the instance Intel's and dstack's libraries share
  int write_busy_tries = 3;                    // inblob EBUSY: the kernel is still busy with a report
  std::chrono::milliseconds write_busy_pause{1000};
  std::chrono::milliseconds generation_poll{10};
  std::chrono::milliseconds generation_timeout{5000};
  int read_tries = 5;  // outblob EBUSY / EINTR / ETIMEDOUT (the host's quoting service is slow)
  std::chrono::milliseconds read_retry_pause{100};
  // Tests only: called before each inblob write ("write_inblob") and outblob read ("read_outblob");
  // a non-zero return is treated as that errno from the kernel. A plain directory cannot say EBUSY.
  std::function<int(std::string_view operation)> inject_errno_for_test;
};

// Creates the report instance if missing and checks that its provider is tdx_guest.
absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> MakeConfigfsTsmProvider(ConfigfsTsmOptions options);

}  // namespace cai
