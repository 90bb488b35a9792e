// CPU engine throughput at batch 1: decode and prefill tokens/s of a random-weight BF16
// Llama-architecture model built in memory (default ~0.85B parameters: hidden 2048, 16 layers,
// intermediate 5632, vocab 32000), and decode as a fraction of memory bandwidth measured in the
// same run: weight bytes read per token x tokens/s / copy bandwidth of a large multi-threaded
// memcpy (bytes read + bytes written per second, as STREAM counts a copy). Then aggregate decode
// tokens/s of 1, 4 and 16 concurrent streams run by the continuous-batching scheduler (paged KV
// cache, one batched forward pass per step), and the 16-vs-1 ratio.
//
//   build/bin/cai-bench-engine-decode [--threads 0] [--decode_tokens 64] [--prompt_tokens 128]
//                                     [--stream_tokens 32]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "bench/decode_throughput.h"
#include "bench/stats.h"
#include "services/inference/engine/backends/cpu/cpu_backend.h"
#include "services/inference/engine/backends/cpu/transformer_model.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/hf_layer_weights.h"
#include "services/inference/engine/safetensors.h"
#include "services/inference/engine/safetensors_writer.h"
#include "services/inference/engine/scheduler.h"

ABSL_FLAG(int, hidden, 2048, "hidden_size");
ABSL_FLAG(int, layers, 16, "num_hidden_layers");
ABSL_FLAG(int, intermediate, 5632, "intermediate_size");
ABSL_FLAG(int, heads, 32, "num_attention_heads");
ABSL_FLAG(int, kv_heads, 8, "num_key_value_heads");
ABSL_FLAG(int, vocab, 32000, "vocab_size");
ABSL_FLAG(int, threads, 0, "engine threads (0: every core)");
ABSL_FLAG(int, prompt_tokens, 128, "prefill length");
ABSL_FLAG(int, decode_tokens, 64, "decode steps measured after the prefill");
ABSL_FLAG(int, copy_mib, 1024, "size of the memcpy bandwidth buffer");
ABSL_FLAG(int, stream_tokens, 32, "decode tokens per stream in the concurrent-streams figure (0: skip it)");

namespace {

using cai::inference::ThreadPool;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Best of a few multi-threaded copies of a buffer far larger than the caches, with the engine's
// thread count: the bandwidth decode could at best use. Counts bytes read plus bytes written.
double CopyBandwidth(size_t bytes, ThreadPool& pool) {
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  const size_t block = 1 << 20;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = Clock::now();
    pool.ParallelFor(bytes / block, [&](size_t begin, size_t end) {
      std::memcpy(dst.data() + begin * block, src.data() + begin * block, (end - begin) * block);
    });
    best = std::max(best, 2.0 * static_cast<double>(bytes) / SecondsSince(t0));
  }
  if (dst[bytes / 2] != 1) std::abort();
  return best;
}

#if defined(__x86_64__)
// Independent F32 multiply-adds on registers only, 16 chains: a core's FMA throughput. AVX-512
// where the CPU has it (the width the batched matmul uses), else AVX2.
__attribute__((target("avx512f"))) float FmaChains512(int64_t iterations) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  for (int i = 1; i < 16; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  float lanes[16];
  _mm512_storeu_ps(lanes, acc[0]);
  return lanes[0] + lanes[15];
}

__attribute__((target("avx2,fma"))) float FmaChains256(int64_t iterations) {
  __m256 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  for (int i = 1; i < 16; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, acc[0]);
  return lanes[0] + lanes[7];
}
#endif

// Best of a few runs of FmaChains on every thread of `pool`: the F32 FLOP/s ceiling of a
// compute-bound prefill or batched decode. 0 where unknown (not x86-64).
double FmaPeak(ThreadPool& pool) {
#if defined(__x86_64__)
  const bool wide = __builtin_cpu_supports("avx512f");
  const int64_t iterations = 20'000'000;
  const double lanes = wide ? 16 : 8;
  double best = 0;
  std::vector<float> sink(static_cast<size_t>(pool.num_threads()));
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = Clock::now();
    pool.ParallelFor(sink.size(), [&](size_t begin, size_t end) {
      for (size_t t = begin; t < end; ++t) sink[t] = wide ? FmaChains512(iterations) : FmaChains256(iterations);
    });
    const double flops = static_cast<double>(sink.size()) * static_cast<double>(iterations) * 16 * lanes * 2;
    best = std::max(best, flops / SecondsSince(t0));
  }
  if (sink[0] != sink[0]) std::abort();  // keeps the chains' results live
  return best;
