#include "tools/cai/verify.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/attestation/collateral.h"
#include "lib/attestation/event_log.h"
#include "lib/attestation/gpu_verify.h"
#include "lib/attestation/tdx_verify.h"
#include "lib/common/hex.h"
#include "tools/cai/service_check.h"

namespace cai::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxInputFile = 4 << 20;

constexpr char kUsage[] =
    "usage:\n"
    "  cai verify quote FILE [--collateral FILE] [--now UNIX] [--dangerous-allow-debug-td] [--json]\n"
    "      FILE: a TDX quote, binary or hex text (\"0x\" allowed), or a dstack /GetQuote response JSON\n"
    "      (its event log is replayed too). Without --collateral the TCB status is not determined.\n"
    "      --dangerous-allow-debug-td accepts a TD in DEBUG mode, whose memory the host can read.\n"
    "  cai verify gpu FILE [--nonce HEX] [--json]\n"
    "      FILE: an nvidia_payload JSON, NVIDIA serialized evidence, or an attestation report JSON.\n"
    "  cai verify service URL [--allow-simulated] [--api-key K] [--json]\n"
    "      fresh nonce → report → every check above → chat round trip → signatures.\n"
    "Exit status: 0 all checks passed (some may be not performed), 1 a check failed, 2 usage.\n";

struct Args {
  std::string command;
  std::string target;
  std::string collateral_file;
  std::optional<int64_t> now;
  std::string nonce_hex;
  std::string api_key;
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
    } else {
      error = "unknown or incomplete option '" + a + "'";
      return false;
    }
  }
  return true;
}

std::optional<std::string> ReadFile(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  std::string data;
  data.resize(kMaxInputFile + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > kMaxInputFile) {
    error = path + " is larger than 4 MiB";
    return std::nullopt;
  }
  return data;
}

