// `--device cuda` end to end below the gRPC service: the continuous-batching scheduler driving the
// GPU through CudaBackend (the same block tables as on the CPU) against the same scheduler on the
// CPU engine, on the golden models. Four requests share the steps, prefills are chunked beside
// running decodes, and every request's greedy tokens must match the CPU's; the golden prompt's
// must also match the Hugging Face continuation.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>

#include "services/inference/engine/backends/cuda/cuda_backend.h"
#include "services/inference/engine/backends/cuda/cuda_transformer.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/json_prefix.h"
#include "services/inference/engine/loaded_model.h"
#include "services/inference/engine/scheduler.h"
#include "tests/unit/cuda/cuda_golden_test_util.h"
#include "tests/unit/inference/scheduler_drain.h"

namespace cai::inference::cuda {
namespace {

using testing::DrainScheduler;
using testing::GreedyRequest;

// Every request's sampled ids, all run together on `backend`; `preemptions` (if given) counts the
// sequences the scheduler had to preempt for lack of KV blocks.
std::vector<std::vector<int32_t>> RunTogether(ForwardBackend& backend, const std::vector<GenerationRequest>& requests,
                                              int64_t* preemptions = nullptr) {
  Scheduler scheduler(backend, nullptr, {.max_batch_tokens = 16, .max_running = 8});
  std::vector<uint64_t> ids;
  for (const GenerationRequest& r : requests) {
    absl::StatusOr<uint64_t> id = scheduler.Add(r);
    EXPECT_TRUE(id.ok()) << id.status();
    ids.push_back(id.ok() ? *id : 0);
  }
  std::map<uint64_t, testing::Drained> drained = DrainScheduler(scheduler, ids);
  std::vector<std::vector<int32_t>> tokens;
  for (uint64_t id : ids) tokens.push_back(drained[id].tokens);
  if (preemptions != nullptr) *preemptions = scheduler.preemptions();
  return tokens;
}

// Every request's text (choice 0), all run together on `backend`.
std::vector<std::string> TextsTogether(ForwardBackend& backend, const Tokenizer& tokenizer,
                                       const std::vector<GenerationRequest>& requests) {
  Scheduler scheduler(backend, &tokenizer, {.max_batch_tokens = 64, .max_running = 8});
  std::vector<uint64_t> ids;
  for (const GenerationRequest& r : requests) ids.push_back(*scheduler.Add(r));
  std::map<uint64_t, testing::Drained> drained = DrainScheduler(scheduler, ids);
  std::vector<std::string> texts;
  for (uint64_t id : ids) texts.push_back(drained[id].text);
  return texts;
}

// The golden model `name` twice: on the CPU, and on the GPU with the default engine options.
void LoadOnCpuAndGpu(const char* name, std::unique_ptr<LoadedModel>* cpu, std::unique_ptr<LoadedModel>* gpu) {
  const std::filesystem::path dir = kModels / name;
  absl::StatusOr<std::unique_ptr<LoadedModel>> on_cpu = LoadModelDir(dir.string(), 2);
  absl::StatusOr<std::unique_ptr<LoadedModel>> on_gpu = LoadModelDir(dir.string(), {.device = Device::kCuda});
  ASSERT_TRUE(on_cpu.ok()) << on_cpu.status();
  ASSERT_TRUE(on_gpu.ok()) << on_gpu.status();
  *cpu = *std::move(on_cpu);
  *gpu = *std::move(on_gpu);
}

class CudaSchedulerTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CudaSchedulerTest, SameTokensAsTheCpuScheduler) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const std::filesystem::path dir = kModels / GetParam();
  absl::StatusOr<std::unique_ptr<LoadedModel>> cpu = LoadModelDir(dir.string(), 2);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  absl::StatusOr<std::unique_ptr<LoadedModel>> gpu =
      LoadModelDir(dir.string(), {.device = Device::kCuda, .max_batch_tokens = 16, .max_batch_sequences = 8});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  ASSERT_EQ((*gpu)->backend->device_name(), "cuda");
  EXPECT_EQ((*gpu)->model, nullptr);

  const golden::Golden golden = ReadGolden(GetParam());
  const std::vector<int32_t>& prompt = golden.prompt;
  const std::vector<int32_t>& greedy = golden.greedy;
  std::vector<int32_t> reversed(prompt.rbegin(), prompt.rend()), longer = prompt;
  longer.insert(longer.end(), prompt.begin(), prompt.begin() + 16);  // within the 256-position context
  const std::vector<GenerationRequest> requests = {
      GreedyRequest(prompt, static_cast<int>(greedy.size())), GreedyRequest(reversed, 24), GreedyRequest(longer, 24),
      GreedyRequest({prompt.begin(), prompt.begin() + prompt.size() / 2}, 24)};

