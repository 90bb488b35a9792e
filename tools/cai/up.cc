#include "tools/cai/up.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/common/api_key_list.h"
#include "tools/cai/health.h"
#include "tools/cai/http_client.h"
#include "tools/cai/process.h"
#include "tools/cai/service_check.h"

namespace cai::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct UpOptions {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string model_dir;  // empty: the built-in demo model
  std::string device = "auto";
  std::string api_keys_file;
  std::string runtime_dir;
  std::string ready_file;
  std::string tls_cert_file;  // both set: the edge serves HTTPS
  std::string tls_key_file;
};

constexpr char kUsage[] =
    "usage: cai up [--port N] [--host ADDR] [--model DIR] [--device auto|cuda|cpu]\n"
    "              [--api-keys-file FILE] [--runtime-dir DIR] [--ready-file FILE]\n"
    "              [--tls-cert FILE --tls-key FILE]\n"
    "  --port N            edge port (default 8000; 0 picks a free port)\n"
    "  --host ADDR         edge address (default 127.0.0.1)\n"
    "  --model DIR         Hugging Face model directory (default: the built-in demo model)\n"
    "  --device D          where the model runs: cuda, cpu, or auto (default: cuda if a GPU is usable)\n"
    "  --api-keys-file F   one API key per line; also read from env CAI_API_KEYS (comma-separated)\n"
    "  --runtime-dir DIR   where the services' unix sockets live (default /tmp/cai-<uid>)\n"
    "  --ready-file FILE   once verified, write {url, signing_address, model, ...} as JSON there\n"
    "  --tls-cert F, --tls-key F  serve HTTPS with this PEM certificate chain and key\n";

volatile sig_atomic_t g_stop_signal = 0;
void OnStopSignal(int sig) { g_stop_signal = sig; }

bool ParseOptions(const std::vector<std::string>& args, UpOptions& opt, std::string& error) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) {
        error = a + " needs a value";
        return false;
      }
      out = args[++i];
      return true;
    };
    std::string port;
    if (a == "--port") {
      if (!value(port)) return false;
      if (!absl::SimpleAtoi(port, &opt.port) || opt.port < 0 || opt.port > 65535) {
        error = "--port must be a number between 0 and 65535";
        return false;
      }
    } else if (a == "--host") {
      if (!value(opt.host)) return false;
    } else if (a == "--model") {
      if (!value(opt.model_dir)) return false;
    } else if (a == "--device") {
      if (!value(opt.device)) return false;
      if (opt.device != "auto" && opt.device != "cuda" && opt.device != "cpu") {
        error = "--device must be auto, cuda or cpu";
        return false;
      }
    } else if (a == "--api-keys-file") {
      if (!value(opt.api_keys_file)) return false;
    } else if (a == "--runtime-dir") {
      if (!value(opt.runtime_dir)) return false;
    } else if (a == "--ready-file") {
      if (!value(opt.ready_file)) return false;
    } else if (a == "--tls-cert") {
      if (!value(opt.tls_cert_file)) return false;
    } else if (a == "--tls-key") {
      if (!value(opt.tls_key_file)) return false;
    } else if (a == "-h" || a == "--help") {
      error = "";
      return false;
    } else {
      error = "unknown option " + a;
      return false;
    }
  }
  if (opt.tls_cert_file.empty() != opt.tls_key_file.empty()) {
    error = "--tls-cert and --tls-key go together";
    return false;
  }
  return true;
}

fs::path SelfDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : self.parent_path();
}

fs::path CacheDir() {
  if (const char* d = std::getenv("CAI_CACHE_DIR")) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return fs::path(x) / "cai";
  if (const char* h = std::getenv("HOME")) return fs::path(h) / ".cache" / "cai";
  return fs::temp_directory_path() / "cai-cache";
}

