#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>

#include "cai/v1/inference.grpc.pb.h"

namespace cai::edge {

// The inference calls of one API request, one per prompt (a completions batch has several), read
// as one stream. Choice indices run prompt by prompt, as OpenAI numbers a batch's choices: choice
// i of prompt p is p * n + i. The calls run at once, each read on its own thread into a bounded
// queue, so a slow reader holds the generations back rather than buffering without end. (One
// prompt takes the same path: one code path, and a thread costs nothing next to a generation.)
class GenerationStreams {
 public:
  // Starts one Generate call per request; every request has the same sampling.n.
  GenerationStreams(v1::Inference::StubInterface& inference, const std::vector<v1::GenerateRequest>& requests,
                    std::chrono::system_clock::time_point deadline);
  // Cancels the calls still running and waits for their threads.
  ~GenerationStreams();
  GenerationStreams(const GenerationStreams&) = delete;
  GenerationStreams& operator=(const GenerationStreams&) = delete;

  // The next piece of any call, its index renumbered. False once every call has ended, or as
  // soon as one has failed (the others are then cancelled).
  bool Read(v1::GenerateResponse* piece);
  // Cancels every call; safe from any thread (a peer watch calls it).
  void TryCancel();
  // Ends the reading: cancels what still runs (a caller that stops before Read returned false
  // gives up the rest), waits for every call to end, and returns the first failure among them (a
  // choice index out of range is one), else OK.
  grpc::Status Finish();

 private:
  struct Call {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderInterface<v1::GenerateResponse>> reader;
  };
  void ReadCall(v1::Inference::StubInterface& inference, const v1::GenerateRequest& request, size_t prompt);
  void Fail(const grpc::Status& status);  // under mutex_

  uint32_t n_;  // choices per prompt
  std::vector<std::unique_ptr<Call>> calls_;
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  std::condition_variable changed_;  // a piece arrived, one was taken, a call ended, or closing
  std::deque<v1::GenerateResponse> pieces_;
  size_t running_ = 0;
  std::optional<grpc::Status> failure_;
  bool closing_ = false;
};

}  // namespace cai::edge
