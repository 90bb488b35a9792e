#include "services/edge/generation_streams.h"

#include <algorithm>
#include <system_error>

namespace cai::edge {
namespace {

// Pieces read ahead of the HTTP writer; beyond this a call's reader waits (and gRPC flow control
// holds the generation back).
constexpr size_t kMaxQueuedPieces = 64;

}  // namespace

GenerationStreams::GenerationStreams(v1::Inference::StubInterface& inference,
                                     const std::vector<v1::GenerateRequest>& requests,
                                     std::chrono::system_clock::time_point deadline)
    : n_(requests.empty() ? 1 : std::max<uint32_t>(1, requests.front().sampling().n())) {
  for (size_t i = 0; i < requests.size(); ++i) {
    calls_.push_back(std::make_unique<Call>());
    calls_.back()->context.set_deadline(deadline);
  }
  running_ = requests.size();
  for (size_t p = 0; p < requests.size(); ++p) {
    try {
      threads_.emplace_back([this, &inference, request = requests[p], p] { ReadCall(inference, request, p); });
    } catch (const std::system_error&) {  // out of threads: the calls not started never will be
      std::lock_guard lock(mutex_);
      running_ -= requests.size() - p;
      Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the edge has no thread left to read the generation"));
      changed_.notify_all();
      break;
    }
  }
}

GenerationStreams::~GenerationStreams() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  TryCancel();
  changed_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void GenerationStreams::ReadCall(v1::Inference::StubInterface& inference, const v1::GenerateRequest& request,
                                 size_t prompt) {
  Call& call = *calls_[prompt];
  std::unique_ptr<grpc::ClientReaderInterface<v1::GenerateResponse>> reader =
      inference.Generate(&call.context, request);
  v1::GenerateResponse piece;
  while (reader->Read(&piece)) {
    std::unique_lock lock(mutex_);
    if (piece.index() >= n_) {
      Fail(grpc::Status(grpc::StatusCode::INTERNAL, "choice index out of range"));
      break;
    }
    piece.set_index(static_cast<uint32_t>(prompt) * n_ + piece.index());
    changed_.wait(lock, [&] { return pieces_.size() < kMaxQueuedPieces || closing_ || failure_; });
    if (closing_ || failure_) break;
    pieces_.push_back(std::move(piece));
    changed_.notify_all();
  }
  grpc::Status status = reader->Finish();  // prompt after a cancellation
  std::lock_guard lock(mutex_);
  if (!status.ok()) Fail(status);
  --running_;
  changed_.notify_all();
}

void GenerationStreams::Fail(const grpc::Status& status) {
  if (failure_) return;  // the first failure is the cause; the cancelled calls' CANCELLED is not
  failure_ = status;
  for (const std::unique_ptr<Call>& call : calls_) call->context.TryCancel();
}

bool GenerationStreams::Read(v1::GenerateResponse* piece) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !pieces_.empty() || running_ == 0 || failure_; });
  if (failure_ || pieces_.empty()) return false;
  *piece = std::move(pieces_.front());
  pieces_.pop_front();
  changed_.notify_all();
  return true;
}

void GenerationStreams::TryCancel() {
  for (const std::unique_ptr<Call>& call : calls_) call->context.TryCancel();
}

grpc::Status GenerationStreams::Finish() {
  std::unique_lock lock(mutex_);
  closing_ = true;  // nothing more is read: a reader waiting for queue room stops
  if (running_ > 0) {  // given up early: the rest is not wanted
    lock.unlock();
    TryCancel();
    lock.lock();
  }
  changed_.notify_all();
  changed_.wait(lock, [&] { return running_ == 0; });
  return failure_.value_or(grpc::Status::OK);
}

}  // namespace cai::edge
