// cai-attestor: hardware evidence (TDX quote, NVIDIA GPU reports) for the edge.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/flags/flag.h"
#include "lib/common/command_line.h"
#include "absl/strings/match.h"
#include "lib/common/grpc_server.h"
#include "lib/common/log.h"
#include "services/attestor/attestor_service.h"
#include "services/attestor/provider_selection.h"

ABSL_FLAG(std::string, listen, "unix:/tmp/cai/attestor.sock", "gRPC address: unix:/path or host:port");
ABSL_FLAG(std::string, tdx_provider, "auto",
          "auto | dstack | configfs-tsm | simulated (auto: dstack socket, then configfs-tsm)");
ABSL_FLAG(std::string, gpu_provider, "auto", "auto | nvml | simulated | none (auto: NVML if it reports GPUs)");
ABSL_FLAG(std::string, dstack_socket, "",
          "dstack guest agent socket; empty tries /var/run/dstack.sock, /run/dstack.sock, "
          "/var/run/dstack/dstack.sock, /run/dstack/dstack.sock");
ABSL_FLAG(std::string, tsm_root, cai::kDefaultTsmRoot, "configfs-tsm report directory");
ABSL_FLAG(std::string, nvml_library, cai::kNvmlLibrary, "NVML shared library, loaded at run time");
ABSL_FLAG(bool, allow_simulated, false,
          "Allow SIMULATED evidence (development only: it proves nothing about the hardware)");

namespace {

[[noreturn]] void Die(const std::string& message) {
  cai::LogError(message);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  cai::SetLogName("cai-attestor");
  cai::BlockTerminationSignals();
  cai::ParseCommandLine(argc, argv,
                       "evidence (TDX quote, GPU reports) for a report_data, for cai-edge.\n"
                       "Usage: cai-attestor [--listen ADDR] [--tdx_provider P] [--gpu_provider P] [--allow_simulated]");

  cai::ProviderOptions options;
  options.tdx = absl::GetFlag(FLAGS_tdx_provider);
  options.gpu = absl::GetFlag(FLAGS_gpu_provider);
  options.allow_simulated = absl::GetFlag(FLAGS_allow_simulated);
  if (const std::string socket = absl::GetFlag(FLAGS_dstack_socket); !socket.empty()) {
    options.dstack_sockets = {socket};
  }
  options.tsm_root = absl::GetFlag(FLAGS_tsm_root);
  options.nvml_library = absl::GetFlag(FLAGS_nvml_library);
  absl::StatusOr<std::unique_ptr<cai::TdxQuoteProvider>> tdx = cai::SelectTdxProvider(options);
  if (!tdx.ok()) Die(std::string(tdx.status().message()));
  absl::StatusOr<std::unique_ptr<cai::GpuEvidenceProvider>> gpu = cai::SelectGpuProvider(options);
  if (!gpu.ok()) Die(std::string(gpu.status().message()));

  cai::AttestorService service(std::move(*tdx), std::move(*gpu));
  if (service.simulated()) {
    cai::LogWarning("************************************************************************");
    cai::LogWarning("WARNING: evidence from this attestor is SIMULATED and proves NOTHING.");
    cai::LogWarning("Keys and certificates are made in this process; never use it in production.");
    cai::LogWarning("************************************************************************");
  }

  const std::string listen = absl::GetFlag(FLAGS_listen);
  if (absl::StartsWith(listen, "unix:")) {
    std::error_code ec;  // bind fails later with a clear message if this does not work
    std::filesystem::create_directories(std::filesystem::path(listen.substr(5)).parent_path(), ec);
  }
  absl::Status served = cai::ServeUntilSignal(listen, {&service}, "cai.v1.Attestor");
  if (!served.ok()) Die(std::string(served.message()));
  return 0;
}