// The first API key, from the file or CAI_API_KEYS, for the example request: the key the edge
// will accept first (it reads the same list, with the same checks); "" when none is configured.
absl::StatusOr<std::string> FirstApiKey(const UpOptions& opt) {
  const char* env = std::getenv("CAI_API_KEYS");
  absl::StatusOr<std::vector<std::string>> keys =
      ReadApiKeyList(opt.api_keys_file, env != nullptr ? env : "", kMaxApiKeys);
  if (!keys.ok()) return keys.status();
  return keys->empty() ? "" : keys->front();
}

// The example request goes to the edge this command started, on loopback: over https the
// certificate it was given is pinned, so its name need not be the loopback address.
HttpClientOptions SelfCheckHttp(const UpOptions& opt) {
  HttpClientOptions options;
  if (!opt.tls_cert_file.empty()) PinStartedEdgeCertificate(options, opt.tls_cert_file);
  return options;
}

bool WaitForGrpcHealth(const std::string& address, ChildProcess& child, int timeout_seconds) {
  auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  while (Clock::now() < deadline && !g_stop_signal) {
    if (child.HasExited()) return false;
    if (CheckGrpcHealth(address, 500).ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The edge writes its bound port to `port_file` once it listens (needed for --port 0).
int WaitForPortFile(const fs::path& port_file, ChildProcess& edge, int timeout_seconds) {
  auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  while (Clock::now() < deadline && !g_stop_signal && !edge.HasExited()) {
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

}  // namespace

int RunUp(const std::vector<std::string>& args) {
  UpOptions opt;
  std::string error;
  if (!ParseOptions(args, opt, error)) {
    std::fprintf(stderr, "%s%s", error.empty() ? "" : ("cai up: " + error + "\n").c_str(), kUsage);
    return error.empty() ? 0 : 2;
  }
  // A key list the edge would refuse is reported now, not after the model has loaded.
  const absl::StatusOr<std::string> api_key = FirstApiKey(opt);
  if (!api_key.ok()) {
    std::fprintf(stderr, "cai up: %s\n", std::string(api_key.status().message()).c_str());
    return 2;
  }
  // Automation waits for the ready file: one that cannot be written is an error now, not silence later.
  if (!opt.ready_file.empty()) {
    const fs::path dir = fs::absolute(opt.ready_file).parent_path();
    if (!fs::is_directory(dir) || ::access(dir.c_str(), W_OK) != 0) {
      std::fprintf(stderr, "cai up: cannot write the ready file %s: %s is not a writable directory\n",
                   opt.ready_file.c_str(), dir.c_str());
      return 2;
    }
  }
  const fs::path bin = SelfDir();
  if (opt.runtime_dir.empty()) opt.runtime_dir = (fs::temp_directory_path() / absl::StrCat("cai-", getuid())).string();
  std::error_code ec;
  fs::create_directories(opt.runtime_dir, ec);
  fs::permissions(opt.runtime_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  const fs::path run = opt.runtime_dir;

  // SIGINT/SIGTERM only set a flag: the supervisor loop below does the orderly shutdown.
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string model_dir = opt.model_dir;
  if (model_dir.empty()) {
    fs::path demo = CacheDir() / "demo-model";
    if (!fs::exists(demo / "config.json")) {
      std::printf("Writing the built-in demo model to %s ...\n", demo.c_str());
      fs::create_directories(demo.parent_path(), ec);
      const fs::path partial = demo.string() + absl::StrCat(".partial-", getpid());
      ChildProcess writer("cai-demo-model", {(bin / "cai-demo-model").string(), "--out", partial.string()});
      if (absl::Status s = writer.Start(); !s.ok()) {
        std::fprintf(stderr, "cai up: %s\n", s.ToString().c_str());
        return 1;
      }
      while (!writer.HasExited()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (writer.exit_description() != "exited with status 0") {
        std::fprintf(stderr, "cai up: cai-demo-model %s\n", writer.exit_description().c_str());
        return 1;
      }
      fs::rename(partial, demo, ec);
      if (ec) fs::remove_all(partial, ec);  // another `cai up` finished first: use its model
    }
    model_dir = demo.string();
  }

  const std::string signer_addr = "unix:" + (run / "signer.sock").string();
  const std::string attestor_addr = "unix:" + (run / "attestor.sock").string();
  const std::string inference_addr = "unix:" + (run / "inference.sock").string();
  const fs::path port_file = run / "edge.port";
  fs::remove(port_file, ec);

  std::vector<std::unique_ptr<ChildProcess>> children;
  auto start = [&](const std::string& name, std::vector<std::string> argv) -> ChildProcess* {
    argv.insert(argv.begin(), (bin / name).string());
    children.push_back(std::make_unique<ChildProcess>(name, std::move(argv)));
    if (absl::Status s = children.back()->Start(); !s.ok()) {
      std::fprintf(stderr, "cai up: %s\n", s.ToString().c_str());
      return nullptr;
    }
    return children.back().get();
  };
  auto stop_all = [&]() {
    for (auto it = children.rbegin(); it != children.rend(); ++it) (*it)->Stop(10);
  };
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "cai up: %s\n", why.c_str());
    stop_all();
    return 1;
  };

  std::printf("Starting cai (runtime dir %s)\n", run.c_str());
  std::fflush(stdout);
  std::vector<std::string> inference_args = {"--listen", inference_addr, "--model", model_dir, "--device",
                                             opt.device};
  if (opt.model_dir.empty()) {
    inference_args.push_back("--served_model_name");
    inference_args.push_back("cai-demo");
  }
  struct Backend {
    std::string name;
    std::vector<std::string> argv;
    std::string address;
    int timeout;
  };
  const std::vector<Backend> backends = {
      {"cai-signer", {"--listen", signer_addr}, signer_addr, 30},
      // No TDX or GPU on this machine is the normal case in development: simulation is explicit.
      {"cai-attestor", {"--listen", attestor_addr, "--allow_simulated"}, attestor_addr, 30},
      {"cai-inference", inference_args, inference_addr, 600},
  };
  for (const Backend& b : backends) {
    ChildProcess* child = start(b.name, b.argv);
    if (child == nullptr) return fail("could not start " + b.name);
    if (!WaitForGrpcHealth(b.address, *child, b.timeout)) {
      if (g_stop_signal) return fail("interrupted");
      return fail(b.name + (child->HasExited() ? " " + child->exit_description() : " did not become healthy"));
    }
  }
  std::vector<std::string> edge_args = {"--host", opt.host, "--port", std::to_string(opt.port),
                                        "--port_file", port_file.string(), "--signer", signer_addr,
                                        "--attestor", attestor_addr, "--inference", inference_addr};
  if (!opt.api_keys_file.empty()) {
    edge_args.push_back("--api_keys_file");
    edge_args.push_back(opt.api_keys_file);
  }
  if (!opt.tls_cert_file.empty()) {
    edge_args.insert(edge_args.end(), {"--tls_cert_file", opt.tls_cert_file, "--tls_key_file", opt.tls_key_file});
  }
  ChildProcess* edge = start("cai-edge", edge_args);
  if (edge == nullptr) return fail("could not start cai-edge");
  const int port = WaitForPortFile(port_file, *edge, 30);
  if (port == 0) return fail(edge->HasExited() ? "cai-edge " + edge->exit_description() : "cai-edge did not start");

  const std::string host_for_url = opt.host == "0.0.0.0" ? "127.0.0.1" : opt.host;
  const bool tls = !opt.tls_cert_file.empty();
  const std::string base_url = absl::StrCat(tls ? "https://" : "http://", host_for_url, ":", port);
  // The example request a user would make, verified the way a verifier would.
  ServiceCheckOptions check_options;
  check_options.allow_simulated = true;  // this stack runs the simulated attestor (said below)
  ServiceCheckResult check = CheckService(HttpClient(base_url, *api_key, SelfCheckHttp(opt)), check_options);
  if (!check.checklist.AllPassed()) {
    std::fprintf(stderr, "cai up: the example request did not verify:\n%s", check.checklist.ToText().c_str());
    return fail("stopping");
  }

  std::printf("\n");
  std::printf("cai is up.\n");
  std::printf("  URL:              %s/v1\n", base_url.c_str());
  std::printf("  model:            %s\n", check.model.c_str());
  std::printf("  signing address:  %s\n", check.signing_address.c_str());
  if (opt.model_dir.empty()) {
    std::printf("  The built-in demo model has random weights: its text is meaningless. Serve a real\n"
                "  checkpoint with `cai up --model /path/to/hf-model-dir`.\n");
  }
  std::printf("\n  WARNING: attestation evidence is SIMULATED (no TDX / GPU CC on this machine).\n"
              "  It exercises every check but proves nothing about hardware.\n");
  if (api_key->empty()) {
    std::printf("\n  WARNING: no API keys configured: the API is OPEN to anyone who can reach %s.\n"
                "  Use --api-keys-file FILE or CAI_API_KEYS=key1,key2.\n",
                base_url.c_str());
  }
  std::printf("\nExample request (verified just now: response %s, signature recovers %s):\n",
              check.response_id.c_str(), check.signing_address.c_str());
  const std::string auth = api_key->empty() ? "" : " -H \"Authorization: Bearer $KEY\"";
  const std::string cacert = tls ? " --cacert " + opt.tls_cert_file : "";  // the certificate may be self-signed
  std::printf("  curl%s %s/v1/chat/completions -H 'Content-Type: application/json'%s \\\n    -d '%s'\n", cacert.c_str(),
              base_url.c_str(), auth.c_str(), check.request_body.c_str());
  std::printf("  curl%s '%s/v1/signature/%s?signing_algo=ecdsa'%s\n", cacert.c_str(), base_url.c_str(),
              check.response_id.c_str(), auth.c_str());
  std::printf("Verification of that request: %s. Every check with its reason:\n"
              "  cai verify service %s --allow-simulated%s%s\n",
              check.checklist.Summary().c_str(), base_url.c_str(), tls ? (" --tls-ca " + opt.tls_cert_file).c_str() : "",
              api_key->empty() ? "" : " --api-key \"$KEY\"");
  std::printf("\nPress Ctrl-C to stop.\n");
  std::fflush(stdout);

  if (!opt.ready_file.empty()) {
    nlohmann::json ready = {{"url", base_url},         {"port", port},
                            {"model", check.model},    {"signing_address", check.signing_address},
                            {"runtime_dir", run.string()},
                            {"pids", nlohmann::json::object()}};
    for (auto& c : children) ready["pids"][c->name()] = c->pid();
    std::string tmp = opt.ready_file + ".tmp";
    std::ofstream out(tmp);
    out << ready.dump(2) << "\n";
    out.close();
    if (!out) return fail("cannot write the ready file " + tmp);
    fs::rename(tmp, opt.ready_file, ec);
    if (ec) return fail("cannot write the ready file " + opt.ready_file + ": " + ec.message());
  }

  // Supervise until a signal, or until any service dies (then stop the rest: a partial stack
  // would answer requests it cannot sign or attest).
  int exit_code = 0;
  while (!g_stop_signal) {
    for (auto& c : children) {
      if (c->HasExited()) {
        std::fprintf(stderr, "cai up: %s %s; stopping the stack\n", c->name().c_str(), c->exit_description().c_str());
        exit_code = 1;
        g_stop_signal = SIGTERM;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("Stopping cai ...\n");
  std::fflush(stdout);
  stop_all();
  fs::remove(port_file, ec);
  std::printf("Stopped.\n");
  return exit_code;
}

}  // namespace cai::cli
