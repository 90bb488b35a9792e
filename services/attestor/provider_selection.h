#pragma once

// Turns --tdx_provider / --gpu_provider / --allow_simulated into providers. Simulated evidence is
// only ever used when --allow_simulated says so.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/attestor/providers.h"

namespace cai {

struct ProviderOptions {
  std::string tdx = "auto";  // auto | simulated
  std::string gpu = "auto";  // auto | simulated | none
  bool allow_simulated = false;
  // Where `auto` looks for a real TDX interface.
  std::vector<std::string> tdx_probe_paths = {"/var/run/dstack.sock", "/sys/kernel/config/tsm/report"};
};

// FailedPrecondition when no acceptable provider exists; the message says what was looked for
// and that --allow_simulated enables simulated evidence.
absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> SelectTdxProvider(const ProviderOptions& options);

// nullptr means "none": the evidence carries no GPUs.
absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> SelectGpuProvider(const ProviderOptions& options);

}  // namespace cai