// Hex text (whitespace around it, optional 0x) or raw bytes.
std::vector<uint8_t> QuoteBytes(const std::string& data) {
  size_t b = 0, e = data.size();
  while (b < e && std::isspace(static_cast<unsigned char>(data[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(data[e - 1]))) --e;
  absl::StatusOr<std::vector<uint8_t>> hex = HexDecode(std::string_view(data).substr(b, e - b));
  if (hex.ok() && !hex->empty()) return *hex;
  return std::vector<uint8_t>(data.begin(), data.end());
}

int Finish(const Checklist& list, const Args& args, json extra, const std::string& summary) {
  if (args.json) {
    json doc = json::parse(list.ToJson());
    for (auto& [k, v] : extra.items()) doc[k] = v;
    std::printf("%s\n", doc.dump(2).c_str());
  } else {
    std::printf("cai verify %s %s\n%s%s%s\n", args.command.c_str(), args.target.c_str(), list.ToText().c_str(),
                summary.c_str(), list.AllPassed() ? "result: PASS" : "result: FAIL");
  }
  return list.AllPassed() ? 0 : 1;
}

int VerifyQuote(const Args& args) {
  std::string error;
  std::optional<std::string> data = ReadFile(args.target, error);
  if (!data) {
    std::fprintf(stderr, "cai verify: %s\n", error.c_str());
    return 2;
  }
  Checklist list;
  std::string event_log;
  std::vector<uint8_t> bytes;
  json report = json::parse(*data, nullptr, false);
  if (report.is_object() && report.contains("quote") && report["quote"].is_string()) {  // dstack /GetQuote
    bytes = QuoteBytes(report["quote"].get<std::string>());
    event_log = report.value("event_log", "");
  } else {
    bytes = QuoteBytes(*data);
  }
  absl::StatusOr<TdxQuote> quote = ParseTdxQuote(bytes);
  if (!quote.ok()) {
    list.Fail("quote parses", std::string(quote.status().message()));
    return Finish(list, args, json::object(), "");
  }
  list.Pass("quote parses", absl::StrCat("version ", quote->header.version, ", ", bytes.size(), " bytes"));

  std::optional<Collateral> collateral;
  if (!args.collateral_file.empty()) {
    std::optional<std::string> text = ReadFile(args.collateral_file, error);
    if (!text) {
      std::fprintf(stderr, "cai verify: %s\n", error.c_str());
      return 2;
    }
    absl::StatusOr<Collateral> parsed = ParseCollateral(*text);
    if (!parsed.ok()) {
      list.Fail("collateral parses", std::string(parsed.status().message()));
      return Finish(list, args, json::object(), "");
    }
    collateral = std::move(*parsed);
  }
  TdxVerifyOptions options;
  options.now = args.now.value_or(static_cast<int64_t>(std::time(nullptr)));
  options.dangerous_allow_debug = args.dangerous_allow_debug_td;
  TdxVerification result = VerifyTdxQuote(*quote, collateral, options);
  AddVerification(result.checks, "", list);
  if (!event_log.empty()) {
    absl::StatusOr<std::vector<EventLogEntry>> entries = ParseEventLog(event_log);
    if (entries.ok()) {
      AddVerification(VerifyEventLog(*entries, quote->body), "", list);
    } else {
      list.Fail("event log parses", std::string(entries.status().message()));
    }
  }
  std::string advisories;
  for (const std::string& id : result.advisory_ids) absl::StrAppend(&advisories, advisories.empty() ? "" : ", ", id);
  json extra = {{"tcb_status", result.tcb_status_text}, {"advisory_ids", result.advisory_ids}, {"now", options.now}};
  return Finish(list, args, extra,
                absl::StrCat("TCB status: ", result.tcb_status_text,
                             advisories.empty() ? "" : " (advisories: " + advisories + ")", "\n"));
}

int VerifyGpu(const Args& args) {
  std::string error;
  std::optional<std::string> data = ReadFile(args.target, error);
  if (!data) {
    std::fprintf(stderr, "cai verify: %s\n", error.c_str());
    return 2;
  }
  GpuVerifyOptions options;
  options.now = static_cast<int64_t>(std::time(nullptr));
  if (!args.nonce_hex.empty()) {
    absl::StatusOr<std::vector<uint8_t>> nonce = HexDecodeExact(args.nonce_hex, 32);
    if (!nonce.ok()) {
      std::fprintf(stderr, "cai verify: --nonce must be 64 hex digits\n");
      return 2;
    }
    std::array<uint8_t, 32> n{};
    std::copy(nonce->begin(), nonce->end(), n.begin());
    options.expected_nonce = n;
  }
  // An attestation report from the edge carries the evidence as the string nvidia_payload.
  std::string evidence = *data;
  json doc = json::parse(*data, nullptr, false);
  if (doc.is_object() && doc.contains("nvidia_payload") && doc["nvidia_payload"].is_string()) {
    evidence = doc["nvidia_payload"].get<std::string>();
  }
  Checklist list;
  absl::StatusOr<GpuEvidenceList> gpus = ParseGpuEvidenceJson(evidence);
  if (!gpus.ok()) {
    list.Fail("GPU evidence parses", std::string(gpus.status().message()));
    return Finish(list, args, json::object(), "");
  }
  list.Pass("GPU evidence parses", absl::StrCat(gpus->items.size(), " GPU(s), document nonce ", gpus->nonce_hex));
  GpuVerification result = VerifyGpuEvidence(gpus->items, options);
  AddVerification(result.checks, "", list);
  json gpu_facts = json::array();
  std::string summary;
  for (size_t i = 0; i < result.gpus.size(); ++i) {
    const GpuFacts& f = result.gpus[i];
    gpu_facts.push_back({{"driver_version", f.driver_version}, {"vbios_version", f.vbios_version},
                         {"leaf_certificate_sha256", f.leaf_sha256}});
    absl::StrAppend(&summary, "GPU ", i, ": driver ", f.driver_version, ", VBIOS ", f.vbios_version, "\n");
  }
  return Finish(list, args, {{"gpus", gpu_facts}}, summary);
}

int VerifyService(const Args& args) {
  ServiceCheckOptions options;
  options.allow_simulated = args.allow_simulated;
  ServiceCheckResult result = CheckService(HttpClient(args.target, args.api_key), options);
  json extra = {{"signing_address", result.signing_address}, {"model", result.model},
                {"simulated", result.simulated}, {"response_id", result.response_id}};
  return Finish(result.checklist, args, extra,
                absl::StrCat("signing address: ", result.signing_address, result.simulated ? " (SIMULATED evidence)" : "",
                             "\n"));
}

}  // namespace

int RunVerify(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  Args parsed;
  std::string error;
  if (!Parse(args, parsed, error)) {
    std::fprintf(stderr, "cai verify: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (parsed.command == "quote") return VerifyQuote(parsed);
  if (parsed.command == "gpu") return VerifyGpu(parsed);
  if (parsed.command == "service") return VerifyService(parsed);
  std::fprintf(stderr, "cai verify: unknown command '%s'\n%s", parsed.command.c_str(), kUsage);
  return 2;
}

}  // namespace cai::cli
