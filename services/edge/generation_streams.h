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
// i of prompt p is p * n + i.
//
// One call is read on the caller's thread. Several run at once, each read on its own thread into
// a bounded queue, so a slow reader holds the generations back rather than buffering without end.
class GenerationStreams {
 public:
  // Starts one Generate call per request (at least one); every request has the same sampling.n.
  GenerationStreams(v1::Inference::StubInterface& inference, const std::vector<v1::GenerateRequest>& requests,
                    std::chrono::system_clock::time_point deadline);
  // Cancels the calls still running and waits for their threads.
  ~GenerationStreams();
  GenerationStreams(const GenerationStreams&) = delete;
  GenerationStreams& operator=(const GenerationStreams&) = delete;

  // Waits until inference has accepted every call as valid (it does so before a call waits for a
  // generation slot) or one has failed. OK, or the first failure: a request with a bad prompt
  // anywhere in a batch is refused before anything is answered.
  grpc::Status WaitUntilAccepted();
  // The next piece of any call, its index renumbered. False once every call has ended, or once
  // one has failed and the pieces received before are out (the other calls are then cancelled).
  bool Read(v1::GenerateResponse* piece);
  // Cancels every call; safe from any thread (a peer watch calls it).
  void TryCancel();
  // Choices of all calls together: the prompts times n.
  size_t choice_count() const { return calls_.size() * n_; }
  // Ends the reading: cancels what still runs (a caller that stops before Read returned false
  // gives up the rest), waits for every call to end, and returns the first failure among them (a
  // choice index out of range is one; in a batch the message names the prompt), else OK.
  grpc::Status Finish();

 private:
  struct Call {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderInterface<v1::GenerateResponse>> reader;
    bool accepted = false;  // inference acknowledged the request, or the call ended
    bool ended = false;     // Read returned false and Finish was called on the reader
  };
  bool threaded() const { return calls_.size() > 1; }
  // Reads call `prompt` until it ends; the body of that call's thread.
  void ReadCall(size_t prompt);
  // Marks call `prompt` accepted once its initial metadata arrives (or the call ended without).
  void AwaitAcceptance(size_t prompt);
  // The index check and renumbering; false (and a failure) for an index past n. Under mutex_.
  bool Renumber(size_t prompt, v1::GenerateResponse* piece);
  // Ends call `prompt`'s reader and records its failure, if any.
  void EndCall(size_t prompt);
  // Call `prompt`'s failure as the request's: in a batch the message names the prompt.
  grpc::Status OfPrompt(size_t prompt, const grpc::Status& status) const;
  // Records the first failure, cancels every call and wakes every waiter; under mutex_.
  void Fail(const grpc::Status& status);

  uint32_t n_;  // choices per prompt
  std::vector<std::unique_ptr<Call>> calls_;
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  // The reader (the one thread that calls the public methods) waits for a piece, an acceptance,
  // a call's end or a failure; the call threads wait for room in the queue, closing_ or a failure.
  std::condition_variable for_reader_;
  std::condition_variable for_room_;
  std::deque<v1::GenerateResponse> pieces_;
  size_t running_ = 0;
  std::optional<grpc::Status> failure_;
  bool closing_ = false;
};

}  // namespace cai::edge
