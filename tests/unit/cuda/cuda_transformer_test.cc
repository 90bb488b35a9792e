// The CUDA engine against the CPU engine (its reference) on the golden models of tests/golden:
// prompt logits through the cuBLAS prefill, then 32 greedy tokens through decode steps replayed
// from CUDA graphs, every step's logits compared, in several set-ups (GoldenVariant: F32 or BF16
// weights, mat-vec or cuBLAS decodes, whole or split-K decode attention, F32 or BF16 KV cache). With the F32 golden weights the
// golden continuation itself must come out too.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>

#include "absl/strings/match.h"
#include "services/inference/engine/backends/cpu/transformer_model.h"
#include "services/inference/engine/backends/cuda/cuda_transformer.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/safetensors.h"
#include "tests/unit/cuda/cuda_golden_test_util.h"
#include "tests/unit/cuda/device_fault.h"
#include "tests/unit/inference/test_model.h"

namespace cai::inference::cuda {
namespace {

int32_t Argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// A golden model on the GPU (the checkpoint is only read while loading: the weights are copied).
absl::StatusOr<std::unique_ptr<CudaTransformer>> LoadGolden(const std::string& name, const CudaEngineOptions& options) {
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(kModels / name);
  if (!checkpoint.ok()) return checkpoint.status();
  return CudaTransformer::Load(ReadConfig(name), **checkpoint, options);
}

// One sequence's block table with its first `blocks` entries handed out in reverse (blocks - 1
// down to 0), so the table is not the identity; the rest name block 0.
std::vector<int32_t> ReversedTable(const CudaTransformer& gpu, int64_t blocks) {
  std::vector<int32_t> table(gpu.max_blocks_per_seq(), 0);
  for (size_t b = 0; b < table.size() && static_cast<int64_t>(b) < blocks; ++b) {
    table[b] = static_cast<int32_t>(blocks - 1 - static_cast<int64_t>(b));
  }
  return table;
}

// `prompt` as sequence 0 at positions 0.., in one step: the last token's logits.
absl::Status Prefill(CudaTransformer& gpu, std::span<const int32_t> prompt, std::span<const int32_t> table,
                     std::span<float> logits) {
  std::vector<int32_t> positions(prompt.size()), seq_ids(prompt.size(), 0);
  std::iota(positions.begin(), positions.end(), 0);
  const int32_t last = static_cast<int32_t>(prompt.size() - 1);
  return gpu.Forward(ForwardBatch{prompt, positions, seq_ids, table, std::span(&last, 1)}, logits);
}

// One decode of `token` at `pos` for sequence 0.
absl::Status DecodeOne(CudaTransformer& gpu, int32_t token, int32_t pos, std::span<const int32_t> table,
                       std::span<float> logits) {
  const int32_t zero = 0;
  return gpu.Forward(
      ForwardBatch{std::span(&token, 1), std::span(&pos, 1), std::span(&zero, 1), table, std::span(&zero, 1)}, logits);
}

// Without a GPU, Load checks the model first and then says there is no device: each golden model
// (the gpu tests' inputs) must get that far, so a shape the kernels refuse shows up here, in CI.
TEST(CudaTransformer, LoadWithoutDeviceSaysSo) {
  if (CheckCudaDevice().ok()) GTEST_SKIP() << "a CUDA device is present";
  for (const char* name : {"llama3", "gemma2", "phi3"}) {
    absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(kModels / name);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    const ModelConfig config = ReadConfig(name);
    absl::StatusOr<std::unique_ptr<CudaTransformer>> model = CudaTransformer::Load(config, **checkpoint);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition) << name << ": " << model.status();
    EXPECT_EQ(model.status().message().substr(0, 16), "no CUDA device: ") << name << ": " << model.status();
  }
}

TEST(CudaTransformer, RefusesWhatItCannotRunBeforeLookingForADevice) {
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(kModels / "llama3");
  const ModelConfig config = ReadConfig("llama3");
  ASSERT_TRUE(checkpoint.ok());
  ModelConfig odd = config;
  odd.head_dim = 20;  // not a multiple of 8
  absl::StatusOr<std::unique_ptr<CudaTransformer>> model = CudaTransformer::Load(odd, **checkpoint);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kUnimplemented) << model.status();
  CudaEngineOptions options;
  options.kv_cache_fraction = 0;
  model = CudaTransformer::Load(config, **checkpoint, options);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument) << model.status();
}

