// The threaded continuous-batching engine: concurrent callers get what they would get alone.
#include "services/inference/engine/batch_engine.h"

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "services/inference/engine/backends/cpu/cpu_backend.h"
#include "services/inference/engine/loaded_model.h"
#include "tests/unit/inference/forwarding_backend.h"
#include "tests/unit/inference/test_model.h"
#include "tools/demo_model/demo_model.h"

namespace cai::inference {
namespace {

class BatchEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    ASSERT_TRUE(demo::WriteDemoModel(dir_->path(), {.seed = 3, .num_hidden_layers = 2}).ok());
    absl::StatusOr<std::unique_ptr<LoadedModel>> loaded = LoadModelDir(dir_->path(), 2);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    demo_ = loaded->release();
  }
  static void TearDownTestSuite() {
    delete demo_;
    delete dir_;
  }

  static GenerationRequest Request(const std::string& prompt, float temperature, int n) {
    GenerationRequest r;
    r.prompt = demo_->tokenizer->Encode(prompt, false);
    r.sampling.temperature = temperature;
    r.sampling.seed = 42;
    r.max_tokens = 24;
    r.n = n;
    return r;
  }

  // Texts by choice, or the status.
  static absl::StatusOr<std::vector<std::string>> Collect(
      const std::function<absl::StatusOr<GenerationResult>(const DeltaCallback&)>& run, int n) {
    std::vector<std::string> texts(n);
    absl::StatusOr<GenerationResult> result = run([&](const ChoiceDelta& d) {
      texts.at(d.index) += d.text;
      return true;
    });
    if (!result.ok()) return result.status();
    return texts;
  }

  static testing::TempDir* dir_;
  static LoadedModel* demo_;
};
testing::TempDir* BatchEngineTest::dir_ = nullptr;
LoadedModel* BatchEngineTest::demo_ = nullptr;

TEST_F(BatchEngineTest, ConcurrentCallersGetTheirAloneOutput) {
  const std::vector<GenerationRequest> requests = {
      Request("The quick brown fox", 0, 1), Request("Once upon a time", 1.0f, 2),
      Request("Hello", 0.7f, 1), Request("A much longer prompt about the sea and the sky", 0, 3)};
  std::vector<absl::StatusOr<std::vector<std::string>>> alone, batched(requests.size());
  for (const GenerationRequest& r : requests) {
    alone.push_back(Collect(
        [&](const DeltaCallback& cb) { return Generate(*demo_->model, *demo_->tokenizer, r, cb, [] { return false; }); },
        r.n));
    ASSERT_TRUE(alone.back().ok()) << alone.back().status();
  }
  CpuBackend backend(*demo_->model, 16 << 20);
  BatchEngine engine(backend, *demo_->tokenizer, {.max_batch_tokens = 16});
  std::vector<std::thread> threads;
  for (size_t i = 0; i < requests.size(); ++i) {
    threads.emplace_back([&, i] {
      batched[i] = Collect(
          [&](const DeltaCallback& cb) { return engine.Generate(requests[i], cb, [] { return false; }); },
          requests[i].n);
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(batched[i].ok()) << batched[i].status();
    EXPECT_EQ(*batched[i], *alone[i]) << "request " << i;
  }
  // Invalid requests are refused before they reach the batch.
  GenerationRequest bad = requests[0];
  bad.n = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(engine.Generate(bad, [](const ChoiceDelta&) { return true; }, [] {
                                        return false;
                                      }).status()));
}

TEST_F(BatchEngineTest, AGoneReaderGivesItsBlocksBack) {
  // Room for one whole sequence only: had the first request kept its blocks (and kept growing),
  // the second, identical one would have run it out of blocks and forced a preemption.
  GenerationRequest request = Request("The quick brown fox", 0, 1);
  request.max_tokens = 300;
  const int64_t blocks = KvBlocksFor(static_cast<int64_t>(request.prompt.size()) + 300);
  CpuBackend backend(*demo_->model, blocks * demo_->model->kv_block_bytes());
  BatchEngine engine(backend, *demo_->tokenizer, {.max_batch_tokens = 256});
  int deltas = 0;
  absl::StatusOr<GenerationResult> gone =
      engine.Generate(request, [&](const ChoiceDelta&) { return ++deltas < 2; }, [] { return false; });
  EXPECT_TRUE(absl::IsCancelled(gone.status()));
  absl::StatusOr<GenerationResult> next =
      engine.Generate(request, [](const ChoiceDelta&) { return true; }, [] { return false; });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->completion_tokens, 300);
  EXPECT_EQ(engine.preemptions(), 0);
}

