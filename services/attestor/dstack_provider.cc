#include "services/attestor/dstack_provider.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/common/hex.h"
#include "services/attestor/dstack_answers.h"

namespace cai {
namespace {

// A 200 answer with a JSON object that carries no "error".
absl::StatusOr<nlohmann::json> CallAgent(const std::string& socket_path, const std::string& target,
                                         const std::string& json_body, const UnixHttpLimits& limits) {
  absl::StatusOr<UnixHttpResponse> response = UnixHttpRequest(socket_path, target, json_body, limits);
  if (!response.ok()) return response.status();
  return ParseAgentAnswer(target, response->status, response->body);
}

class DstackProvider final : public TdxQuoteProvider {
 public:
  DstackProvider(std::string socket_path, UnixHttpLimits limits, std::string info_json)
      : socket_path_(std::move(socket_path)), limits_(limits), info_json_(std::move(info_json)) {}

  std::string name() const override { return "dstack"; }
  bool simulated() const override { return false; }
  std::string info_json() const override { return info_json_; }

  absl::StatusOr<TdxEvidence> Quote(std::span<const uint8_t, 64> report_data) override {
    const nlohmann::json request = {{"report_data", HexEncode(report_data)}};
    absl::StatusOr<nlohmann::json> answer = CallAgent(socket_path_, "/GetQuote", request.dump(), limits_);
    if (!answer.ok()) return answer.status();
    return ParseGetQuoteAnswer(*answer, report_data);
  }

 private:
  const std::string socket_path_;
  const UnixHttpLimits limits_;
  const std::string info_json_;
};

}  // namespace

std::string FindDstackSocket(const std::vector<std::string>& candidates) {
  for (const std::string& path : candidates) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return path;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> MakeDstackProvider(const std::string& socket_path,
                                                                     const UnixHttpLimits& limits) {
  absl::StatusOr<nlohmann::json> agent_info = CallAgent(socket_path, "/Info", "", limits);
  if (!agent_info.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("dstack agent at ", socket_path, " did not answer /Info: ", agent_info.status().message()));
  }
  return std::make_unique<DstackProvider>(socket_path, limits, PublishedInfo(*agent_info, socket_path));
}

}  // namespace cai