  const std::vector<std::vector<int32_t>> on_cpu = RunTogether(*(*cpu)->backend, requests);
  const std::vector<std::vector<int32_t>> on_gpu = RunTogether(*(*gpu)->backend, requests);
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(on_gpu[i], on_cpu[i]) << "request " << i;
  EXPECT_EQ(on_gpu[0], greedy);
}

// With KV blocks for about one sequence at a time, the scheduler preempts and re-prefills into
// blocks other sequences used before (their stale keys and values still in GPU memory): the
// tokens must still be the CPU's.
TEST_P(CudaSchedulerTest, SameTokensWhenBlocksRunShort) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const std::filesystem::path dir = kModels / GetParam();
  absl::StatusOr<std::unique_ptr<LoadedModel>> cpu = LoadModelDir(dir.string(), 2);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir.string());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  CudaEngineOptions options;
  options.max_kv_blocks = 12;  // the longest request below needs up to 10 (llama3); 4-17 preemptions on the CPU
  options.max_batch_tokens = 16;
  options.max_seqs = 8;
  absl::StatusOr<std::unique_ptr<CudaTransformer>> model = CudaTransformer::Load((*cpu)->config, **checkpoint, options);
  ASSERT_TRUE(model.ok()) << model.status();
  CudaBackend gpu(*std::move(model));

  const std::vector<int32_t> prompt = ReadGolden(GetParam()).prompt;
  std::vector<int32_t> reversed(prompt.rbegin(), prompt.rend()), longer = prompt;
  longer.insert(longer.end(), prompt.begin(), prompt.begin() + 16);
  const std::vector<GenerationRequest> requests = {GreedyRequest(prompt, 24), GreedyRequest(reversed, 24), GreedyRequest(longer, 24),
                                                   GreedyRequest({prompt.begin(), prompt.begin() + prompt.size() / 2}, 24)};
  int64_t preemptions = 0;
  const std::vector<std::vector<int32_t>> on_gpu = RunTogether(gpu, requests, &preemptions);
  const std::vector<std::vector<int32_t>> on_cpu = RunTogether(*(*cpu)->backend, requests);
  EXPECT_GT(preemptions, 0) << "the test means to run the GPU short of blocks";
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(on_gpu[i], on_cpu[i]) << "request " << i;
}

// A scored prompt (echo with logprobs) on the GPU: several logit rows per sequence, beside a choice
// the GPU draws for, give the CPU's scores (within the mat-vec/cuBLAS rounding) and the same tokens.
TEST_P(CudaSchedulerTest, PromptScoresMatchTheCpu) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  std::unique_ptr<LoadedModel> cpu, gpu;
  ASSERT_NO_FATAL_FAILURE(LoadOnCpuAndGpu(GetParam(), &cpu, &gpu));
  const std::vector<int32_t> prompt = ReadGolden(GetParam()).prompt;
  GenerationRequest scored = GreedyRequest(prompt, 8);
  scored.prompt_logprobs = true;
  scored.top_logprobs = 3;
  GenerationRequest drawn = GreedyRequest({prompt.rbegin(), prompt.rend()}, 8);
  drawn.logprobs = false;  // drawn on the device, in the same steps
  drawn.prompt_logprobs = true;

  auto run = [&](ForwardBackend& backend) {
    Scheduler scheduler(backend, cpu->tokenizer.get(), {.max_batch_tokens = 32, .max_running = 8,
                                                        .max_scored_positions = 7});
    const uint64_t a = *scheduler.Add(scored), b = *scheduler.Add(drawn);
    std::map<uint64_t, testing::Drained> drained = DrainScheduler(scheduler, {a, b});
    return std::tuple{std::vector{drained[a].prompt, drained[b].prompt}, drained[a].tokens, drained[b].text};
  };
  const auto [cpu_scores, cpu_tokens, cpu_drawn_text] = run(*cpu->backend);
  const auto [gpu_scores, gpu_tokens, gpu_drawn_text] = run(*gpu->backend);
  EXPECT_EQ(gpu_tokens, cpu_tokens);
  EXPECT_EQ(gpu_drawn_text, cpu_drawn_text);  // drawn from its last row, beside the scored rows
  for (int r = 0; r < 2; ++r) {
    SCOPED_TRACE(r == 0 ? "scored with alternatives" : "scored beside a device draw");
    ASSERT_EQ(cpu_scores[r].size(), prompt.size() - 1);
    testing::ExpectScores(gpu_scores[r], cpu_scores[r], 2e-2f);
  }
}

