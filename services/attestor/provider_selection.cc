#include "services/attestor/provider_selection.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/log.h"
#include "services/attestor/simulated_providers.h"

namespace cai {

absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> SelectTdxProvider(const ProviderOptions& options) {
  if (options.tdx != "auto" && options.tdx != "simulated") {
    return absl::InvalidArgumentError(
        absl::StrCat("--tdx_provider must be auto or simulated, not '", options.tdx, "'"));
  }
  if (options.tdx == "auto") {
    // Real providers (dstack, configfs-tsm) are not in this build yet: report what is there.
    std::vector<std::string> found;
    for (const std::string& path : options.tdx_probe_paths) {
      std::error_code ec;
      if (std::filesystem::exists(path, ec)) found.push_back(path);
    }
    std::string looked = absl::StrCat("looked for ", absl::StrJoin(options.tdx_probe_paths, " and "));
    if (!found.empty()) {
      absl::StrAppend(&looked, "; found ", absl::StrJoin(found, ", "),
                      " but this build has no provider for it yet");
    }
    if (!options.allow_simulated) {
      return absl::FailedPreconditionError(
          absl::StrCat("no TDX provider was found (", looked,
                       "); --allow_simulated enables simulated evidence for development"));
    }
    LogWarning("no TDX provider was found (", looked, "); falling back to SIMULATED quotes");
  } else if (!options.allow_simulated) {
    return absl::FailedPreconditionError("--tdx_provider=simulated requires --allow_simulated");
  }
  return MakeSimulatedTdxProvider();
}

absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> SelectGpuProvider(const ProviderOptions& options) {
  if (options.gpu == "none") return std::unique_ptr<GpuEvidenceProvider>();
  if (options.gpu != "auto" && options.gpu != "simulated") {
    return absl::InvalidArgumentError(
        absl::StrCat("--gpu_provider must be auto, simulated or none, not '", options.gpu, "'"));
  }
  if (options.gpu == "simulated" && !options.allow_simulated) {
    return absl::FailedPreconditionError("--gpu_provider=simulated requires --allow_simulated");
  }
  if (options.gpu == "auto") {
    // NVML is not in this build yet.
    if (!options.allow_simulated) {
      LogWarning("no GPU provider was found (NVML is not supported yet); evidence will carry no GPUs");
      return std::unique_ptr<GpuEvidenceProvider>();
    }
    LogWarning("no GPU provider was found (NVML is not supported yet); falling back to a SIMULATED GPU");
  }
  return MakeSimulatedGpuProvider();
}

}  // namespace cai
