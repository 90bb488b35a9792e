// CUDA engine on one GPU (H100/H200): a Llama-3.1-8B-shaped model with random BF16 weights made on
// the device. Each figure is a ratio against a reference measured in the same run: copy bandwidth
// for decode, a cuBLAS GEMM's rate for time to first token, the plain variant for each speed
// feature. What it prints, in order, is listed once, in bench/README.md ("CUDA engine").
//
//   build-cuda/bin/cai-bench-cuda-decode [--streams 1,8,32,128] [--prompt_tokens 2048] [--context 512]
//                                        [--long_context 8000]
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/decode_throughput.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "services/inference/engine/backends/cuda/cuda_backend.h"
#include "services/inference/engine/backends/cuda/cuda_transformer.h"
#include "services/inference/engine/scheduler.h"

ABSL_FLAG(int, hidden, 4096, "hidden_size");
ABSL_FLAG(int, layers, 32, "num_hidden_layers");
ABSL_FLAG(int, intermediate, 14336, "intermediate_size");
ABSL_FLAG(int, heads, 32, "num_attention_heads");
ABSL_FLAG(int, kv_heads, 8, "num_key_value_heads");
ABSL_FLAG(int, vocab, 128256, "vocab_size");
ABSL_FLAG(std::string, streams, "1,8,32,128", "decode batch sizes for aggregate throughput");
ABSL_FLAG(int, context, 512, "prompt positions each stream holds before the timed decode steps");
ABSL_FLAG(int, decode_steps, 64, "decode steps timed per batch size");
ABSL_FLAG(int, prompt_tokens, 2048, "prompt length for time to first token");
ABSL_FLAG(int, long_context, 8000, "context of the split-K sweep (batch-1 decode, 1..16 key ranges per head)");
ABSL_FLAG(int, copy_mib, 4096, "size of each buffer of the bandwidth copy");
ABSL_FLAG(double, kv_cache_fraction, 0.5, "share of free device memory for the KV cache");

