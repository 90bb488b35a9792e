#include "services/attestor/attestor_service.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/common/grpc_status.h"

namespace cai {
namespace {

constexpr size_t kReportDataSize = 64;
constexpr size_t kGpuNonceSize = 32;

std::string InfoJson(const TdxQuoteProvider& tdx, const GpuEvidenceProvider* gpu, bool simulated) {
  nlohmann::json info = {{"tdx_provider", tdx.name()},
                         {"gpu_provider", gpu != nullptr ? gpu->name() : "none"},
                         {"simulated", simulated}};
  // The provider wrote this text itself; parse it so info_json stays one valid object.
  nlohmann::json tdx_info = nlohmann::json::parse(tdx.info_json(), nullptr, /*allow_exceptions=*/false);
  if (tdx_info.is_object() && !tdx_info.empty()) info["tdx_info"] = std::move(tdx_info);
  if (simulated) {
    // Verifiers that knowingly accept simulated evidence pin these roots.
    info["simulated_roots"] = {{"tdx_root_ca_pem", tdx.simulated_root_pem()},
                               {"gpu_root_ca_pem", gpu != nullptr ? gpu->simulated_root_pem() : ""}};
  }
  return info.dump();
}

}  // namespace

AttestorService::AttestorService(std::unique_ptr<TdxQuoteProvider> tdx,
                                 std::unique_ptr<GpuEvidenceProvider> gpu)
    : tdx_(std::move(tdx)), gpu_(std::move(gpu)) {
  info_json_ = InfoJson(*tdx_, gpu_.get(), simulated());
}

bool AttestorService::simulated() const {
  return tdx_->simulated() || (gpu_ != nullptr && gpu_->simulated());
}

absl::StatusOr<v1::Evidence> AttestorService::Collect(const v1::GetEvidenceRequest& request) {
  if (request.report_data().size() != kReportDataSize) {
    return absl::InvalidArgumentError(absl::StrCat("report_data must be exactly ", kReportDataSize,
                                                   " bytes, got ", request.report_data().size()));
  }
  if (request.gpu_nonce().size() != kGpuNonceSize) {
    return absl::InvalidArgumentError(absl::StrCat("gpu_nonce must be exactly ", kGpuNonceSize,
                                                   " bytes, got ", request.gpu_nonce().size()));
  }
  const auto* report_data = reinterpret_cast<const uint8_t*>(request.report_data().data());
  const auto* nonce = reinterpret_cast<const uint8_t*>(request.gpu_nonce().data());

  v1::Evidence evidence;
  absl::StatusOr<TdxEvidence> tdx = tdx_->Quote(std::span<const uint8_t, 64>(report_data, 64));
  if (!tdx.ok()) return absl::UnavailableError(absl::StrCat("TDX quote failed: ", tdx.status().ToString()));
  evidence.set_tdx_quote(tdx->quote.data(), tdx->quote.size());
  evidence.set_event_log(std::move(tdx->event_log));
  evidence.set_vm_config(std::move(tdx->vm_config));
  if (gpu_ != nullptr) {
    absl::StatusOr<std::vector<GpuEvidenceItem>> items =
        gpu_->Collect(std::span<const uint8_t, 32>(nonce, 32));
    if (!items.ok())
      return absl::UnavailableError(absl::StrCat("GPU evidence failed: ", items.status().ToString()));
    for (const GpuEvidenceItem& item : *items) {
      v1::GpuEvidence* out = evidence.add_gpus();
      out->set_arch(item.arch);
      out->set_certificate_chain(item.certificate_chain);
      out->set_attestation_report(item.report.data(), item.report.size());
    }
  }
  evidence.set_simulated(simulated());
  evidence.set_tdx_provider(tdx_->name());
  evidence.set_gpu_provider(gpu_ != nullptr ? gpu_->name() : "none");
  evidence.set_info_json(info_json_);
  return evidence;
}

grpc::Status AttestorService::GetEvidence(grpc::ServerContext* context, const v1::GetEvidenceRequest* request,
                                          v1::Evidence* response) {
  absl::StatusOr<v1::Evidence> evidence = Collect(*request);
  if (!evidence.ok()) return ToGrpcStatus(evidence.status());
  *response = std::move(*evidence);
  return grpc::Status::OK;
}

}  // namespace cai
