#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cai/v1/inference.grpc.pb.h"
#include "services/inference/concurrency_limiter.h"
#include "services/inference/engine/batch_engine.h"
#include "services/inference/engine/generator.h"
#include "services/inference/engine/loaded_model.h"

namespace cai::inference {

// The cai.v1.Inference gRPC service over one loaded model. Generate calls are continuously
// batched by one BatchEngine over the model's backend (`scheduler`); at most
// `max_concurrent_sequences` requests are inside the engine at once, later ones queue here.
class InferenceService final : public cai::v1::Inference::Service {
 public:
  // `on_backend_lost`: BatchEngine's, called once if the model's backend stops being usable.
  InferenceService(std::string model_id, std::unique_ptr<LoadedModel> model, int max_concurrent_sequences,
                   const SchedulerOptions& scheduler = {}, BatchEngine::BackendLost on_backend_lost = nullptr);

  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::GenerateResponse>* writer) override;

  // Requests inside the engine now, and forward steps the engine has run (tests, diagnostics).
  int active_requests() const { return limiter_.active(); }
  int64_t engine_steps() const { return engine_.steps(); }

  // The engine request for `request`: prompt tokens and sampling with the model's defaults.
  absl::StatusOr<GenerationRequest> BuildRequest(const v1::GenerateRequest& request) const;

 private:
  const std::string model_id_;
  const std::unique_ptr<LoadedModel> model_;
  const int64_t created_;
  ConcurrencyLimiter limiter_;
  BatchEngine engine_;
};

}  // namespace cai::inference