// Without logprobs the GPU draws the tokens itself (bias and penalties applied on the device): greedy
// draws must give the CPU's text; seeded draws must not depend on the batch they share.
TEST_P(CudaSchedulerTest, TokensDrawnOnTheGpu) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  std::unique_ptr<LoadedModel> cpu, gpu;
  ASSERT_NO_FATAL_FAILURE(LoadOnCpuAndGpu(GetParam(), &cpu, &gpu));
  ASSERT_TRUE(gpu->backend->samples_on_device());
  const golden::Golden golden = ReadGolden(GetParam());
  const std::vector<int32_t>& prompt = golden.prompt;
  const std::vector<int32_t>& greedy = golden.greedy;

  GenerationRequest plain = GreedyRequest(prompt, 24), adjusted = plain;
  plain.logprobs = adjusted.logprobs = false;
  adjusted.sampling.presence_penalty = 0.8f;
  adjusted.sampling.frequency_penalty = 0.5f;
  adjusted.sampling.logit_bias = {{greedy[0], -100.0f}};  // never the golden first token
  const std::vector<GenerationRequest> greedy_requests = {plain, adjusted};
  EXPECT_EQ(TextsTogether(*gpu->backend, *gpu->tokenizer, greedy_requests),
            TextsTogether(*cpu->backend, *cpu->tokenizer, greedy_requests));

  GenerationRequest seeded = plain;
  seeded.sampling = {.temperature = 1.0f, .top_p = 0.9f, .top_k = 50, .seed = 42};
  GenerationRequest other = seeded;
  other.sampling.seed = 43;
  const std::vector<std::string> alone = TextsTogether(*gpu->backend, *gpu->tokenizer, {seeded});
  const std::vector<std::string> shared = TextsTogether(*gpu->backend, *gpu->tokenizer, {other, adjusted, seeded});
  // Alone, the seeded prompt prefills in one cuBLAS call; shared, in other chunks, whose GEMM shapes
  // may round the logits' last bits differently. A draw flips only if its uniform lands within
  // that rounding of a boundary between tokens (odds ~1e-4 over these 24 draws); the random stream
  // itself does not depend on the batch.
  EXPECT_EQ(shared[2], alone[0]);
  EXPECT_NE(shared[0], alone[0]);
  // The GPU drew these itself: the host Sampler, given the same seed and (nearly) the same logits,
  // draws from another random stream, so 24 draws at temperature 1 do not all agree. Were the GPU's
  // logits sent back and sampled on the host, they would.
  EXPECT_NE(alone[0], TextsTogether(*cpu->backend, *cpu->tokenizer, {seeded})[0]);
}

// JSON mode on the GPU: a JSON choice comes back to the host for its draw from the masked logits,
// while a plain one in the same steps is drawn on the device; greedy, both give the CPU's text.
TEST_P(CudaSchedulerTest, JsonChoicesShareStepsWithDeviceDraws) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  std::unique_ptr<LoadedModel> cpu, gpu;
  ASSERT_NO_FATAL_FAILURE(LoadOnCpuAndGpu(GetParam(), &cpu, &gpu));
  GenerationRequest plain = GreedyRequest(ReadGolden(GetParam()).prompt, 24);
  plain.logprobs = false;  // drawn on the device
  GenerationRequest json = plain;
  json.format = OutputFormat::kJsonObject;
  json.stop_token_ids = gpu->stop_token_ids;
  const std::vector<GenerationRequest> requests = {plain, json};
  const std::vector<std::string> on_gpu = TextsTogether(*gpu->backend, *gpu->tokenizer, requests);
  EXPECT_EQ(on_gpu, TextsTogether(*cpu->backend, *cpu->tokenizer, requests));
  JsonPrefix prefix;
  EXPECT_TRUE(prefix.Feed(on_gpu[1])) << on_gpu[1];
  EXPECT_NE(on_gpu[1], on_gpu[0]) << "the golden continuation is no JSON: the mask must have changed it";
}

INSTANTIATE_TEST_SUITE_P(Golden, CudaSchedulerTest, ::testing::Values("llama3", "gemma2", "phi3"));

}  // namespace
}  // namespace cai::inference::cuda
