#include "services/attestor/provider_selection.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/log.h"
#include "services/attestor/configfs_tsm_provider.h"
#include "services/attestor/simulated_providers.h"

namespace cai {
namespace {

absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> MakeTsm(const ProviderOptions& options) {
  ConfigfsTsmOptions tsm;
  tsm.root = options.tsm_root;
  return MakeConfigfsTsmProvider(std::move(tsm));
}

// A real provider was found but failed: stop, or with --allow_simulated say so and simulate.
absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> RealOrFallback(
    absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> real, const ProviderOptions& options) {
  if (real.ok() || !options.allow_simulated) return real;
  LogWarning("TDX provider failed (", real.status().message(), "); falling back to SIMULATED quotes");
  return MakeSimulatedTdxProvider();
}

absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> NoGpuProvider(const ProviderOptions& options,
                                                                   const std::string& why) {
  if (options.allow_simulated) {
    LogWarning("no GPU provider (", why, "); falling back to a SIMULATED GPU");
    return MakeSimulatedGpuProvider();
  }
  LogWarning("no GPU provider (", why, "); evidence will carry no GPUs");
  return std::unique_ptr<GpuEvidenceProvider>();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> SelectTdxProvider(const ProviderOptions& options) {
  const std::string& choice = options.tdx;
  if (choice == "simulated") {
    if (!options.allow_simulated)
      return absl::FailedPreconditionError("--tdx_provider=simulated requires --allow_simulated");
    return MakeSimulatedTdxProvider();
  }
  const std::string socket = FindDstackSocket(options.dstack_sockets);
  const std::string sockets = absl::StrJoin(options.dstack_sockets, ", ");
  if (choice == "dstack") {
    if (socket.empty())
      return absl::FailedPreconditionError(absl::StrCat("--tdx_provider=dstack: no dstack socket at ", sockets));
    return MakeDstackProvider(socket, options.dstack_limits);
  }
  if (choice == "configfs-tsm") return MakeTsm(options);
  if (choice != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("--tdx_provider must be auto, dstack, configfs-tsm or simulated, not '", choice, "'"));
  }

  if (!socket.empty()) {
    LogInfo("TDX provider: dstack agent at ", socket);
    return RealOrFallback(MakeDstackProvider(socket, options.dstack_limits), options);
  }
  std::error_code ec;
  if (std::filesystem::exists(options.tsm_root, ec)) {
    LogInfo("TDX provider: configfs-tsm at ", options.tsm_root);
    return RealOrFallback(MakeTsm(options), options);
  }
  const std::string looked =
      absl::StrCat("looked for a dstack socket at ", sockets, " and for configfs-tsm at ", options.tsm_root);
  if (!options.allow_simulated) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no TDX provider was found (", looked, "); --allow_simulated enables simulated evidence for development"));
  }
  LogWarning("no TDX provider was found (", looked, "); falling back to SIMULATED quotes");
  return MakeSimulatedTdxProvider();
}

absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> SelectGpuProvider(const ProviderOptions& options) {
  const std::string& choice = options.gpu;
  if (choice == "none") return std::unique_ptr<GpuEvidenceProvider>();
  if (choice == "simulated") {
    if (!options.allow_simulated)
      return absl::FailedPreconditionError("--gpu_provider=simulated requires --allow_simulated");
    return MakeSimulatedGpuProvider();
  }
  if (choice != "auto" && choice != "nvml") {
    return absl::InvalidArgumentError(
        absl::StrCat("--gpu_provider must be auto, nvml, simulated or none, not '", choice, "'"));
  }

  absl::StatusOr<std::unique_ptr<NvmlGpuProvider>> nvml = NvmlGpuProvider::Load(options.nvml_library);
  if (choice == "nvml") {
    if (!nvml.ok()) return nvml.status();
    if ((*nvml)->gpu_count() == 0) return absl::FailedPreconditionError("--gpu_provider=nvml: NVML reports no GPUs");
    if (absl::Status cc = (*nvml)->CheckConfidentialComputing(); !cc.ok()) return cc;
    return std::unique_ptr<GpuEvidenceProvider>(std::move(*nvml));
  }
  if (!nvml.ok()) return NoGpuProvider(options, std::string(nvml.status().message()));
  if ((*nvml)->gpu_count() == 0) return NoGpuProvider(options, "NVML reports no GPUs");
  // GPUs are there: evidence without them would hide them, so they must be attestable.
  if (absl::Status cc = (*nvml)->CheckConfidentialComputing(); !cc.ok()) {
    if (!options.allow_simulated) {
      return absl::FailedPreconditionError(absl::StrCat("NVML reports ", (*nvml)->gpu_count(),
                                                        " GPUs that cannot be attested: ", cc.message()));
    }
    return NoGpuProvider(options, std::string(cc.message()));
  }
  LogInfo("GPU provider: NVML, ", (*nvml)->gpu_count(), " GPUs");
  return std::unique_ptr<GpuEvidenceProvider>(std::move(*nvml));
}

}  // namespace cai
