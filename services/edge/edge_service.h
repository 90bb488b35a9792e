#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/channel.h>

#include "cai/v1/attestor.grpc.pb.h"
#include "cai/v1/inference.grpc.pb.h"
#include "cai/v1/signer.grpc.pb.h"
#include "services/edge/auth.h"
#include "services/edge/backend_call.h"
#include "services/edge/e2ee_session.h"
#include "services/edge/http_server.h"
#include "services/edge/metrics.h"
#include "services/edge/openai/api_error.h"
#include "services/edge/openai/render.h"

namespace cai::edge {

struct Backends {
  std::shared_ptr<grpc::Channel> signer;
  std::shared_ptr<grpc::Channel> attestor;
  std::shared_ptr<grpc::Channel> inference;
};

// The OpenAI API, signatures and attestation over the three internal services. Stateless apart
// from metrics: every request is answered from the backends.
class EdgeService {
 public:
  EdgeService(Backends backends, ApiKeys api_keys, std::string version);

  // The HttpServer handler.
  void Handle(const HttpRequest& request, ResponseWriter& writer);

  Metrics& metrics() { return metrics_; }

  // Accepts end-to-end encryption version 1, which a recorded request can be replayed under
  // (e2ee_headers.h). Off by default; for clients that speak nothing else (NEAR's ECDSA mode).
  void set_insecure_e2ee_v1(bool allow) { insecure_e2ee_v1_ = allow; }

 private:
  // The request's bearer token is one of the API keys.
  bool Authorized(const HttpRequest& request) const;
  void Completion(openai::Api api, const HttpRequest& request, ResponseWriter& writer);
  // Streams the generations of `generates` (one per prompt) as server-sent events; with `e2ee`,
  // each content sealed to the client.
  void Stream(openai::Api api, const openai::ResponseHeader& header, bool include_usage,
              const std::string& request_body, const std::vector<v1::GenerateRequest>& generates,
              const E2eeSession* e2ee, ResponseWriter& writer);
  // The list, or with `id` the one model (404 model_not_found when not served).
  void Models(std::optional<std::string_view> id, ResponseWriter& writer);
  void Signature(std::string_view id, const HttpRequest& request, ResponseWriter& writer);
  void Attestation(const HttpRequest& request, ResponseWriter& writer);
  void Health(ResponseWriter& writer);

  // Asks the signer to sign the two digests; false (logged and counted) when it could not.
  bool Sign(const std::string& id, const std::string& model, const Sha256Digest& request_sha256,
            const Sha256Digest& response_sha256);
  // The models inference serves, or the error to send.
  std::optional<openai::ApiError> ListServedModels(v1::ListModelsResponse* models);
  // OK (and its description in `info`, when given) when `model` is served; else the 404 to send
  // (or the backend error).
  std::optional<openai::ApiError> CheckModelServed(std::string_view model, v1::ModelInfo* info = nullptr);

  Backends backends_;
  std::unique_ptr<v1::Signer::Stub> signer_;
  std::unique_ptr<v1::Attestor::Stub> attestor_;
  std::unique_ptr<v1::Inference::Stub> inference_;
  ApiKeys api_keys_;
  std::string version_;
  Metrics metrics_;
  bool insecure_e2ee_v1_ = false;
};

void SendError(ResponseWriter& writer, const openai::ApiError& error, const Headers& headers = {});

}  // namespace cai::edge
