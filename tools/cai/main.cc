// The `cai` command-line tool: run the stack and verify a deployment or its evidence.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/cai/health.h"
#include "tools/cai/up.h"
#include "tools/cai/verify.h"

namespace {

constexpr char kUsage[] =
    "usage: cai <command> [options]\n"
    "commands:\n"
    "  up        start the whole stack (signer, attestor, inference, edge) in the foreground\n"
    "  verify    verify evidence: `cai verify quote FILE`, `cai verify gpu FILE`, `cai verify service URL`\n"
    "  health    check a service: `cai health grpc ADDRESS` or `cai health http URL`\n"
    "  version   print the version\n"
    "Run `cai <command> --help` for its options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "up") return cai::cli::RunUp(args);
  if (command == "health") return cai::cli::RunHealth(args);
  if (command == "verify") return cai::cli::RunVerify(args);
  if (command == "version" || command == "--version") {
    std::printf("cai %s\n", CAI_VERSION);
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "cai: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}