// The CPU backend, losing its "device" after `good_steps` forward passes as a GPU does on an
// illegal address: that pass fails, and so does every later one, with Usable() saying why. With
// `fail_the_step` false, the last good pass succeeds and only Usable() turns after it (the
// contract says a backend does not do that; the engine must still answer every request whole).
class LosesDeviceAfter final : public testing::ForwardingBackend {
 public:
  LosesDeviceAfter(ForwardBackend& backend, int good_steps, bool fail_the_step = true)
      : ForwardingBackend(backend), good_steps_(good_steps), fail_the_step_(fail_the_step) {}
  absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) override {
    if (before_step) before_step();
    if (!lost_.ok()) return lost_;
    if (!fail_the_step_ && ++steps_ == good_steps_) {
      lost_ = absl::UnavailableError("the device is lost");
      return inner_.ForwardBatch(batch, logits);
    }
    if (fail_the_step_ && steps_++ >= good_steps_) {
      lost_ = absl::UnavailableError("the device is lost");
      return absl::InternalError("an illegal memory access was encountered");
    }
    return inner_.ForwardBatch(batch, logits);
  }
  absl::Status Usable() const override { return lost_; }

  std::function<void()> before_step;  // called first in every forward pass, on the engine thread

 private:
  const int good_steps_;
  const bool fail_the_step_;
  int steps_ = 0;
  absl::Status lost_;
};

TEST_F(BatchEngineTest, ALostBackendFailsEveryRequestAndIsReportedOnce) {
  CpuBackend cpu(*demo_->model, 16 << 20);
  LosesDeviceAfter backend(cpu, 3);
  std::atomic<int> reports{0};
  absl::Status reported;
  BatchEngine engine(backend, *demo_->tokenizer, {.max_batch_tokens = 16}, [&](const absl::Status& why) {
    reported = why;
    ++reports;
  });
  // Two long requests at once: whether a request is in the failing step, still waiting, or only
  // arrives after the loss, it fails.
  GenerationRequest long_request = Request("A much longer prompt about the sea and the sky, and the hills", 0, 2);
  long_request.max_tokens = 64;
  std::vector<absl::StatusOr<std::vector<std::string>>> results(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      results[i] = Collect(
          [&](const DeltaCallback& cb) { return engine.Generate(long_request, cb, [] { return false; }); }, 2);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& result : results) {
    ASSERT_FALSE(result.ok());
    // The failing step's own error, or the loss for a request that was not in it.
    EXPECT_TRUE(result.status().code() == absl::StatusCode::kInternal || result.status() == reported) << result.status();
  }
  EXPECT_EQ(reports.load(), 1);
  EXPECT_EQ(reported.code(), absl::StatusCode::kUnavailable) << reported;
  // Later requests fail at once, with the reason.
  absl::StatusOr<GenerationResult> later =
      engine.Generate(Request("Hello", 0, 1), [](const ChoiceDelta&) { return true; }, [] { return false; });
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status(), reported);
  EXPECT_EQ(reports.load(), 1);
}