// How the GPU engine is set up against the CPU engine. Exact variants compute what the CPU does in
// F32 (same weights, F32 activations and KV): logits within the golden tolerance and the same
// argmax at every step, decoding following the GPU's own tokens. Loose variants round something
// to BF16 on the GPU only (the KV cache, or the activations of a BF16 GEMM): on these tiny random
// models that moves logits by up to ~0.4 (measured on the CPU engine with its KV rounded to BF16),
// enough to flip near-ties, so decoding is fed the CPU's tokens and logits must stay within 1.0;
// a wrong dtype, stride or offset gives garbage far beyond that.
struct GoldenVariant {
  const char* name;
  bool bf16_weights = false;    // both engines load a BF16 copy of the F32 golden weights
  int gemm_min_tokens = 16;     // 1: every step, decodes too, through cuBLAS inside the decode graphs
  int decode_partitions = 1;    // > 1: split-K decode attention (its merge kernel in the graphs too)
  std::optional<DType> kv_dtype = DType::kF32;
  bool exact = true;
};

const GoldenVariant kGoldenVariants[] = {
    {.name = "F32"},
    {.name = "F32CublasDecode", .gemm_min_tokens = 1},
    {.name = "F32SplitKDecode", .decode_partitions = 4},
    {.name = "Bf16WeightsMatVec", .bf16_weights = true, .gemm_min_tokens = 1 << 20},
    {.name = "Bf16WeightsCublas", .bf16_weights = true, .gemm_min_tokens = 1, .exact = false},
    {.name = "Bf16KvCache", .kv_dtype = DType::kBF16, .exact = false},
};
constexpr double kLooseTolerance = 1.0;

// A golden model's weights as BF16 (golden::RoundedToBf16), held in memory.
std::unique_ptr<Checkpoint> Bf16Copy(const std::string& name) {
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> bf16 =
      SafetensorsFile::FromBytes(golden::RoundedToBf16(name, DType::kBF16).Serialize());
  return bf16.ok() ? Checkpoint::FromFile(std::move(*bf16)) : nullptr;
}

class CudaGoldenTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(CudaGoldenTest, LogitsAndGreedyMatchCpuEngine) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const std::string& name = std::get<0>(GetParam());
  const std::filesystem::path dir = kModels / name;
  const GoldenVariant& variant = kGoldenVariants[std::get<1>(GetParam())];
  const ModelConfig config = ReadConfig(name);
  std::unique_ptr<Checkpoint> checkpoint;
  if (variant.bf16_weights) {
    checkpoint = Bf16Copy(name);
    ASSERT_NE(checkpoint, nullptr) << "cannot make a BF16 copy of " << dir;
  } else {
    absl::StatusOr<std::unique_ptr<Checkpoint>> opened = Checkpoint::Open(dir.string());
    ASSERT_TRUE(opened.ok()) << opened.status();
    checkpoint = std::move(*opened);
  }
  absl::StatusOr<std::unique_ptr<TransformerModel>> cpu = TransformerModel::Load(config, *checkpoint, 2);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  CudaEngineOptions options;
  options.max_kv_blocks = 64;
  options.max_batch_tokens = 256;
  options.max_seqs = 4;
  options.gemm_min_tokens = variant.gemm_min_tokens;
  options.decode_partitions = variant.decode_partitions;
  options.kv_dtype = variant.kv_dtype;
  absl::StatusOr<std::unique_ptr<CudaTransformer>> gpu = CudaTransformer::Load(config, *checkpoint, options);
  ASSERT_TRUE(gpu.ok()) << gpu.status();

  const golden::Golden golden = ReadGolden(name);
  const std::vector<int32_t>& prompt = golden.prompt;
  const std::vector<int32_t>& greedy = golden.greedy;
  // The golden tolerance (1e-3): both engines compute in F32 from the same weights.
  const double tolerance = variant.exact ? golden.tolerance : kLooseTolerance;

  const int mb = (*gpu)->max_blocks_per_seq();
  const std::vector<int32_t> table = ReversedTable(**gpu, 64);

  const size_t vocab = config.vocab_size;
  std::vector<float> cpu_logits(vocab), gpu_logits(vocab);
  KvCache cache = (*cpu)->NewCache();
  ASSERT_TRUE((*cpu)->Forward(prompt, cache, cpu_logits).ok());
  ASSERT_TRUE(Prefill(**gpu, prompt, table, gpu_logits).ok());
  EXPECT_LE(MaxAbsDiff(gpu_logits, cpu_logits), tolerance) << "prompt";

  std::vector<int32_t> generated;
  for (size_t step = 0; step < greedy.size(); ++step) {
    int32_t token = Argmax(cpu_logits);
    if (variant.exact) {
      ASSERT_EQ(Argmax(gpu_logits), token) << "step " << step;
    }
    generated.push_back(token);
    if (step + 1 == greedy.size()) break;
    ASSERT_TRUE((*cpu)->Forward({&token, 1}, cache, cpu_logits).ok());
    ASSERT_TRUE(DecodeOne(**gpu, token, static_cast<int32_t>(prompt.size() + step), table, gpu_logits).ok());
    EXPECT_LE(MaxAbsDiff(gpu_logits, cpu_logits), tolerance) << "step " << step;  // NaN fails too
  }
  if (variant.bf16_weights || !variant.exact) return;  // Hugging Face's greedy is for F32 weights
  EXPECT_EQ(generated, greedy);

  // On the device: greedy through ForwardSample, for two sequences in one batch (decode graph of 2).
  std::vector<int32_t> tables2(2 * mb, 0);
  for (int b = 0; b < mb && b < 32; ++b) tables2[b] = b, tables2[mb + b] = 32 + b;
  std::vector<int32_t> tokens2, positions2, seqs2;
  for (int s = 0; s < 2; ++s) {
    for (size_t i = 0; i < prompt.size(); ++i) {
      tokens2.push_back(prompt[i]);
      positions2.push_back(static_cast<int32_t>(i));
      seqs2.push_back(s);
    }
  }
  const int32_t prompt_end = static_cast<int32_t>(prompt.size());
  const std::vector<int32_t> rows = {prompt_end - 1, 2 * prompt_end - 1};
  const std::vector<DeviceSamplingParams> params(2, DeviceSamplingParams{.temperature = 0});
  absl::StatusOr<std::vector<int32_t>> next =
      (*gpu)->ForwardSample(ForwardBatch{tokens2, positions2, seqs2, tables2, rows}, params);
  ASSERT_TRUE(next.ok()) << next.status();
  for (size_t step = 0; step < 8; ++step) {
    ASSERT_EQ((*next)[0], greedy[step]) << "step " << step;
    ASSERT_EQ((*next)[1], greedy[step]) << "step " << step;
    const int32_t pos = static_cast<int32_t>(prompt.size() + step);
    const std::vector<int32_t> pos2 = {pos, pos}, seq2 = {0, 1}, rows2 = {0, 1};
    next = (*gpu)->ForwardSample(ForwardBatch{*next, pos2, seq2, tables2, rows2}, params);
    ASSERT_TRUE(next.ok()) << next.status();
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, CudaGoldenTest,
                         ::testing::Combine(::testing::Values(std::string("llama3"), std::string("gemma2"),
                                                              std::string("phi3")),
                                            ::testing::Range(0, static_cast<int>(std::size(kGoldenVariants)))),
                         [](const ::testing::TestParamInfo<CudaGoldenTest::ParamType>& info) {
                           return std::get<0>(info.param) + "_" +
                                  kGoldenVariants[std::get<1>(info.param)].name;
                         });

