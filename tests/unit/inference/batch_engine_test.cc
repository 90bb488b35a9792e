// The threaded continuous-batching engine: concurrent callers get what they would get alone.
#include "services/inference/engine/batch_engine.h"

#include <thread>

#include <gtest/gtest.h>

#include "services/inference/engine/backends/cpu/cpu_backend.h"
#include "services/inference/engine/loaded_model.h"
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

}  // namespace
}  // namespace cai::inference