// One request runs (max_running 1) while another waits for room: when the backend is lost, the
// running one fails with the step's error and the waiting one, never stepped, with the loss.
TEST_F(BatchEngineTest, ARequestWaitingForRoomFailsWithTheLoss) {
  CpuBackend cpu(*demo_->model, 16 << 20);
  LosesDeviceAfter backend(cpu, 3);
  std::promise<void> queued;
  std::shared_future<void> second_queued = queued.get_future().share();
  std::once_flag once;
  int steps = 0;
  backend.before_step = [&] {
    if (steps++ == 0) second_queued.wait();  // the first step waits until the second caller is in
  };
  absl::Status reported;
  BatchEngine engine(backend, *demo_->tokenizer, {.max_batch_tokens = 16, .max_running = 1},
                     [&](const absl::Status& why) { reported = why; });
  GenerationRequest request = Request("A much longer prompt about the sea and the sky", 0, 1);
  request.max_tokens = 64;
  absl::StatusOr<GenerationResult> first, second;
  std::thread a([&] {
    first = engine.Generate(request, [](const ChoiceDelta&) { return true; }, [] { return false; });
  });
  std::thread b([&] {
    second = engine.Generate(request, [](const ChoiceDelta&) { return true; }, [&] {
      std::call_once(once, [&] { queued.set_value(); });  // asked only once the call is queued
      return false;
    });
  });
  a.join();
  b.join();
  ASSERT_EQ(reported.code(), absl::StatusCode::kUnavailable) << reported;
  // Whichever was admitted first ran into the failing step; the other waited and gets the loss.
  const absl::Status& ran = first.status().code() == absl::StatusCode::kInternal ? first.status() : second.status();
  const absl::Status& waited = &ran == &first.status() ? second.status() : first.status();
  EXPECT_EQ(ran.code(), absl::StatusCode::kInternal) << ran;
  EXPECT_EQ(waited, reported);
}

// A request that arrives while the failing step runs is queued before the loss is known; the
// engine must answer it with the loss rather than admit it to a scheduler that never steps again.
TEST_F(BatchEngineTest, ARequestArrivingDuringTheFailingStepFailsWithTheLoss) {
  CpuBackend cpu(*demo_->model, 16 << 20);
  LosesDeviceAfter backend(cpu, 3);
  absl::Status reported;
  GenerationRequest request = Request("A much longer prompt about the sea and the sky", 0, 1);
  request.max_tokens = 64;
  // Declared before the engine, so they outlive its thread; and they outlive the step that starts
  // the late caller, whose cancel check runs on after it.
  absl::StatusOr<GenerationResult> late;
  std::thread late_caller;
  std::promise<void> queued;
  std::once_flag once;
  int steps = 0;
  BatchEngine engine(backend, *demo_->tokenizer, {.max_batch_tokens = 16},
                     [&](const absl::Status& why) { reported = why; });
  backend.before_step = [&] {
    if (steps++ != 3) return;  // the fourth pass is the one that fails
    late_caller = std::thread([&] {
      late = engine.Generate(request, [](const ChoiceDelta&) { return true; }, [&] {
        std::call_once(once, [&] { queued.set_value(); });  // asked only once the call is queued
        return false;
      });
    });
    queued.get_future().wait();
  };
  absl::StatusOr<GenerationResult> first =
      engine.Generate(request, [](const ChoiceDelta&) { return true; }, [] { return false; });
  late_caller.join();
  EXPECT_EQ(first.status().code(), absl::StatusCode::kInternal) << first.status();
  ASSERT_EQ(reported.code(), absl::StatusCode::kUnavailable) << reported;
  EXPECT_EQ(late.status(), reported);
}

// A request that finishes in the step after which the backend turns unusable is answered whole:
// its last text and its result, not the loss.
TEST_F(BatchEngineTest, ARequestThatEndsAsTheBackendIsLostIsAnsweredWhole) {
  GenerationRequest request = Request("Hello there", 1.0f, 1);
  request.max_tokens = 3;  // the prompt and token 1 in one step, then tokens 2 and 3
  CpuBackend alone_backend(*demo_->model, 16 << 20);
  BatchEngine alone(alone_backend, *demo_->tokenizer, {.max_batch_tokens = 256});
  absl::StatusOr<std::vector<std::string>> want = Collect(
      [&](const DeltaCallback& cb) { return alone.Generate(request, cb, [] { return false; }); }, 1);
  ASSERT_TRUE(want.ok()) << want.status();

  CpuBackend cpu(*demo_->model, 16 << 20);
  LosesDeviceAfter backend(cpu, 3, /*fail_the_step=*/false);
  int reports = 0;
  BatchEngine engine(backend, *demo_->tokenizer, {.max_batch_tokens = 256}, [&](const absl::Status&) { ++reports; });
  absl::StatusOr<std::vector<std::string>> got = Collect(
      [&](const DeltaCallback& cb) { return engine.Generate(request, cb, [] { return false; }); }, 1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, *want);
  EXPECT_EQ(reports, 1);
  EXPECT_EQ(engine.Generate(request, [](const ChoiceDelta&) { return true; }, [] { return false; }).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cai::inference