TEST(CudaTransformer, RejectsBadBatches) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const ModelConfig config = ReadConfig("llama3");
  CudaEngineOptions options;
  options.max_kv_blocks = 4;
  options.decode_partitions = 2;
  absl::StatusOr<std::unique_ptr<CudaTransformer>> gpu = LoadGolden("llama3", options);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  std::vector<int32_t> table((*gpu)->max_blocks_per_seq(), 0);
  const int32_t zero = 0, big_token = config.vocab_size, far = 4 * kKvBlockSize;
  std::vector<float> logits(config.vocab_size);
  auto run = [&](int32_t token, int32_t pos) { return DecodeOne(**gpu, token, pos, table, logits); };
  EXPECT_TRUE(run(zero, zero).ok());  // a decode of one token: captured in a graph, split in two
  EXPECT_EQ((*gpu)->num_decode_graphs(), 1u);
  const std::vector<float> split = logits;
  // Split-K only up to the partitions the engine was loaded for (it sized its scratch for them);
  // a change drops the captured graphs, and the same step then runs whole, to the same logits.
  EXPECT_EQ((*gpu)->SetDecodePartitions(3).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*gpu)->SetDecodePartitions(0).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*gpu)->SetDecodePartitions(1).ok());
  EXPECT_EQ((*gpu)->num_decode_graphs(), 0u);
  ASSERT_TRUE(run(zero, zero).ok());
  EXPECT_LE(MaxAbsDiff(logits, split), 1e-5);
  EXPECT_EQ(run(big_token, zero).code(), absl::StatusCode::kInvalidArgument);
  table[4] = 4;  // block 4 of a 4-block cache
  EXPECT_EQ(run(zero, far).code(), absl::StatusCode::kInvalidArgument);
  // More logit rows than tokens (the same row twice): refused, not staged past its region.
  const std::vector<int32_t> two_rows = {0, 0};
  std::vector<float> two_logits(2 * config.vocab_size);
  table[4] = 0;
  EXPECT_EQ((*gpu)->Forward(ForwardBatch{std::span(&zero, 1), std::span(&zero, 1), std::span(&zero, 1), table,
                                         two_rows},
                            two_logits)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// The first step right after loading, with a cache of tens of GB whose zeroing takes milliseconds,
// in the last blocks (where a start-to-end fill reaches last): the zeroing must have ended before
// the step writes its keys and values, or its logits come from zeros. This once raced: the fill ran
// on the legacy default stream, which the engine's non-blocking stream does not wait for.
TEST(CudaTransformer, FirstStepAfterLoadKeepsItsKeysAndValues) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const std::filesystem::path dir = kModels / "llama3";
  const ModelConfig config = ReadConfig("llama3");
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir.string());
  ASSERT_TRUE(checkpoint.ok());
  absl::StatusOr<std::unique_ptr<TransformerModel>> cpu = TransformerModel::Load(config, **checkpoint, 2);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  const golden::Golden golden = ReadGolden("llama3");
  const std::vector<int32_t>& prompt = golden.prompt;
  std::vector<float> cpu_logits(config.vocab_size), gpu_logits(config.vocab_size);
  KvCache cache = (*cpu)->NewCache();
  ASSERT_TRUE((*cpu)->Forward(prompt, cache, cpu_logits).ok());

  CudaEngineOptions options;
  options.kv_cache_fraction = 0.5;
  absl::StatusOr<std::unique_ptr<CudaTransformer>> gpu = CudaTransformer::Load(config, **checkpoint, options);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  const std::vector<int32_t> table = ReversedTable(**gpu, (*gpu)->num_kv_blocks());  // the last blocks first
  ASSERT_TRUE(Prefill(**gpu, prompt, table, gpu_logits).ok());
  EXPECT_LE(MaxAbsDiff(gpu_logits, cpu_logits), golden.tolerance);
}

// Programmatic dependent launch only moves when kernels are scheduled, never what they compute: a
// prefill and 16 graph-replayed decode steps give the same logits, bit for bit, with it and with
// plain launches (the mechanism itself is checked by DependentLaunch in dependent_launch_test.cu;
// this checks the whole step, graphs and cuBLAS included).
TEST(CudaTransformer, ProgrammaticLaunchChangesNoBit) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const ModelConfig config = ReadConfig("llama3");
  CudaEngineOptions options;
  options.max_kv_blocks = 16;    // 256 positions: the 118-token prompt and 16 decodes
  options.max_batch_tokens = 256;
  options.max_seqs = 2;
  absl::StatusOr<std::unique_ptr<CudaTransformer>> gpu = LoadGolden("llama3", options);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  const std::vector<int32_t>& prompt = ReadGolden("llama3").prompt;
  const std::vector<int32_t> table = ReversedTable(**gpu, 16);
  auto run = [&](bool programmatic) {
    EXPECT_TRUE((*gpu)->SetProgrammaticLaunch(programmatic).ok());
    EXPECT_EQ((*gpu)->num_decode_graphs(), 0u) << "graphs of the other launch mode kept";
    std::vector<float> all, logits(config.vocab_size);
    EXPECT_TRUE(Prefill(**gpu, prompt, table, logits).ok());
    all.insert(all.end(), logits.begin(), logits.end());
    for (int32_t pos = static_cast<int32_t>(prompt.size()); pos < static_cast<int32_t>(prompt.size()) + 16; ++pos) {
      EXPECT_TRUE(DecodeOne(**gpu, Argmax(logits), pos, table, logits).ok());
      all.insert(all.end(), logits.begin(), logits.end());
    }
    return all;
  };
  const std::vector<float> plain = run(false), programmatic = run(true);
  ASSERT_EQ(plain.size(), programmatic.size());
  EXPECT_TRUE(plain == programmatic) << "max difference " << MaxAbsDiff(programmatic, plain);
}

