#include "services/edge/generation_streams.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/common/inference_protocol.h"
#include "lib/common/log.h"

namespace cai::edge {
namespace {

// Pieces read ahead of the HTTP writer; beyond this a call's reader waits (and gRPC flow control
// holds the generation back).
constexpr size_t kMaxQueuedPieces = 64;

}  // namespace

GenerationStreams::GenerationStreams(v1::Inference::StubInterface& inference,
                                     const std::vector<v1::GenerateRequest>& requests,
                                     std::chrono::system_clock::time_point deadline)
    : n_(std::max<uint32_t>(1, requests.at(0).sampling().n())) {
  for (const v1::GenerateRequest& request : requests) {
    Call& call = *calls_.emplace_back(std::make_unique<Call>());
    call.context.set_deadline(deadline);
    call.reader = inference.Generate(&call.context, request);
  }
  running_ = calls_.size();
  if (!threaded()) return;
  threads_.reserve(calls_.size());
  size_t started = 0;
  try {
    for (; started < calls_.size(); ++started) threads_.emplace_back([this, started] { ReadCall(started); });
  } catch (const std::exception& e) {  // out of threads (a pids limit): the calls left are ended here
    LogWarning("no thread to read a generation: ", e.what());
    {
      std::lock_guard lock(mutex_);
      Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the edge has no thread left to read the generation"));
    }
    for (size_t p = started; p < calls_.size(); ++p) EndCall(p);
  }
}

GenerationStreams::~GenerationStreams() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  TryCancel();
  for_room_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  if (!threaded() && !calls_[0]->ended) EndCall(0);
}

void GenerationStreams::ReadCall(size_t prompt) {
  Call& call = *calls_[prompt];
  AwaitAcceptance(prompt);
  v1::GenerateResponse piece;
  while (call.reader->Read(&piece)) {
    std::unique_lock lock(mutex_);
    if (!call.accepted) {  // a piece means accepted, also from a server that does not say so
      call.accepted = true;
      for_reader_.notify_one();  // WaitUntilAccepted, while this call may go on to wait for room
    }
    if (!Renumber(prompt, &piece)) break;
    for_room_.wait(lock, [&] { return pieces_.size() < kMaxQueuedPieces || closing_ || failure_; });
    if (closing_ || failure_) break;
    pieces_.push_back(std::move(piece));
    for_reader_.notify_one();
  }
  EndCall(prompt);
}

void GenerationStreams::AwaitAcceptance(size_t prompt) {
  Call& call = *calls_[prompt];
  call.reader->WaitForInitialMetadata();
  if (call.context.GetServerInitialMetadata().count(kGenerateAcceptedKey) == 0) return;
  std::lock_guard lock(mutex_);
  call.accepted = true;
  for_reader_.notify_one();
}

bool GenerationStreams::Renumber(size_t prompt, v1::GenerateResponse* piece) {
  if (piece->index() >= n_) {
    Fail(OfPrompt(prompt, grpc::Status(grpc::StatusCode::INTERNAL, "choice index out of range")));
    return false;
  }
  piece->set_index(static_cast<uint32_t>(prompt) * n_ + piece->index());
  return true;
}

void GenerationStreams::EndCall(size_t prompt) {
  Call& call = *calls_[prompt];
  grpc::Status status = call.reader->Finish();  // prompt after a cancellation
  std::lock_guard lock(mutex_);
  call.ended = true;
  call.accepted = true;  // nothing more to wait for
  if (!status.ok()) Fail(OfPrompt(prompt, status));
  --running_;
  for_reader_.notify_one();
}

grpc::Status GenerationStreams::OfPrompt(size_t prompt, const grpc::Status& status) const {
  if (calls_.size() == 1) return status;
  return grpc::Status(status.error_code(), absl::StrCat("prompt ", prompt, ": ", status.error_message()));
}

void GenerationStreams::Fail(const grpc::Status& status) {
  if (failure_) return;  // the first failure is the cause; the cancelled calls' CANCELLED is not
  failure_ = status;
  for (const std::unique_ptr<Call>& call : calls_) call->context.TryCancel();
  for_reader_.notify_one();
  for_room_.notify_all();
}

grpc::Status GenerationStreams::WaitUntilAccepted() {
  // One call's error comes before its first piece: Read and Finish report it, so there is nothing
  // to wait for here.
  if (!threaded()) return grpc::Status::OK;
  std::unique_lock lock(mutex_);
  for_reader_.wait(lock, [&] {
    return failure_ || std::all_of(calls_.begin(), calls_.end(), [](const auto& call) { return call->accepted; });
  });
  return failure_.value_or(grpc::Status::OK);
}

bool GenerationStreams::Read(v1::GenerateResponse* piece) {
  if (!threaded()) {
    Call& call = *calls_[0];
    if (call.ended) return false;
    if (call.reader->Read(piece)) {
      std::lock_guard lock(mutex_);
      if (Renumber(0, piece)) return true;
    }
    EndCall(0);
    return false;
  }
  std::unique_lock lock(mutex_);
  for_reader_.wait(lock, [&] { return !pieces_.empty() || running_ == 0 || failure_; });
  if (pieces_.empty()) return false;  // after a failure, what arrived before it still goes out
  *piece = std::move(pieces_.front());
  pieces_.pop_front();
  for_room_.notify_one();
  return true;
}

void GenerationStreams::TryCancel() {
  for (const std::unique_ptr<Call>& call : calls_) call->context.TryCancel();
}

grpc::Status GenerationStreams::Finish() {
  if (!threaded()) {
    if (!calls_[0]->ended) {  // given up early: the rest is not wanted
      TryCancel();
      EndCall(0);
    }
    std::lock_guard lock(mutex_);
    return failure_.value_or(grpc::Status::OK);
  }
  std::unique_lock lock(mutex_);
  closing_ = true;  // nothing more is read: a reader waiting for queue room stops
  if (running_ > 0) {  // given up early: the rest is not wanted
    lock.unlock();
    TryCancel();
    lock.lock();
  }
  for_room_.notify_all();
  for_reader_.wait(lock, [&] { return running_ == 0; });
  return failure_.value_or(grpc::Status::OK);
}

}  // namespace cai::edge
