#pragma once

// Turns --tdx_provider / --gpu_provider / --allow_simulated (and where to look) into providers.
// Simulated evidence is only ever used when --allow_simulated says so.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/attestor/dstack_provider.h"
#include "services/attestor/nvml_provider.h"
#include "services/attestor/providers.h"
#include "services/attestor/unix_http_client.h"

namespace cai {

inline constexpr char kDefaultTsmRoot[] = "/sys/kernel/config/tsm/report";

struct ProviderOptions {
  std::string tdx = "auto";  // auto | dstack | configfs-tsm | simulated
  std::string gpu = "auto";  // auto | nvml | simulated | none
  bool allow_simulated = false;
  // Where a real TDX interface is looked for: dstack sockets in order, then the configfs-tsm root.
  std::vector<std::string> dstack_sockets = DefaultDstackSockets();
  std::string tsm_root = kDefaultTsmRoot;
  UnixHttpLimits dstack_limits;
  std::string nvml_library = kNvmlLibrary;
};

// auto: dstack if one of its sockets exists, else configfs-tsm if its root exists, else simulated
// (only with allow_simulated). A real interface that exists but fails is an error, or with
// allow_simulated a logged fallback to simulation. FailedPrecondition messages say what was probed.
absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> SelectTdxProvider(const ProviderOptions& options);

// auto: NVML if the library loads and reports at least one GPU, else none (simulated with
// allow_simulated). GPUs that are there but cannot be attested (CC off) are an error.
// nullptr means "none": the evidence carries no GPUs.
absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> SelectGpuProvider(const ProviderOptions& options);

}  // namespace cai
