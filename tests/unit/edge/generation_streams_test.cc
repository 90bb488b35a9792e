// GenerationStreams over a real in-process gRPC inference service whose answer depends on the
// prompt: the pieces of several calls arrive as one stream, renumbered, and a failure or an early
// stop ends every call.
#include "services/edge/generation_streams.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "lib/common/inference_protocol.h"

namespace cai::edge {
namespace {

// Prompt "fail": INVALID_ARGUMENT before any piece, once an endless call runs. "endless": pieces
// until cancelled. "bad": a piece with an index past n. "broken": two pieces, then INTERNAL.
// Any other prompt: for each choice i, the pieces "<prompt>.i.0" and "<prompt>.i.1", the last one
// of each choice finishing it, and usage on the very last. Every prompt but "fail" is accepted
// with the metadata inference sends; "legacy-<prompt>" answers as <prompt> without it (as a
// server from before the metadata).
class PromptInference final : public v1::Inference::Service {
 public:
  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::GenerateResponse>* writer) override {
    const bool legacy = request->prompt().starts_with("legacy-");
    const std::string prompt = legacy ? request->prompt().substr(7) : request->prompt();
    const uint32_t n = std::max<uint32_t>(1, request->sampling().n());
    v1::GenerateResponse piece;
    if (prompt == "fail") {
      while (started_.load() == 0 && !context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "prompt token 99 is unknown");
    }
    if (!legacy) {
      context->AddInitialMetadata(kGenerateAcceptedKey, "1");
      writer->SendInitialMetadata();
    }
    if (prompt == "broken") {
      for (const char* text : {"one", "two"}) {
        piece.set_text(text);
        writer->Write(piece);
      }
      return grpc::Status(grpc::StatusCode::INTERNAL, "the device is lost");
    }
    if (prompt == "bad") {
      piece.set_index(n);
      writer->Write(piece);
      return grpc::Status::OK;
    }
    if (prompt == "endless") {
      ++started_;
      while (!context->IsCancelled()) {
        piece.set_text("x");
        if (!writer->Write(piece)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ++cancelled_;
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
    for (uint32_t part = 0; part < 2; ++part) {
      for (uint32_t i = 0; i < n; ++i) {
        piece.Clear();
        piece.set_index(i);
        piece.set_text(prompt + "." + std::to_string(i) + "." + std::to_string(part));
        if (part == 1) piece.set_finish_reason(v1::FINISH_REASON_STOP);
        if (part == 1 && i == n - 1) {
          piece.mutable_usage()->set_prompt_tokens(3);
          piece.mutable_usage()->set_completion_tokens(2 * n);
        }
        writer->Write(piece);
      }
    }
    return grpc::Status::OK;
  }

  std::atomic<int> started_{0};    // endless calls that began
  std::atomic<int> cancelled_{0};  // endless calls that saw their cancellation
};

class GenerationStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&inference_);
    server_ = builder.BuildAndStart();
    stub_ = v1::Inference::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override { server_->Shutdown(); }

  static std::vector<v1::GenerateRequest> Requests(const std::vector<std::string>& prompts, uint32_t n) {
    std::vector<v1::GenerateRequest> out;
    for (const std::string& prompt : prompts) {
      v1::GenerateRequest& request = out.emplace_back();
      request.set_prompt(prompt);
      request.mutable_sampling()->set_n(n);
    }
    return out;
  }
  static std::chrono::system_clock::time_point Deadline() {
    return std::chrono::system_clock::now() + std::chrono::seconds(60);
  }

  PromptInference inference_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Inference::Stub> stub_;
};

TEST_F(GenerationStreamsTest, ChoicesOfABatchAreNumberedPromptByPrompt) {
  GenerationStreams streams(*stub_, Requests({"a", "b", "c"}, 2), Deadline());
  std::map<uint32_t, std::vector<std::string>> texts;  // by choice index, in arrival order
  uint32_t prompt_tokens = 0, completion_tokens = 0;
  int finished = 0;
  v1::GenerateResponse piece;
  while (streams.Read(&piece)) {
    texts[piece.index()].push_back(piece.text());
    finished += piece.finish_reason() == v1::FINISH_REASON_STOP;
    prompt_tokens += piece.usage().prompt_tokens();
    completion_tokens += piece.usage().completion_tokens();
  }
  ASSERT_TRUE(streams.Finish().ok());
  const std::vector<std::string> prompts = {"a", "b", "c"};
  ASSERT_EQ(texts.size(), 6u);
  for (uint32_t p = 0; p < 3; ++p) {
    for (uint32_t i = 0; i < 2; ++i) {
      const std::string prefix = prompts[p] + "." + std::to_string(i);
      EXPECT_EQ(texts[p * 2 + i], (std::vector<std::string>{prefix + ".0", prefix + ".1"}));
    }
  }
  EXPECT_EQ(finished, 6);
  EXPECT_EQ(prompt_tokens, 9u);
  EXPECT_EQ(completion_tokens, 12u);
}

TEST_F(GenerationStreamsTest, OnePromptKeepsItsIndices) {
  GenerationStreams streams(*stub_, Requests({"a"}, 3), Deadline());
  std::vector<uint32_t> indices;
  v1::GenerateResponse piece;
  while (streams.Read(&piece)) indices.push_back(piece.index());
  ASSERT_TRUE(streams.Finish().ok());
  EXPECT_EQ(indices, (std::vector<uint32_t>{0, 1, 2, 0, 1, 2}));
}

// The failing call's status is the answer, not the CANCELLED of the calls it brought down.
TEST_F(GenerationStreamsTest, AFailingCallEndsTheOthersWithItsStatus) {
  GenerationStreams streams(*stub_, Requests({"endless", "fail"}, 1), Deadline());
  v1::GenerateResponse piece;
  while (streams.Read(&piece)) {
  }
  grpc::Status status = streams.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(), "prompt 1: prompt token 99 is unknown");
  server_->Shutdown();  // waits for the endless handler, which ends only once cancelled
  EXPECT_EQ(inference_.cancelled_.load(), 1);
}

TEST_F(GenerationStreamsTest, AnIndexPastNIsAnInternalError) {
  for (const std::vector<std::string>& prompts : {std::vector<std::string>{"bad"}, {"a", "bad"}}) {
    GenerationStreams streams(*stub_, Requests(prompts, 2), Deadline());
    v1::GenerateResponse piece;
    while (streams.Read(&piece)) EXPECT_LT(piece.index(), 4u);
    grpc::Status status = streams.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_EQ(status.error_message(), prompts.size() == 1 ? "choice index out of range"
                                                          : "prompt 1: choice index out of range");
  }
}

// What arrived before a call failed still goes out, then the failure: alone or in a batch.
TEST_F(GenerationStreamsTest, PiecesBeforeAFailureAreDelivered) {
  for (const std::vector<std::string>& prompts : {std::vector<std::string>{"broken"}, {"broken", "broken"}}) {
    GenerationStreams streams(*stub_, Requests(prompts, 1), Deadline());
    std::vector<std::string> texts(prompts.size());
    v1::GenerateResponse piece;
    while (streams.Read(&piece)) texts.at(piece.index()) += piece.text();
    grpc::Status status = streams.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_NE(status.error_message().find("the device is lost"), std::string::npos);
    // The call whose failure came first had queued both its pieces before failing (in a batch
    // the other may have been cancelled before its own).
    EXPECT_NE(std::find(texts.begin(), texts.end(), "onetwo"), texts.end()) << texts[0];
  }
}

// A batch is accepted once inference accepted every call, and refused when it refused one.
TEST_F(GenerationStreamsTest, ABatchIsAcceptedOnlyWhenEveryCallIs) {
  {
    GenerationStreams streams(*stub_, Requests({"endless", "fail"}, 1), Deadline());
    grpc::Status accepted = streams.WaitUntilAccepted();
    EXPECT_EQ(accepted.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(accepted.error_message(), "prompt 1: prompt token 99 is unknown");
  }
  {
    // Running without end, both accepted: the wait does not wait for any generation to end.
    GenerationStreams streams(*stub_, Requests({"endless", "endless"}, 1), Deadline());
    EXPECT_TRUE(streams.WaitUntilAccepted().ok());
  }
  {
    // A server that does not say so is taken to accept with its first piece (an endless one:
    // waiting for its end would never return).
    GenerationStreams streams(*stub_, Requests({"legacy-endless", "a"}, 1), Deadline());
    EXPECT_TRUE(streams.WaitUntilAccepted().ok());
  }
}

// Ended without Finish, or cancelled before any call got going: nothing hangs.
TEST_F(GenerationStreamsTest, DestroyingOrCancellingEarlyEndsEveryCall) {
  {
    GenerationStreams streams(*stub_, Requests({"endless", "endless"}, 1), Deadline());
    v1::GenerateResponse piece;
    while (inference_.started_.load() < 2) ASSERT_TRUE(streams.Read(&piece));
  }  // the readers may be waiting for queue room
  {
    GenerationStreams streams(*stub_, Requests({"endless", "endless"}, 1), Deadline());
    streams.TryCancel();
    v1::GenerateResponse piece;
    while (streams.Read(&piece)) {
    }
    EXPECT_EQ(streams.Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  {
    GenerationStreams streams(*stub_, Requests({"endless"}, 1), Deadline());
    v1::GenerateResponse piece;
    ASSERT_TRUE(streams.Read(&piece));
  }  // one call, read on this thread, never finished by the caller
  server_->Shutdown();
  EXPECT_EQ(inference_.cancelled_.load(), inference_.started_.load());
}

// A reader that stops early (its client left) gives up every call, also one whose pieces are
// waiting for room in the queue.
TEST_F(GenerationStreamsTest, FinishingEarlyCancelsEveryCall) {
  GenerationStreams streams(*stub_, Requests({"endless", "endless"}, 1), Deadline());
  v1::GenerateResponse piece;
  while (inference_.started_.load() < 2) ASSERT_TRUE(streams.Read(&piece));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // not needed to pass: lets the queue fill
  EXPECT_EQ(streams.Finish().error_code(), grpc::StatusCode::CANCELLED);
  server_->Shutdown();
  EXPECT_EQ(inference_.cancelled_.load(), 2);
}

TEST_F(GenerationStreamsTest, TryCancelFromAnotherThreadEndsTheRead) {
  GenerationStreams streams(*stub_, Requests({"endless"}, 1), Deadline());
  v1::GenerateResponse piece;
  ASSERT_TRUE(streams.Read(&piece));
  std::thread watch([&] { streams.TryCancel(); });  // as the peer watch does when the client leaves
  while (streams.Read(&piece)) {
  }
  watch.join();
  EXPECT_EQ(streams.Finish().error_code(), grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace cai::edge
