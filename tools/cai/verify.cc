#include "tools/cai/verify.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/common/hex.h"
#include "lib/common/read_file.h"
#include "tools/cai/evidence_check.h"
#include "tools/cai/service_check.h"
#include "tools/cai/verify_report.h"

namespace cai::cli {
namespace {

constexpr size_t kMaxInputFile = 4 << 20;

constexpr char kUsage[] =
    "usage:\n"
    "  cai verify quote FILE [--collateral FILE] [--now UNIX] [--dangerous-allow-debug-td] [--json]\n"
    "      FILE: a TDX quote, binary or hex text (\"0x\" allowed), or a dstack /GetQuote response JSON\n"
    "      (its event log is replayed too). Without --collateral the TCB status is not determined.\n"
    "      --dangerous-allow-debug-td accepts a TD in DEBUG mode, whose memory the host can read.\n"
    "  cai verify gpu FILE [--nonce HEX] [--json]\n"
    "      FILE: an nvidia_payload JSON, NVIDIA serialized evidence, or an attestation report JSON.\n"
    "  cai verify service URL [--allow-simulated] [--api-key K] [--timeout SECONDS] [--tls-ca FILE] [--json]\n"
    "      fresh nonce → report → every check above → chat round trip → signatures.\n"
    "      URL: http:// or https:// (the certificate must chain to a system root and name the host,\n"
    "      or be in --tls-ca FILE). --timeout bounds each HTTP request (default 30).\n"
    "Exit status: 0 all checks passed (some may be not performed), 1 a check failed, 2 usage.\n";

struct Args {
  std::string command;
  std::string target;
  std::string collateral_file;
  std::optional<int64_t> now;
  std::string nonce_hex;
  std::string api_key;
  std::optional<int> timeout_s;
  std::string tls_ca_file;
  bool allow_simulated = false;
  bool dangerous_allow_debug_td = false;
  bool json = false;
};

bool Parse(const std::vector<std::string>& args, Args& out, std::string& error) {
  if (args.size() < 2) {
    error = "missing command or target";
    return false;
  }
  out.command = args[0];
  out.target = args[1];
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& v) {
      if (i + 1 >= args.size()) return false;
      v = args[++i];
      return true;
    };
    std::string v;
    if (a == "--json") {
      out.json = true;
    } else if (a == "--allow-simulated" && out.command == "service") {
      out.allow_simulated = true;
    } else if (a == "--dangerous-allow-debug-td" && out.command == "quote") {
      out.dangerous_allow_debug_td = true;
    } else if (a == "--collateral" && out.command == "quote" && value(out.collateral_file)) {
    } else if (a == "--now" && out.command == "quote" && value(v)) {
      int64_t t = 0;
      if (!absl::SimpleAtoi(v, &t) || t < 0) {
        error = "--now takes unix seconds";
        return false;
      }
      out.now = t;
    } else if (a == "--nonce" && out.command == "gpu" && value(out.nonce_hex)) {
    } else if (a == "--api-key" && out.command == "service" && value(out.api_key)) {
    } else if (a == "--tls-ca" && out.command == "service" && value(out.tls_ca_file)) {
    } else if (a == "--timeout" && out.command == "service" && value(v)) {
      int seconds = 0;
      if (!absl::SimpleAtoi(v, &seconds) || seconds <= 0 || seconds > 3600) {
        error = "--timeout takes seconds, 1 to 3600";
        return false;
      }
      out.timeout_s = seconds;
    } else {
      error = "unknown or incomplete option '" + a + "'";
      return false;
    }
  }
  return true;
}

int Print(const VerifyReport& report, const Args& args) {
  std::fputs(RenderReport(report, absl::StrCat("cai verify ", args.command, " ", args.target), args.json).c_str(),
             stdout);
  return report.checklist.AllPassed() ? 0 : 1;
}

// A file that cannot be read is a usage error (2), not a failed check.
int InputError(const absl::Status& error) {
  std::fprintf(stderr, "cai verify: %s\n", std::string(error.message()).c_str());
  return 2;
}

int VerifyQuote(const Args& args) {
  absl::StatusOr<std::string> data = ReadFileUpTo(args.target, kMaxInputFile);
  if (!data.ok()) return InputError(data.status());
  std::optional<std::string> collateral;
  if (!args.collateral_file.empty()) {
    absl::StatusOr<std::string> read = ReadFileUpTo(args.collateral_file, kMaxInputFile);
    if (!read.ok()) return InputError(read.status());
    collateral = *std::move(read);
  }
  TdxVerifyOptions options;
  options.now = args.now.value_or(static_cast<int64_t>(std::time(nullptr)));
  options.dangerous_allow_debug = args.dangerous_allow_debug_td;
  return Print(CheckQuoteFile(*data, collateral, options), args);
}

int VerifyGpu(const Args& args) {
  absl::StatusOr<std::string> data = ReadFileUpTo(args.target, kMaxInputFile);
  if (!data.ok()) return InputError(data.status());
  GpuVerifyOptions options;
  options.now = static_cast<int64_t>(std::time(nullptr));
  if (!args.nonce_hex.empty()) {
    absl::StatusOr<std::vector<uint8_t>> nonce = HexDecodeExact(args.nonce_hex, 32);
    if (!nonce.ok()) return InputError(absl::InvalidArgumentError("--nonce must be 64 hex digits"));
    std::array<uint8_t, 32> n{};
    std::copy(nonce->begin(), nonce->end(), n.begin());
    options.expected_nonce = n;
  }
  return Print(CheckGpuFile(*data, options), args);
}

int VerifyService(const Args& args) {
  ServiceCheckOptions options;
  options.allow_simulated = args.allow_simulated;
  HttpClientOptions http;
  if (args.timeout_s) http.timeout = std::chrono::seconds(*args.timeout_s);
  http.tls_ca_file = args.tls_ca_file;
  ServiceCheckResult result = CheckService(HttpClient(ServiceRootUrl(args.target), args.api_key, http), options);
  VerifyReport report;
  report.checklist = std::move(result.checklist);
  report.extra = {{"signing_address", result.signing_address}, {"model", result.model},
                  {"simulated", result.simulated}, {"response_id", result.response_id},
                  {"reply", result.reply}};
  report.summary.push_back(absl::StrCat("signing address: ", result.signing_address,
                                        result.simulated ? " (SIMULATED evidence)" : ""));
  // The text whose signature was checked, so a user sees what was signed (cut for the terminal).
  if (!result.reply.empty()) report.summary.push_back("reply: " + result.reply.substr(0, 200));
  return Print(report, args);
}

int Dispatch(const Args& args) {
  if (args.command == "quote") return VerifyQuote(args);
  if (args.command == "gpu") return VerifyGpu(args);
  if (args.command == "service") return VerifyService(args);
  std::fprintf(stderr, "cai verify: unknown command '%s'\n%s", args.command.c_str(), kUsage);
  return 2;
}

}  // namespace

int RunVerify(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  Args parsed;
  std::string error;
  if (!Parse(args, parsed, error)) {
    std::fprintf(stderr, "cai verify: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  // Every JSON read of outside input is type-checked; this is the net under a missed one, so a
  // malformed input is reported as a failure and never aborts the verifier.
  try {
    return Dispatch(parsed);
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "cai verify: malformed JSON in the input: %s\nresult: FAIL\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cai verify: %s\nresult: FAIL\n", e.what());
  }
  return 1;
}

}  // namespace cai::cli
