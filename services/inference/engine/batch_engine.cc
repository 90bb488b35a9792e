#include "services/inference/engine/batch_engine.h"

#include <chrono>

namespace cai::inference {

BatchEngine::BatchEngine(ForwardBackend& backend, const Tokenizer& tokenizer, const SchedulerOptions& options,
                         BackendLost on_backend_lost)
    : backend_(backend),
      on_backend_lost_(std::move(on_backend_lost)),
      context_(backend.context_length()),
      vocab_size_(static_cast<int32_t>(backend.config().vocab_size)),
      scheduler_(backend, &tokenizer, options) {
  num_blocks_ = scheduler_.num_blocks();
  thread_ = std::thread([this] { Loop(); });
}

BatchEngine::~BatchEngine() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

int64_t BatchEngine::preemptions() const {
  std::lock_guard lock(mu_);
  return preemptions_;
}

int64_t BatchEngine::steps() const {
  std::lock_guard lock(mu_);
  return steps_;
}

absl::StatusOr<GenerationResult> BatchEngine::Generate(const GenerationRequest& request,
                                                       const DeltaCallback& on_delta, const CancelCheck& cancelled) {
  if (absl::Status valid = ValidateGenerationRequest(request, context_, vocab_size_); !valid.ok()) return valid;
  auto call = std::make_shared<Call>();
  call->request = request;
  {
    std::lock_guard lock(mu_);
    if (!lost_.ok()) return lost_;
    incoming_.push_back(call);
  }
  work_cv_.notify_all();

  bool gone = false;  // the caller stopped reading or was cancelled
  while (true) {
    std::vector<OwnedDelta> deltas;
    std::optional<absl::StatusOr<GenerationResult>> result;
    {
      std::unique_lock lock(mu_);
      progress_cv_.wait_for(lock, std::chrono::milliseconds(50),
                            [&] { return !call->deltas.empty() || call->result.has_value(); });
      deltas = std::exchange(call->deltas, {});
      result = std::move(call->result);
    }
    for (const OwnedDelta& delta : deltas) {
      if (!gone && !on_delta(delta.View())) gone = true;
    }
    if (!gone && cancelled()) gone = true;
    if (gone) {
      {
        std::lock_guard lock(mu_);
        call->cancel = true;
      }
      work_cv_.notify_all();
      return absl::CancelledError("generation cancelled");
    }
    if (result) return *std::move(result);
  }
}

void BatchEngine::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || !incoming_.empty() || scheduler_.HasWork() || !calls_.empty(); });
    if (stop_) break;
    // Mail in: new requests join, cancelled ones give their blocks back before the step.
    for (; !incoming_.empty(); incoming_.pop_front()) {
      std::shared_ptr<Call>& call = incoming_.front();
      if (call->cancel) continue;
      if (!lost_.ok()) {
        call->result = lost_;
        continue;
      }
      absl::StatusOr<uint64_t> id = scheduler_.Add(call->request);
      if (!id.ok()) {
        call->result = id.status();
        continue;
      }
      call->id = *id;
      calls_.push_back(call);
    }
    for (const std::shared_ptr<Call>& call : calls_) {
      if (call->cancel) scheduler_.Cancel(call->id);
    }
    lock.unlock();
    const bool ran = lost_.ok() && !scheduler_.Step().chunks.empty();  // lost_: only this thread writes it
    lock.lock();
    steps_ += ran ? 1 : 0;
    // Mail out.
    preemptions_ = scheduler_.preemptions();
    for (auto it = calls_.begin(); it != calls_.end();) {
      Call& call = **it;
      for (OwnedDelta& delta : scheduler_.TakeDeltas(call.id)) call.deltas.push_back(std::move(delta));
      if (std::optional<absl::StatusOr<GenerationResult>> result = scheduler_.TakeResult(call.id)) {
        call.result = *std::move(result);
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
    // Still under mu_: callers see the loss only after on_backend_lost_ has run.
    if (ran) CheckBackend();
    progress_cv_.notify_all();
  }
}

void BatchEngine::CheckBackend() {
  if (!lost_.ok()) return;
  absl::Status usable = backend_.Usable();
  if (usable.ok()) return;
  lost_ = usable;
  // Told before any request learns of the loss (mu_ is held until the results are out), so
  // whoever sees a failed request may rely on it.
  if (on_backend_lost_) on_backend_lost_(usable);
  // The step's own requests have their results already (its error); the rest, queued, preempted
  // or waiting for blocks, fail with the loss, and their blocks go back.
  for (const std::shared_ptr<Call>& call : calls_) {
    scheduler_.Cancel(call->id, lost_);
    call->result = *scheduler_.TakeResult(call->id);
  }
  calls_.clear();
}

}  // namespace cai::inference