namespace {

using cai::inference::cuda::CudaTransformer;
using cai::inference::cuda::DeviceSamplingParams;
using cai::inference::cuda::ForwardBatch;
using cai::inference::cuda::kKvBlockSize;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The fewest seconds `run` (enqueueing GPU work, true when it could) took between two events, over
// `reps` runs after an untimed first one; 0 when a run failed.
template <typename Run>
double BestEventSeconds(int reps, const Run& run) {
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  double best = 0;
  for (int rep = 0; rep <= reps; ++rep) {
    cudaEventRecord(start);
    const bool ok = run();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    if (!ok) {
      best = 0;
      break;
    }
    if (rep > 0) best = best == 0 ? ms * 1e-3 : std::min(best, ms * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

// Best of a few copies of a buffer far larger than L2, bytes read plus bytes written per second.
double CopyBandwidth(size_t bytes) {
  void *src = nullptr, *dst = nullptr;
  double seconds = 0;
  if (cudaMalloc(&src, bytes) == cudaSuccess && cudaMalloc(&dst, bytes) == cudaSuccess &&
      cudaMemset(src, 1, bytes) == cudaSuccess) {
    seconds = BestEventSeconds(5, [&] {
      return cai::inference::cuda::LaunchCopy(dst, src, static_cast<int64_t>(bytes / 16), nullptr) == cudaSuccess;
    });
  }
  cudaFree(src);
  cudaFree(dst);
  return seconds > 0 ? 2.0 * static_cast<double>(bytes) / seconds : 0;
}

// Best of a few cuBLAS BF16 GEMMs (F32 accumulation, as the engine's prefill runs them) of a weight
// [rows][cols] by `tokens` activations, in FLOP/s: the compute reference for time to first token.
double GemmRate(int rows, int cols, int tokens) {
  const size_t w_elems = size_t(rows) * cols, x_elems = size_t(tokens) * cols;
  void *w = nullptr, *x = nullptr, *out = nullptr;
  cublasHandle_t handle = nullptr;
  double seconds = 0;
  if (cudaMalloc(&w, w_elems * 2) == cudaSuccess && cudaMalloc(&x, x_elems * 2) == cudaSuccess &&
      cudaMalloc(&out, size_t(tokens) * rows * 4) == cudaSuccess && cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS) {
    cai::inference::cuda::LaunchFillRandomBf16(static_cast<uint16_t*>(w), int64_t(w_elems), 0.02f, 1, nullptr);
    cai::inference::cuda::LaunchFillRandomBf16(static_cast<uint16_t*>(x), int64_t(x_elems), 1.0f, 2, nullptr);
    const float alpha = 1, beta = 0;
    seconds = BestEventSeconds(5, [&] {
      return cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, rows, tokens, cols, &alpha, w, CUDA_R_16BF, cols, x,
                          CUDA_R_16BF, cols, &beta, out, CUDA_R_32F, rows, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS;
    });
  }
  if (handle != nullptr) cublasDestroy(handle);
  cudaFree(w);
  cudaFree(x);
  cudaFree(out);
  return seconds > 0 ? 2.0 * double(rows) * cols * tokens / seconds : 0;
}

// Seconds of one batch-1 mat-vec (gated: `rows` outputs from 2 x rows weight rows) over a random
// BF16 [rows][cols] matrix, read from HBM: launches cycle through enough copies that the working
// set is several times the L2, so no launch finds its weights cached. Back to back with
// programmatic dependent launch, as in a decode step. 0 on an error.
double MatVecSeconds(int64_t rows, int64_t cols, bool gated, int64_t l2_bytes) {
  using namespace cai::inference::cuda;
  const int64_t weight_rows = gated ? 2 * rows : rows, bytes = weight_rows * cols * 2;
  const int copies = static_cast<int>(std::clamp<int64_t>(4 * l2_bytes / bytes + 1, 1, 64));
  std::vector<void*> matrices(copies, nullptr);
  void *x = nullptr, *out = nullptr;
  bool ok = cudaMalloc(&x, cols * sizeof(float)) == cudaSuccess && cudaMalloc(&out, rows * sizeof(float)) == cudaSuccess;
  for (void*& m : matrices) {
    ok = ok && cudaMalloc(&m, bytes) == cudaSuccess &&
         LaunchFillRandomBf16(static_cast<uint16_t*>(m), weight_rows * cols, 0.02f, 3, nullptr) == cudaSuccess;
  }
  ok = ok && cudaMemset(x, 0, cols * sizeof(float)) == cudaSuccess;
  const int launches = std::max(copies, 32);
  const double seconds = !ok ? 0 : BestEventSeconds(3, [&] {
    for (int i = 0; i < launches; ++i) {
      const DeviceMatrix w{cai::inference::DType::kBF16, matrices[i % copies], weight_rows, cols};
      float* o = static_cast<float*>(out);
      const float* in = static_cast<const float*>(x);
      if ((gated ? LaunchGatedMatVec(o, int(rows), in, 1, w, cai::inference::Activation::kSilu, nullptr)
                 : LaunchMatVec(o, int(rows), in, 1, w, nullptr)) != cudaSuccess) {
        return false;
      }
    }
    return true;
  });
  for (void* m : matrices) cudaFree(m);
  cudaFree(x);
  cudaFree(out);
  return seconds / launches;
}

// Sequences with fixed, disjoint block ranges; positions advance as they decode.
struct Streams {
  int count, mb;
  std::vector<int32_t> tables, tokens, positions, seqs, rows;
  Streams(int count, int mb, int first_block, int blocks_each) : count(count), mb(mb), tables(size_t(count) * mb, 0) {
    for (int s = 0; s < count; ++s) {
      for (int b = 0; b < blocks_each; ++b) tables[size_t(s) * mb + b] = first_block + s * blocks_each + b;
    }
  }
};

// Fills `context` positions of every stream through prefill batches of at most `max_tokens`.
bool Prefill(CudaTransformer& model, Streams& st, int context, int max_tokens) {
  std::vector<int32_t> tokens, positions, seqs;
  std::vector<float> logits(model.config().vocab_size);
  auto flush = [&]() {
    if (tokens.empty()) return true;
    const int32_t last = static_cast<int32_t>(tokens.size() - 1);
    bool ok = model.Forward(ForwardBatch{tokens, positions, seqs, st.tables, std::span(&last, 1)}, logits).ok();
    tokens.clear(), positions.clear(), seqs.clear();
    return ok;
  };
  for (int s = 0; s < st.count; ++s) {
    for (int p = 0; p < context; ++p) {
      tokens.push_back((s * 7919 + p * 31) % model.config().vocab_size);
      positions.push_back(p);
      seqs.push_back(s);
      if (static_cast<int>(tokens.size()) == max_tokens && !flush()) return false;
    }
  }
  return flush();
}

// Decode steps of every stream of `st` (prefilled to `context`), tokens drawn on the device with
// `sampling` (greedy by default): seconds per step, timed over `steps` after two untimed ones that
// capture and warm the decode graph; 0 on an error.
double SecondsPerDecodeStep(CudaTransformer& model, Streams& st, int context, int steps,
                            DeviceSamplingParams sampling = {.temperature = 0}) {
  const int n = st.count;
  std::vector<int32_t> tokens(n, 1), positions(n), seqs(n), rows(n);
  for (int s = 0; s < n; ++s) seqs[s] = s, rows[s] = s;
  std::vector<DeviceSamplingParams> params(n, sampling);
  double seconds = 0;
  for (int step = -2; step < steps; ++step) {
    for (int s = 0; s < n; ++s) positions[s] = context + step + 2;
    auto start = Clock::now();
    absl::StatusOr<std::vector<int32_t>> next =
        model.ForwardSample(ForwardBatch{tokens, positions, seqs, st.tables, rows}, params);
    if (!next.ok()) {
      std::fprintf(stderr, "decode: %s\n", std::string(next.status().message()).c_str());
      return 0;
    }
    if (step >= 0) seconds += SecondsSince(start);
    tokens = *next;
  }
  return seconds / steps;
}

// Aggregate decode tokens/s of `streams` greedy requests with `context`-token prompts, run by the
// scheduler on `backend`: generated tokens / seconds of the steps that only decode.
double ServedThroughput(cai::inference::ForwardBackend& backend, int streams, int context, int tokens) {
  cai::inference::Scheduler scheduler(backend, nullptr,
                                      {.max_batch_tokens = backend.max_batch_tokens(), .max_running = streams});
  for (int s = 0; s < streams; ++s) {
    cai::inference::GenerationRequest request;
    for (int p = 0; p < context; ++p) request.prompt.push_back((s * 7919 + p * 31) % backend.config().vocab_size);
    request.sampling.temperature = 0;
    request.max_tokens = tokens;
    if (absl::StatusOr<uint64_t> id = scheduler.Add(request); !id.ok()) {
      std::fprintf(stderr, "served: %s\n", std::string(id.status().message()).c_str());
      return 0;
    }
  }
  return cai::bench::DecodeThroughput(scheduler);
}

// The weight matrices a decode step reads, as the engine runs them: per layer the stacked QKV, the
// output projection, the gated gate/up (2 x rows weight rows) and the down projection; then the
// lm_head once.
struct MatVecShape {
  const char* name;
  int64_t rows, cols;
  bool gated;
  bool per_layer;  // else once per step (the lm_head)
  double weights() const { return (gated ? 2.0 : 1.0) * double(rows) * double(cols); }
};
std::vector<MatVecShape> DecodeMatVecs(const cai::inference::ModelConfig& c) {
  const int64_t d = c.hidden_size, ffn = c.intermediate_size, q = int64_t{c.num_attention_heads} * c.head_dim;
  const int64_t qkv = q + int64_t{2 * c.num_key_value_heads} * c.head_dim;
  return {{"qkv", qkv, d, false, true},
          {"o", d, q, false, true},
          {"gate/up (gated)", ffn, d, true, true},
          {"down", d, ffn, false, true},
          {"lm_head", c.vocab_size, d, false, false}};
}

// Where a batch-1 decode step's time goes: its mat-vecs timed alone, each as a share of the copy
// bandwidth, and their sum against the whole step; the remainder is everything else (norms, RoPE +
// KV write, attention, sampling, launch gaps and the host's part).
bool PrintMatVecShare(const cai::inference::ModelConfig& c, double step_seconds, double bandwidth, int64_t l2_bytes) {
  double step_matvecs = 0;
  std::printf("batch-1 mat-vecs alone:");
  for (const MatVecShape& s : DecodeMatVecs(c)) {
    const double seconds = MatVecSeconds(s.rows, s.cols, s.gated, l2_bytes);
    if (seconds == 0) {
      std::fprintf(stderr, "mat-vec %s: a CUDA call failed\n", s.name);
      return false;
    }
    std::printf(" %s %.1f us (%.0f%%)", s.name, seconds * 1e6, 100.0 * 2 * s.weights() / seconds / bandwidth);
    step_matvecs += seconds * (s.per_layer ? c.num_hidden_layers : 1);
  }
  std::printf(" of copy bandwidth\n");
  std::printf("batch-1 step %.2f ms: its mat-vecs alone %.2f ms (%.0f%%), the rest %.2f ms (norms, RoPE + KV write, "
              "attention, sampling, launch gaps, host)\n",
              step_seconds * 1e3, step_matvecs * 1e3, 100.0 * step_matvecs / step_seconds,
              (step_seconds - step_matvecs) * 1e3);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure reaches a pipe as it is measured
  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) command += ' ';
    command += argv[i];  // (" " + std::string) trips GCC 12's -Wrestrict at -O3
  }
  std::printf("command: %s\n", command.c_str());
  if (absl::Status device = cai::inference::cuda::CheckCudaDevice(); !device.ok()) {
    std::fprintf(stderr, "cai-bench-cuda-decode: %s (this benchmark needs an NVIDIA GPU)\n",
                 std::string(device.message()).c_str());
    return 1;
  }
  std::vector<int> stream_counts;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_streams), ',')) {
    int n = 0;
    if (!absl::SimpleAtoi(part, &n) || n < 1 || n > 256) {
      std::fprintf(stderr, "--streams: 1..256 each\n");
      return 2;
    }
    stream_counts.push_back(n);
  }
  const int max_streams = *std::max_element(stream_counts.begin(), stream_counts.end());
  const int context = absl::GetFlag(FLAGS_context), steps = absl::GetFlag(FLAGS_decode_steps);
  const int prompt_tokens = absl::GetFlag(FLAGS_prompt_tokens);

  cai::inference::ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.hidden_size = absl::GetFlag(FLAGS_hidden);
  c.intermediate_size = absl::GetFlag(FLAGS_intermediate);
  c.num_hidden_layers = absl::GetFlag(FLAGS_layers);
  c.num_attention_heads = absl::GetFlag(FLAGS_heads);
  c.num_key_value_heads = absl::GetFlag(FLAGS_kv_heads);
  c.head_dim = c.hidden_size / c.num_attention_heads;
  c.vocab_size = absl::GetFlag(FLAGS_vocab);
  c.max_position_embeddings = 8192;
  c.rope_theta = 500000;
  c.rope_scaling = cai::inference::Llama3RopeScaling{};

  cai::inference::cuda::CudaEngineOptions options;
  options.kv_cache_fraction = absl::GetFlag(FLAGS_kv_cache_fraction);
  options.max_batch_tokens = std::max(prompt_tokens, 256);
  options.max_seqs = max_streams;
  options.decode_partitions = cai::inference::cuda::kMaxDecodePartitions;  // the sweep below; 1 elsewhere
  auto t0 = Clock::now();
  absl::StatusOr<std::unique_ptr<CudaTransformer>> loaded = CudaTransformer::LoadRandom(c, 1234, options);
  if (!loaded.ok()) {
    std::fprintf(stderr, "load: %s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  CudaTransformer& model = **loaded;
  if (!model.SetDecodePartitions(1).ok()) return 1;
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device: %s, %d SMs; weights %.2f GB made in %.1f s; KV cache %lld blocks of %d tokens\n", prop.name,
              prop.multiProcessorCount, model.weight_bytes() / 1e9, SecondsSince(t0),
              static_cast<long long>(model.num_kv_blocks()), kKvBlockSize);
  const double bandwidth = CopyBandwidth(size_t{static_cast<size_t>(absl::GetFlag(FLAGS_copy_mib))} << 20);
  std::printf("copy bandwidth: %.0f GB/s (read + write)\n", bandwidth / 1e9);

  // The GEMM reference at the prefill's largest shape: the gate/up projection of the whole prompt.
  const double gemm_rate = GemmRate(2 * c.intermediate_size, c.hidden_size, prompt_tokens);
  std::printf("cuBLAS BF16 GEMM (%d x %d by %d tokens): %.0f TFLOP/s\n", 2 * c.intermediate_size, c.hidden_size,
              prompt_tokens, gemm_rate / 1e12);

  const int blocks_each = (std::max(context + steps, prompt_tokens) + kKvBlockSize - 1) / kKvBlockSize;
  if (int64_t{blocks_each} * (max_streams + 1) > model.num_kv_blocks()) {
    std::fprintf(stderr, "KV cache too small: raise --kv_cache_fraction or lower --streams/--context\n");
    return 1;
  }
  const int mb = model.max_blocks_per_seq();
  // Time to first token: one prefill of the whole prompt, logits of its last token, with the
  // attention on tensor cores and on CUDA cores.
  for (bool tensor_cores : {true, false}) {
    model.SetTensorCoreAttention(tensor_cores);
    Streams st(1, mb, max_streams * blocks_each, blocks_each);
    for (int rep = 0; rep < 2; ++rep) {  // the first run warms up cuBLAS
      auto start = Clock::now();
      if (!Prefill(model, st, prompt_tokens, prompt_tokens)) return 1;
      if (rep == 1) {
        double s = SecondsSince(start);
        // Work of the prefill: 2 FLOPs per layer weight per token (the lm_head runs for the last
        // token only: left out), and causal attention's QK and PV (2 x 2 x head_dim per head per
        // key, ~T^2/2 keys).
        const double t = prompt_tokens, q_dim = double(c.num_attention_heads) * c.head_dim;
        double layer_weights = 0;
        for (const MatVecShape& m : DecodeMatVecs(c)) layer_weights += m.per_layer ? m.weights() : 0;
        const double flops = c.num_hidden_layers * (2.0 * layer_weights * t + 4.0 * q_dim * t * t / 2);
        std::printf("TTFT, %d-token prompt, attention on %s cores: %.1f ms (%.0f prompt tokens/s), %.0f TFLOP/s = "
                    "%.0f%% of the GEMM rate\n",
                    prompt_tokens, tensor_cores ? "tensor" : "CUDA", s * 1e3, t / s, flops / s / 1e12,
                    100.0 * flops / s / gemm_rate);
      }
    }
  }
  model.SetTensorCoreAttention(true);
  std::map<int, double> direct;  // aggregate tokens/s by stream count
  for (int n : stream_counts) {
    Streams st(n, mb, 0, blocks_each);
    if (!Prefill(model, st, context, options.max_batch_tokens)) return 1;
    const double seconds = steps * SecondsPerDecodeStep(model, st, context, steps);
    if (seconds == 0) return 1;
    const double per_stream = steps / seconds;
    direct[n] = per_stream * n;
    std::printf("decode, %3d streams at context %d: %8.1f tokens/s aggregate, %6.1f per stream", n, context,
                per_stream * n, per_stream);
    if (n == 1) {
      std::printf(", %.0f GB/s of weights = %.0f%% of copy bandwidth", model.decode_weight_bytes() * per_stream / 1e9,
                  100.0 * model.decode_weight_bytes() * per_stream / bandwidth);
    }
    std::printf("\n");
    if (n == 1 && !PrintMatVecShare(c, 1 / per_stream, bandwidth, prop.l2CacheSize)) return 1;
  }

  // Batch-1 decode with the step's kernels launched plainly against programmatic dependent launch
  // (each kernel scheduled while the one before it drains): what the overlap gains.
  {
    Streams st(1, mb, 0, blocks_each);
    if (!Prefill(model, st, context, options.max_batch_tokens)) return 1;
    double seconds[2] = {0, 0};  // best of two alternating rounds per mode
    for (int round = 0; round < 2; ++round) {
      for (bool programmatic : {false, true}) {
        if (!model.SetProgrammaticLaunch(programmatic).ok()) return 1;
        const double s = SecondsPerDecodeStep(model, st, context, steps);
        if (s == 0) return 1;
        seconds[programmatic] = round == 0 ? s : std::min(seconds[programmatic], s);
      }
    }
    std::printf("decode, 1 stream at context %d: %.1f tokens/s with programmatic dependent launch, %.1f without = "
                "%.2fx\n",
                context, 1 / seconds[1], 1 / seconds[0], seconds[0] / seconds[1]);
    // Drawing with Llama 3.1's generation_config defaults (what a request that names none gets)
    // against greedy: the sampler's share of a step.
    const double sampled =
        SecondsPerDecodeStep(model, st, context, steps, {.temperature = 0.6f, .top_p = 0.9f, .seed = 1});
    if (sampled == 0) return 1;
    std::printf("decode, 1 stream, temperature 0.6 top_p 0.9: %.1f tokens/s = %.2f of greedy (the draw takes %.0f us)\n",
                1 / sampled, seconds[1] / sampled, (sampled - seconds[1]) * 1e6);
  }

  // Split-K decode attention at a long context, batch 1: the keys of each head cut into 1..16
  // ranges, one block each, against the whole-range kernel (1): the figures that choose
  // cai-inference --gpu_decode_partitions.
  const int long_context = absl::GetFlag(FLAGS_long_context);
  const int long_blocks = (long_context + steps + 2 + kKvBlockSize - 1) / kKvBlockSize;
  if (long_blocks > mb || int64_t{blocks_each} * (max_streams + 1) + long_blocks > model.num_kv_blocks()) {
    std::fprintf(stderr, "--long_context: at most %d positions, and room in the KV cache\n", mb * kKvBlockSize);
    return 1;
  }
  {
    Streams st(1, mb, (max_streams + 1) * blocks_each, long_blocks);
    if (!Prefill(model, st, long_context, options.max_batch_tokens)) return 1;
    double whole = 0;
    for (int partitions = 1; partitions <= cai::inference::cuda::kMaxDecodePartitions; partitions *= 2) {
      if (!model.SetDecodePartitions(partitions).ok()) return 1;
      const double s = SecondsPerDecodeStep(model, st, long_context, steps);
      if (s == 0) return 1;
      if (partitions == 1) whole = s;
      std::printf("decode, 1 stream at context %d, %2d key ranges per head: %7.1f tokens/s = %.2fx one range\n",
                  long_context, partitions, 1 / s, whole / s);
    }
    if (!model.SetDecodePartitions(1).ok()) return 1;
  }

  // The serving path: the scheduler owns every block now.
  cai::inference::cuda::CudaBackend backend(std::move(*loaded));
  for (int n : stream_counts) {
    const double served = ServedThroughput(backend, n, context, steps);
    std::printf("served decode, %3d streams: %8.1f tokens/s aggregate = %.2f of the direct figure\n", n, served,
                served / direct[n]);
  }
  return 0;
}