// The death test's body, in a process of its own: loads the golden Llama, steps, faults, steps twice
// more, and exits 0 only if the loss was reported as it should be.
[[noreturn]] void StepFaultAndStepAgain() {
  const ModelConfig config = ReadConfig("llama3");
  CudaEngineOptions options;
  options.max_kv_blocks = 4;
  absl::StatusOr<std::unique_ptr<CudaTransformer>> gpu = LoadGolden("llama3", options);
  if (!gpu.ok()) std::exit(2);
  const std::vector<int32_t> table((*gpu)->max_blocks_per_seq(), 0);
  std::vector<float> logits(config.vocab_size);
  auto step = [&] { return DecodeOne(**gpu, 0, 0, table, logits); };
  if (!step().ok() || !(*gpu)->usable().ok()) std::exit(3);  // healthy before the fault
  // The fault, made certain before the next step (it runs on another stream than the engine's).
  if (LaunchIllegalWrite() != cudaSuccess || cudaDeviceSynchronize() != cudaErrorIllegalAddress) std::exit(5);
  const absl::Status first = step(), second = step();
  std::fprintf(stderr, "first: %s\n", first.ToString().c_str());
  const bool reported = first.code() == absl::StatusCode::kUnavailable &&
                        absl::StrContains(first.message(), "must restart") && second == first &&
                        (*gpu)->usable() == first;
  std::exit(reported ? 0 : 4);
}

// A fault that ends the CUDA context (here a kernel writing through a null pointer) is seen by the
// next step, which returns Unavailable saying the process must restart, and so does every step
// after it, at once (usable() says so; the engine's and the service's reaction to that is tested
// in batch_engine_test). The context cannot be used again, so the body runs in a process gtest
// re-executes (not forks: CUDA is initialised).
TEST(CudaTransformerDeathTest, ALostContextIsReportedAndStays) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(StepFaultAndStepAgain(), ::testing::ExitedWithCode(0),
              "first: UNAVAILABLE: cuda: the GPU context is lost");
}

// The prefill of a head_dim-128 model (the golden models' 16 does not fit the tensor-core kernel)
// with its attention on tensor cores and on CUDA cores: the same logits but for the tensor-core
// kernel's BF16 queries and weights. Random weights with unit norms give logits of order 1; a
// tile mapped to the wrong keys or rows moves them by that much.
TEST(CudaTransformer, TensorCorePrefillMatchesCudaCores) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  ModelConfig config = ::cai::inference::testing::TinyConfig();  // widened to heads of 128
  config.hidden_size = 256;
  config.intermediate_size = 512;
  config.num_attention_heads = 2;
  config.num_key_value_heads = 1;
  config.head_dim = 128;
  config.vocab_size = 1000;
  config.max_position_embeddings = 256;
  const int tokens = 40;  // tiles of 16, 16 and 8 queries
  std::vector<int32_t> prompt(tokens), positions(tokens), seq_ids(tokens, 0), rows(tokens);
  for (int i = 0; i < tokens; ++i) prompt[i] = (i * 37) % config.vocab_size, positions[i] = i, rows[i] = i;
  std::vector<std::vector<float>> logits;
  for (bool tensor_cores : {false, true}) {
    CudaEngineOptions options;
    options.max_kv_blocks = 8;
    options.max_batch_tokens = 64;
    options.max_seqs = 64;
    options.tensor_core_attention = tensor_cores;
    options.kv_dtype = DType::kBF16;  // the cache the tensor-core kernel takes
    absl::StatusOr<std::unique_ptr<CudaTransformer>> gpu = CudaTransformer::LoadRandom(config, 7, options);
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    const std::vector<int32_t> table = ReversedTable(**gpu, 6);  // 40 tokens use blocks 5, 4, 3
    logits.emplace_back(size_t(tokens) * config.vocab_size);
    ASSERT_TRUE((*gpu)->Forward(ForwardBatch{prompt, positions, seq_ids, table, rows}, logits.back()).ok());
  }
  EXPECT_LE(MaxAbsDiff(logits[1], logits[0]), 0.05);
  EXPECT_GT(MaxAbsDiff(logits[1], logits[0]), 0.0) << "BF16 queries change some bit: the tensor-core kernel ran";
  EXPECT_GT(MaxAbsDiff(logits[0], std::vector<float>(logits[0].size(), 0.0f)), 0.3);  // logits of order 1
}

}  // namespace
}  // namespace cai::inference::cuda
