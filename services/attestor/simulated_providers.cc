#include "services/attestor/simulated_providers.h"

#include "lib/attestation/simulated_gpu.h"
#include "lib/attestation/simulated_tdx.h"

namespace cai {
namespace {

class SimulatedTdxProvider final : public TdxQuoteProvider {
 public:
  explicit SimulatedTdxProvider(std::unique_ptr<SimulatedTdx> tdx) : tdx_(std::move(tdx)) {}
  std::string name() const override { return "simulated"; }
  bool simulated() const override { return true; }
  std::string simulated_root_pem() const override { return tdx_->root_certificate_pem(); }
  absl::StatusOr<TdxEvidence> Quote(std::span<const uint8_t, 64> report_data) override {
    absl::StatusOr<std::vector<uint8_t>> quote = tdx_->Quote(report_data);
    if (!quote.ok()) return quote.status();
    TdxEvidence evidence;
    evidence.quote = std::move(*quote);
    return evidence;
  }

 private:
  std::unique_ptr<SimulatedTdx> tdx_;
};

class SimulatedGpuProvider final : public GpuEvidenceProvider {
 public:
  explicit SimulatedGpuProvider(std::vector<std::unique_ptr<SimulatedGpu>> gpus) : gpus_(std::move(gpus)) {}
  std::string name() const override { return "simulated"; }
  bool simulated() const override { return true; }
  // Each simulated GPU has its own root: all of them, concatenated in GPU order.
  std::string simulated_root_pem() const override {
    std::string roots;
    for (const auto& gpu : gpus_) roots += gpu->root_certificate_pem();
    return roots;
  }
  absl::StatusOr<std::vector<GpuEvidenceItem>> Collect(std::span<const uint8_t, 32> nonce) override {
    std::vector<GpuEvidenceItem> items;
    for (const auto& gpu : gpus_) {
      absl::StatusOr<std::vector<uint8_t>> report = gpu->AttestationReport(nonce);
      if (!report.ok()) return report.status();
      items.push_back({"HOPPER", gpu->certificate_chain_pem(), std::move(*report)});
    }
    return items;
  }

 private:
  std::vector<std::unique_ptr<SimulatedGpu>> gpus_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> MakeSimulatedTdxProvider() {
  absl::StatusOr<std::unique_ptr<SimulatedTdx>> tdx = SimulatedTdx::Create();
  if (!tdx.ok()) return tdx.status();
  return std::make_unique<SimulatedTdxProvider>(std::move(*tdx));
}

absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> MakeSimulatedGpuProvider(int gpu_count) {
  std::vector<std::unique_ptr<SimulatedGpu>> gpus;
  for (int i = 0; i < gpu_count; ++i) {
    absl::StatusOr<std::unique_ptr<SimulatedGpu>> gpu = SimulatedGpu::Create();
    if (!gpu.ok()) return gpu.status();
    gpus.push_back(std::move(*gpu));
  }
  return std::make_unique<SimulatedGpuProvider>(std::move(gpus));
}

}  // namespace cai
