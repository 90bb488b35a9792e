#include "lib/common/grpc_server.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/common/log.h"

namespace cai {

namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  const sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  const sigset_t set = TerminationSignals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void RequestShutdown() { kill(getpid(), SIGTERM); }

absl::Status ServeUntilSignal(const std::string& address,
                              const std::vector<grpc::Service*>& services,
                              const std::string& service_name) {
  if (absl::StartsWith(address, "unix:")) {
    std::string path = address.substr(5);
    if (absl::StartsWith(path, "//")) path = path.substr(2);
    unlink(path.c_str());  // a socket left by a previous run would make bind fail
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
  builder.SetMaxReceiveMessageSize(16 << 20);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  server->GetHealthCheckService()->SetServingStatus(service_name, true);
  server->GetHealthCheckService()->SetServingStatus("", true);
  // host:0 asked for any free port: say which, so whoever started the service can reach it.
  const bool any_port = !absl::StartsWith(address, "unix:") && absl::EndsWith(address, ":0") && selected_port > 0;
  LogInfo("listening on ", any_port ? absl::StrCat(address.substr(0, address.size() - 1), selected_port) : address);

  LogInfo("signal ", WaitForTerminationSignal(), " received, shutting down");
  server->GetHealthCheckService()->Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return absl::OkStatus();
}

}  // namespace cai
