// Fuzzes what `cai verify` does with outside bytes: a quote file and a GPU evidence file (`cai
// verify quote|gpu`), and each answer of the service under verification (`cai verify service`).
// Oracle beyond "no crash": no exception escapes (the CLI once aborted on a number where a string
// was expected), and the --json rendering of every report is valid JSON.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tools/cai/evidence_check.h"
#include "tools/cai/service_answers.h"
#include "tools/cai/service_check.h"
#include "tools/cai/verify_report.h"

namespace {

constexpr int64_t kNow = 1750000000;  // fixed, so a crash reproduces
// The nonce the committed report seed echoes.
constexpr char kNonce[] = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

void Render(const cai::cli::VerifyReport& report) {
  (void)cai::cli::RenderReport(report, "cai verify fuzz", /*as_json=*/false);
  const std::string json = cai::cli::RenderReport(report, "cai verify fuzz", /*as_json=*/true);
  if (!nlohmann::json::accept(json)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  cai::TdxVerifyOptions tdx;
  tdx.now = kNow;
  Render(cai::cli::CheckQuoteFile(bytes, std::nullopt, tdx));
  cai::GpuVerifyOptions gpu;
  gpu.now = kNow;
  Render(cai::cli::CheckGpuFile(bytes, gpu));

  // The same bytes as the attestation report, both ways the verifier can be configured.
  for (const bool allow_simulated : {true, false}) {
    cai::cli::ServiceCheckOptions options;
    options.allow_simulated = allow_simulated;
    cai::cli::ServiceCheckResult result;
    const std::string algo = allow_simulated ? "ecdsa" : "ed25519";
    std::vector<uint8_t> key = cai::cli::CheckAttestationReport(bytes, algo, kNonce, kNow, options, result);
    if (!key.empty() && key.size() != (algo == "ecdsa" ? 20u : 32u)) std::abort();
    cai::cli::VerifyReport report;
    report.checklist = std::move(result.checklist);
    Render(report);
  }
  (void)cai::cli::ParseModelList(bytes);
  (void)cai::cli::ParseChatCompletion(bytes);
  (void)cai::cli::ParseSignature(bytes);
  return 0;
}
