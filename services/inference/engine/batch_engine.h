#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/inference/engine/generator.h"
#include "services/inference/engine/scheduler.h"

namespace cai::inference {

// A Scheduler stepping on its own thread, shared by many callers: each Generate call joins the
// running batch at the next token boundary and streams its deltas back on the caller's thread,
// so a slow reader never holds up the batch. The scheduler is touched only by its thread;
// callers talk to it through small mailboxes.
class BatchEngine {
 public:
  // Called once, on the engine thread, when the backend stops being usable (ForwardBackend::Usable,
  // a GPU whose CUDA context is gone), before any request is answered with the loss: the process
  // should then restart (cai-inference exits). It runs under the engine's lock: it must not call
  // back into the engine.
  using BackendLost = std::function<void(const absl::Status&)>;

  // Drives `backend` from its own thread; `backend` and `tokenizer` must outlive it. Once the
  // backend is lost, the requests of the failing step fail with its error, every other request in
  // flight or queued with the backend's Usable() status, and so does every later one, at once.
  BatchEngine(ForwardBackend& backend, const Tokenizer& tokenizer, const SchedulerOptions& options,
              BackendLost on_backend_lost = nullptr);
  ~BatchEngine();
  BatchEngine(const BatchEngine&) = delete;
  BatchEngine& operator=(const BatchEngine&) = delete;

  // Generate()'s contract (generator.h), batched with every other caller. When `cancelled`
  // turns true or `on_delta` returns false, the request's blocks are freed before the next step.
  absl::StatusOr<GenerationResult> Generate(const GenerationRequest& request, const DeltaCallback& on_delta,
                                            const CancelCheck& cancelled);

  int64_t num_blocks() const { return num_blocks_; }
  int64_t preemptions() const;
  int64_t steps() const;  // forward passes run so far

 private:
  // One caller's mailbox, filled by the engine thread.
  struct Call {
    GenerationRequest request;
    std::vector<OwnedDelta> deltas;
    std::optional<absl::StatusOr<GenerationResult>> result;
    bool cancel = false;
    uint64_t id = 0;  // the scheduler's, once added
  };

  void Loop();
  // After a step's results are out, under mu_: if the backend is no longer usable, tells
  // on_backend_lost_ and fails every call still running.
  void CheckBackend();

  ForwardBackend& backend_;
  const BackendLost on_backend_lost_;
  absl::Status lost_;  // the backend's Usable() once it failed; guarded by mu_
  const int64_t context_;
  const int32_t vocab_size_;
  int64_t num_blocks_ = 0;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, progress_cv_;
  std::deque<std::shared_ptr<Call>> incoming_;
  std::vector<std::shared_ptr<Call>> calls_;  // added to the scheduler; engine thread only
  int64_t preemptions_ = 0;
  int64_t steps_ = 0;
  bool stop_ = false;
  Scheduler scheduler_;  // engine thread only
  std::thread thread_;
};

}  // namespace cai::inference
