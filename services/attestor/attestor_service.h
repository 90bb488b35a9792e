#pragma once

// cai.v1.Attestor: hardware evidence for a 64-byte report_data and a 32-byte GPU nonce.
#include <memory>

#include "absl/status/statusor.h"
#include "cai/v1/attestor.grpc.pb.h"
#include "services/attestor/providers.h"

namespace cai {

class AttestorService final : public v1::Attestor::Service {
 public:
  // `gpu` may be null (no GPUs).
  AttestorService(std::unique_ptr<TdxQuoteProvider> tdx, std::unique_ptr<GpuEvidenceProvider> gpu);

  // The RPC without gRPC around it. InvalidArgument on wrong sizes. Thread-safe.
  absl::StatusOr<v1::Evidence> Collect(const v1::GetEvidenceRequest& request);

  grpc::Status GetEvidence(grpc::ServerContext* context, const v1::GetEvidenceRequest* request,
                           v1::Evidence* response) override;

  bool simulated() const;

 private:
  std::unique_ptr<TdxQuoteProvider> tdx_;
  std::unique_ptr<GpuEvidenceProvider> gpu_;
  std::string info_json_;  // fixed at start
};

}  // namespace cai
