#include "services/inference/engine/backends/cpu/thread_pool.h"

#include <algorithm>

namespace cai::inference {

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// Hands out chunks until none are left; shared by the caller and the workers.
void ThreadPool::RunChunks() {
  std::unique_lock lock(mu_);
  while (next_ < n_) {
    size_t begin = next_;
    size_t end = std::min(n_, begin + chunk_);
    next_ = end;
    const auto* fn = fn_;
    lock.unlock();
    (*fn)(begin, end);
    lock.lock();
  }
}

void ThreadPool::WorkerLoop(int) {
  uint64_t seen = 0;
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    ++busy_;
    lock.unlock();
    RunChunks();
    lock.lock();
    if (--busy_ == 0) done_cv_.notify_all();
  }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    fn(0, n);
    return;
  }
  std::lock_guard call_lock(call_mu_);
  {
    std::lock_guard lock(mu_);
    fn_ = &fn;
    n_ = n;
    next_ = 0;
    // A few chunks per thread balance uneven rows without much locking.
    chunk_ = std::max<size_t>(1, n / (4 * static_cast<size_t>(num_threads())));
    ++generation_;
  }
  work_cv_.notify_all();
  RunChunks();
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return next_ >= n_ && busy_ == 0; });
  fn_ = nullptr;
}

}  // namespace cai::inference
