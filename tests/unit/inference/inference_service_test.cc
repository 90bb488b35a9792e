#include "services/inference/inference_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "tests/unit/inference/test_model.h"
#include "tools/demo_model/demo_model.h"

namespace cai::inference {
namespace {

// The service over the demo model, called through an in-process gRPC channel.
class InferenceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(demo::WriteDemoModel(dir_.path(), {.seed = 3, .num_hidden_layers = 2}).ok());
    absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_.path(), 2);
    ASSERT_TRUE(model.ok()) << model.status();
    service_ = std::make_unique<InferenceService>("demo", *std::move(model), 2);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = v1::Inference::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override { server_->Shutdown(); }

  struct Stream {
    grpc::Status status;
    std::vector<v1::GenerateResponse> responses;
    std::string text;
  };
  Stream Generate(const v1::GenerateRequest& request) {
    grpc::ClientContext context;
    Stream out;
    std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader = stub_->Generate(&context, request);
    v1::GenerateResponse response;
    while (reader->Read(&response)) {
      out.text += response.text();
      out.responses.push_back(response);
    }
    out.status = reader->Finish();
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Inference::Stub> stub_;
};

TEST_F(InferenceServiceTest, ListModels) {
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  ASSERT_TRUE(stub_->ListModels(&context, {}, &response).ok());
  ASSERT_EQ(response.models_size(), 1);
  EXPECT_EQ(response.models(0).id(), "demo");
  EXPECT_EQ(response.models(0).context_length(), 2048u);
  EXPECT_EQ(response.models(0).architecture(), "LlamaForCausalLM");
  EXPECT_GT(response.models(0).created(), 0);
}

TEST_F(InferenceServiceTest, ChatStreamsTextThenFinishAndUsage) {
  v1::GenerateRequest request;
  request.set_model("demo");
  v1::ChatMessage* m = request.mutable_chat()->add_messages();
  m->set_role("user");
  m->set_content("Hello there");
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_max_tokens(12);
  Stream a = Generate(request), b = Generate(request);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  ASSERT_GE(a.responses.size(), 1u);
  const v1::GenerateResponse& last = a.responses.back();
  EXPECT_NE(last.finish_reason(), v1::FINISH_REASON_UNSPECIFIED);
  EXPECT_GT(last.usage().prompt_tokens(), 5u);
  EXPECT_LE(last.usage().completion_tokens(), 12u);
  if (last.finish_reason() == v1::FINISH_REASON_LENGTH) {
    EXPECT_EQ(last.usage().completion_tokens(), 12u);
  }
  for (size_t i = 0; i + 1 < a.responses.size(); ++i) {
    EXPECT_EQ(a.responses[i].finish_reason(), v1::FINISH_REASON_UNSPECIFIED);
    EXPECT_FALSE(a.responses[i].has_usage());
  }
  EXPECT_EQ(a.text, b.text);  // greedy
}

TEST_F(InferenceServiceTest, CompletionWithSeedIsReproducible) {
  v1::GenerateRequest request;
  request.set_model("demo");
  request.set_prompt("Verifiable computing");
  request.mutable_sampling()->set_seed(77);
  request.mutable_sampling()->set_max_tokens(8);
  Stream a = Generate(request), b = Generate(request);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.text, b.text);
  // BOS + the prompt's tokens.
  EXPECT_GT(a.responses.back().usage().prompt_tokens(), 1u);
}

TEST_F(InferenceServiceTest, ErrorsMapToStatusCodes) {
  v1::GenerateRequest request;
  request.set_model("other");
  request.set_prompt("hi");
  EXPECT_EQ(Generate(request).status.error_code(), grpc::StatusCode::NOT_FOUND);

  request.set_model("demo");
  request.clear_prompt();
  EXPECT_EQ(Generate(request).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::ChatMessage* m = request.mutable_chat()->add_messages();
  m->set_role("wizard");
  m->set_content("hi");
  Stream bad_role = Generate(request);
  EXPECT_EQ(bad_role.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(bad_role.status.error_message().empty());

  request.set_prompt("hi");
  request.mutable_sampling()->set_temperature(5);
  EXPECT_EQ(Generate(request).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InferenceServiceTest, ClientCancellationStopsTheStream) {
  v1::GenerateRequest request;
  request.set_model("demo");
  request.set_prompt("Hello");
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_max_tokens(0);  // up to the whole context
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader = stub_->Generate(&context, request);
  v1::GenerateResponse response;
  ASSERT_TRUE(reader->Read(&response));
  context.TryCancel();
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace cai::inference
