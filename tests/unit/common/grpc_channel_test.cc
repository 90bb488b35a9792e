#include "lib/common/grpc_channel.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace cai {
namespace {

// A backend that counts the calls it answers.
class CountingHealth final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override {
    ++calls;
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

struct Backend {
  CountingHealth service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  Backend() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
  }
  ~Backend() { server->Shutdown(); }
};

bool Check(grpc::Channel& channel) {
  auto stub = grpc::health::v1::Health::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  context.set_wait_for_ready(true);
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, {}, &response).ok();
}

// With round robin, replicas named by one target all get calls, not only the first that answered.
TEST(ConnectBackendTest, RoundRobinSpreadsCallsOverEveryAddressOfTheTarget) {
  Backend a, b;
  ASSERT_GT(a.port, 0);
  ASSERT_GT(b.port, 0);
  std::shared_ptr<grpc::Channel> channel =
      ConnectBackend(absl::StrCat("ipv4:127.0.0.1:", a.port, ",127.0.0.1:", b.port), LoadBalancing::kRoundRobin);
  // Round robin uses the replicas that are connected; the second may connect a little after the
  // first, so the calls go on until both have answered (or a generous bound is reached).
  int calls = 0;
  while ((a.service.calls == 0 || b.service.calls == 0) && calls < 2000) {
    ASSERT_TRUE(Check(*channel));
    ++calls;
  }
  EXPECT_GT(a.service.calls, 0);
  EXPECT_GT(b.service.calls, 0);
  // Once both are connected they take turns.
  const int a_before = a.service.calls, b_before = b.service.calls;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Check(*channel));
  EXPECT_EQ(a.service.calls - a_before, 10);
  EXPECT_EQ(b.service.calls - b_before, 10);
}

// The default sends every call to the address that answered first.
TEST(ConnectBackendTest, PickFirstKeepsToOneAddress) {
  Backend a, b;
  std::shared_ptr<grpc::Channel> channel = ConnectBackend(absl::StrCat("ipv4:127.0.0.1:", a.port, ",127.0.0.1:", b.port));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Check(*channel));
  EXPECT_EQ(a.service.calls + b.service.calls, 20);
  EXPECT_TRUE(a.service.calls == 0 || b.service.calls == 0);
}

TEST(ConnectBackendTest, OneAddressGetsEveryCall) {
  Backend a;
  std::shared_ptr<grpc::Channel> channel = ConnectBackend(absl::StrCat("127.0.0.1:", a.port), LoadBalancing::kRoundRobin);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Check(*channel));
  EXPECT_EQ(a.service.calls, 5);
}

}  // namespace
}  // namespace cai