#else
  return 0;
#endif
}

// Random BF16 weights (scaled like an nn.Linear init) written straight into a safetensors image.
std::string RandomCheckpoint(const cai::inference::ModelConfig& c) {
  cai::inference::SafetensorsWriter writer;
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool norm) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::string bytes(static_cast<size_t>(n) * 2, '\0');
    float scale = norm ? 0.0f : 1.0f / std::sqrt(static_cast<float>(shape.back()));
    for (int64_t i = 0; i < n; ++i) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;  // xorshift64
      float u = static_cast<float>(state >> 40) * 0x1p-24f * 2 - 1;      // [-1, 1)
      uint16_t bits = cai::inference::F32ToBf16((norm ? 1.0f : 0.0f) + scale * 1.7f * u);
      std::memcpy(bytes.data() + 2 * i, &bits, 2);
    }
    writer.AddRaw(name, "BF16", std::move(shape), std::move(bytes));
  };
  for (const cai::inference::HfTensorSpec& t : cai::inference::LlamaTensorSpecs(c)) add(t.name, t.shape, t.is_norm);
  return writer.Serialize();
}

// Aggregate decode tokens/s of `streams` greedy streams (16-token prompts) run together by the
// scheduler: generated tokens / seconds of the steps that only decode.
double StreamsThroughput(const cai::inference::TransformerModel& model, int streams, int tokens) {
  constexpr int kPromptTokens = 16;
  cai::inference::CpuBackend backend(
      model, streams * cai::inference::KvBlocksFor(kPromptTokens + tokens) * model.kv_block_bytes());
  cai::inference::SchedulerOptions options;
  options.max_batch_tokens = std::max(256, streams * kPromptTokens);
  cai::inference::Scheduler scheduler(backend, nullptr, options);
  for (int s = 0; s < streams; ++s) {
    cai::inference::GenerationRequest request;
    for (int i = 0; i < kPromptTokens; ++i) request.prompt.push_back((s * 131 + i * 7919 + 13) % model.config().vocab_size);
    request.sampling.temperature = 0;
    request.max_tokens = tokens;
    if (!scheduler.Add(request).ok()) std::abort();
  }
  return cai::bench::DecodeThroughput(scheduler);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  cai::inference::ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.hidden_size = absl::GetFlag(FLAGS_hidden);
  c.num_hidden_layers = absl::GetFlag(FLAGS_layers);
  c.intermediate_size = absl::GetFlag(FLAGS_intermediate);
  c.num_attention_heads = absl::GetFlag(FLAGS_heads);
  c.num_key_value_heads = absl::GetFlag(FLAGS_kv_heads);
  c.head_dim = c.hidden_size / c.num_attention_heads;
  c.query_pre_attn_scalar = c.head_dim;
  c.vocab_size = absl::GetFlag(FLAGS_vocab);
  c.rope_theta = 10000;
  const int prompt_tokens = absl::GetFlag(FLAGS_prompt_tokens), decode_tokens = absl::GetFlag(FLAGS_decode_tokens);
  c.max_position_embeddings = std::max(prompt_tokens, 16) + decode_tokens + 1;  // streams use 16-token prompts
  if (c.hidden_size % c.num_attention_heads != 0 || c.num_attention_heads % c.num_key_value_heads != 0 ||
      prompt_tokens < 1 || decode_tokens < 1) {
    std::fprintf(stderr, "inconsistent shape flags\n");
    return 2;
  }
  const int threads = absl::GetFlag(FLAGS_threads);
  std::printf("command: cai-bench-engine-decode --hidden %d --layers %d --intermediate %d --heads %d --kv_heads %d "
              "--vocab %d --threads %d --prompt_tokens %d --decode_tokens %d --copy_mib %d --stream_tokens %d\n",
              c.hidden_size, c.num_hidden_layers, c.intermediate_size, c.num_attention_heads, c.num_key_value_heads,
              c.vocab_size, threads, prompt_tokens, decode_tokens, absl::GetFlag(FLAGS_copy_mib),
              absl::GetFlag(FLAGS_stream_tokens));

  auto t0 = Clock::now();
  absl::StatusOr<std::unique_ptr<cai::inference::SafetensorsFile>> file =
      cai::inference::SafetensorsFile::FromBytes(RandomCheckpoint(c));
  if (!file.ok()) {
    std::fprintf(stderr, "%s\n", file.status().ToString().c_str());
    return 1;
  }
  std::shared_ptr<const cai::inference::Checkpoint> checkpoint =
      cai::inference::Checkpoint::FromFile(*std::move(file));
  absl::StatusOr<std::unique_ptr<cai::inference::TransformerModel>> loaded =
      cai::inference::TransformerModel::Load(c, checkpoint, threads);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  const cai::inference::TransformerModel& model = **loaded;
  std::printf("model: %.3f B parameters, BF16, %d threads, built in %.1f s; %.3f GB of weights read per decode token\n",
              model.num_parameters() / 1e9, model.num_threads(), SecondsSince(t0), model.decode_weight_bytes() / 1e9);

  ThreadPool copy_pool(model.num_threads());
  const double bandwidth = CopyBandwidth(static_cast<size_t>(absl::GetFlag(FLAGS_copy_mib)) << 20, copy_pool);
  std::printf("memcpy bandwidth (read + write, %d threads): %.2f GB/s\n", model.num_threads(), bandwidth / 1e9);
  const double peak = FmaPeak(copy_pool);
  std::printf("F32 FMA peak (%d threads, registers only): %.1f GFLOP/s\n", model.num_threads(), peak / 1e9);
  // Multiply-adds per token: every layer matrix once (the output head runs once per prompt).
  const double layer_flops = 2.0 * (static_cast<double>(model.decode_weight_bytes()) / 2 -
                                    static_cast<double>(c.vocab_size) * c.hidden_size);

  std::vector<int32_t> prompt(prompt_tokens);
  for (int i = 0; i < prompt_tokens; ++i) prompt[i] = (i * 7919 + 13) % c.vocab_size;
  std::vector<float> logits(c.vocab_size);
  std::vector<double> prefill_seconds;
  cai::inference::KvCache cache = model.NewCache();
  for (int rep = 0; rep < 3; ++rep) {
    cache = model.NewCache();
    auto start = Clock::now();
    if (!model.Forward(prompt, cache, logits).ok()) return 1;
    prefill_seconds.push_back(SecondsSince(start));
  }
  const double prefill = cai::bench::Percentile(prefill_seconds, 50);
  std::printf("prefill: %d tokens in %.3f s (median of 3) = %.1f tokens/s = %.2f of the FMA peak\n", prompt_tokens,
              prefill, prompt_tokens / prefill, peak > 0 ? layer_flops * prompt_tokens / prefill / peak : 0.0);

  std::vector<double> step_seconds;
  for (int i = 0; i < decode_tokens; ++i) {
    int32_t token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    auto start = Clock::now();
    if (!model.Forward({&token, 1}, cache, logits).ok()) return 1;
    step_seconds.push_back(SecondsSince(start));
  }
  double total = 0;
  for (double s : step_seconds) total += s;
  const double tokens_per_second = decode_tokens / total;
  const double used = static_cast<double>(model.decode_weight_bytes()) * tokens_per_second;
  std::printf("decode: %d tokens, %.2f tokens/s (p50 %.2f ms, p99 %.2f ms per token)\n", decode_tokens,
              tokens_per_second, 1e3 * cai::bench::Percentile(step_seconds, 50),
              1e3 * cai::bench::Percentile(step_seconds, 99));
  std::printf("decode weight traffic: %.2f GB/s = %.2f of the measured memcpy bandwidth\n", used / 1e9,
              used / bandwidth);

  if (const int stream_tokens = absl::GetFlag(FLAGS_stream_tokens); stream_tokens > 0) {
    double one = 0;
    for (int streams : {1, 4, 16}) {
      const double aggregate = StreamsThroughput(model, streams, std::min(stream_tokens, decode_tokens));
      if (streams == 1) one = aggregate;
      std::printf("continuous batching: %2d streams, %.2f aggregate decode tokens/s (%.2f per stream, %.2f of the "
                  "FMA peak)\n",
                  streams, aggregate, aggregate / streams,
                  peak > 0 ? 2.0 * static_cast<double>(model.decode_weight_bytes()) / 2 * aggregate / peak : 0.0);
      if (streams == 16) std::printf("continuous batching: 16 streams / 1 stream = %.2fx\n", aggregate / one);
    }
  }
  return 0;
}
