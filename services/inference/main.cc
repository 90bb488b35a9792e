// cai-inference: serves one Hugging Face model directory over cai.v1.Inference.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/flags/flag.h"
#include "lib/common/command_line.h"
#include "absl/strings/str_cat.h"
#include "lib/common/grpc_server.h"
#include "lib/common/log.h"
#include "services/inference/engine/loaded_model.h"
#include "services/inference/inference_service.h"

ABSL_FLAG(std::string, listen, "unix:/tmp/cai/inference.sock", "gRPC address: unix:/path or host:port");
ABSL_FLAG(std::string, model, "", "model directory in Hugging Face layout (required)");
ABSL_FLAG(std::string, served_model_name, "", "model id clients ask for (default: the directory's basename)");
ABSL_FLAG(std::string, device, "auto",
          "where the model runs: cuda (an NVIDIA GPU; fails if there is none), cpu, or auto (cuda when a GPU "
          "and driver are usable, else cpu)");
ABSL_FLAG(int, threads, 0, "CPU threads for the engine (0: every core)");
ABSL_FLAG(int, max_concurrent_sequences, 32, "requests generated at once; later requests queue");
ABSL_FLAG(int, kv_cache_mib, 0,
          "cpu: paged KV cache for all running sequences, MiB (blocks of 16 positions); 0: room for two "
          "full-context sequences, at most a quarter of physical memory");
ABSL_FLAG(double, gpu_kv_cache_fraction, 0.9,
          "cuda: share of the GPU memory left free after weights and scratch that the KV cache takes");
ABSL_FLAG(int, gpu_decode_partitions, 1,
          "cuda: key ranges each decode token's attention is split into (split-K, 1..16), for long contexts "
          "at small batches; bench/cuda_decode measures which count pays");
ABSL_FLAG(bool, gpu_tensor_core_attention, true,
          "cuda: prefill attention on tensor cores for BF16 KV caches with head_dim 64 or 128 (queries and "
          "softmax weights rounded to BF16 for the products, as FlashAttention does); false: F32 products "
          "on CUDA cores");
ABSL_FLAG(bool, gpu_programmatic_launch, true,
          "cuda: each kernel of a step is scheduled while the previous one finishes and waits for it on the "
          "device (Hopper programmatic dependent launch), hiding launch gaps; false: plain launches");
ABSL_FLAG(int, max_model_len, 0,
          "positions one sequence may reach, prompt and completion together; 0: the model's context (cuda "
          "caps it at 8192 unless set)");
ABSL_FLAG(int, max_batch_tokens, 0,
          "tokens per engine step: decodes plus chunked-prefill tokens; 0: 256 on cpu, 2048 on cuda");
ABSL_FLAG(int, max_running_sequences, 0, "sequences (choices) in the running batch; 0: 64 on cpu, 256 on cuda");

namespace {

const char* ChatTemplateName(const absl::StatusOr<cai::inference::ChatTemplateKind>& kind) {
  if (!kind.ok()) return "none (chat requests are refused; completions work)";
  switch (*kind) {
    case cai::inference::ChatTemplateKind::kLlama3: return "llama3";
    case cai::inference::ChatTemplateKind::kGemma2: return "gemma2";
    case cai::inference::ChatTemplateKind::kPhi3: return "phi3";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  cai::BlockTerminationSignals();
  cai::ParseCommandLine(argc, argv,
                       "serves a model directory to cai-edge.\n"
                       "Usage: cai-inference --model DIR [--listen ADDR] [--device auto|cuda|cpu] [--threads N]");
  cai::SetLogName("cai-inference");

  std::string dir = absl::GetFlag(FLAGS_model);
  if (dir.empty()) {
    cai::LogError("--model is required");
    return 2;
  }
  int max_sequences = absl::GetFlag(FLAGS_max_concurrent_sequences);
  if (max_sequences < 1 || max_sequences > 4096) {
    cai::LogError("--max_concurrent_sequences must be in [1, 4096]");
    return 2;
  }
  absl::StatusOr<cai::inference::Device> device = cai::inference::ParseDevice(absl::GetFlag(FLAGS_device));
  if (!device.ok()) {
    cai::LogError("--device: ", device.status().message());
    return 2;
  }
  std::string why_not_cuda;
  const cai::inference::Device resolved = cai::inference::ResolveDevice(*device, &why_not_cuda);
  if (*device == cai::inference::Device::kAuto && resolved == cai::inference::Device::kCpu) {
    cai::LogInfo("--device auto: running on the CPU (", why_not_cuda, ")");
  }
  const bool cuda = resolved == cai::inference::Device::kCuda;
  const int kv_cache_mib = absl::GetFlag(FLAGS_kv_cache_mib);
  const double gpu_fraction = absl::GetFlag(FLAGS_gpu_kv_cache_fraction);
  const int max_model_len = absl::GetFlag(FLAGS_max_model_len);
  const int decode_partitions = absl::GetFlag(FLAGS_gpu_decode_partitions);
  cai::inference::SchedulerOptions scheduler;
  scheduler.max_batch_tokens = absl::GetFlag(FLAGS_max_batch_tokens);
  scheduler.max_running = absl::GetFlag(FLAGS_max_running_sequences);
  if (scheduler.max_batch_tokens == 0) scheduler.max_batch_tokens = cuda ? 2048 : 256;
  if (scheduler.max_running == 0) scheduler.max_running = cuda ? 256 : 64;
  const int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0 || threads > 1024) {
    cai::LogError("--threads must be in [0, 1024] (0: every core)");
    return 2;
  }
  if (kv_cache_mib < 0 || kv_cache_mib > (1 << 20) || !(gpu_fraction > 0 && gpu_fraction <= 1) || max_model_len < 0 ||
      max_model_len > (1 << 24) || scheduler.max_batch_tokens < 1 || scheduler.max_batch_tokens > 65535 ||
      scheduler.max_running < 1 || scheduler.max_running > 4096 || decode_partitions < 1 ||
      decode_partitions > cai::inference::kMaxGpuDecodePartitions) {
    cai::LogError("--kv_cache_mib must be in [0, 1048576], --gpu_kv_cache_fraction in (0, 1], --max_model_len in "
                  "[0, 16777216], --max_batch_tokens in [1, 65535], --max_running_sequences in [1, 4096], "
                  "--gpu_decode_partitions in [1, ", cai::inference::kMaxGpuDecodePartitions, "]");
    return 2;
  }
  const cai::inference::BackendOptions backend{
      .device = resolved,
      .cpu_threads = threads,
      .cpu_kv_cache_bytes = int64_t{kv_cache_mib} << 20,
      .gpu_kv_cache_fraction = gpu_fraction,
      .gpu_decode_partitions = decode_partitions,
      .gpu_tensor_core_attention = absl::GetFlag(FLAGS_gpu_tensor_core_attention),
      .gpu_programmatic_launch = absl::GetFlag(FLAGS_gpu_programmatic_launch),
      .max_context = max_model_len,
      .max_batch_tokens = scheduler.max_batch_tokens,
      .max_batch_sequences = scheduler.max_running,
  };
  std::string name = absl::GetFlag(FLAGS_served_model_name);
  if (name.empty()) {
    std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
    if (!path.has_filename()) path = path.parent_path();  // "models/demo/"
    name = path.filename().string();
  }

  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<cai::inference::LoadedModel>> model = cai::inference::LoadModelDir(dir, backend);
  if (!model.ok()) {
    cai::LogError("cannot load model on ", std::string(cai::inference::DeviceName(resolved)), ": ", model.status().ToString());
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const cai::inference::ModelConfig& config = (*model)->config;
  const cai::inference::ForwardBackend& engine = *(*model)->backend;
  std::string cpu_threads;
  if ((*model)->model != nullptr) cpu_threads = absl::StrCat(", ", (*model)->model->num_threads(), " threads");
  cai::LogInfo("loaded ", name, " on ", engine.device_name(), cpu_threads, ": ", config.architecture, ", ",
               config.num_hidden_layers, " layers, context ", engine.context_length(), " (model ",
               config.max_position_embeddings, "), vocab ", config.vocab_size, ", chat template ",
               ChatTemplateName((*model)->chat_template), ", in ", seconds, " s");
  cai::LogInfo("KV cache: ", engine.num_kv_blocks(), " blocks of ", cai::inference::kKvBlockSize, " positions (",
               engine.num_kv_blocks() * cai::inference::kKvBlockSize, " positions in all)");
  // A backend that can no longer run (a GPU whose CUDA context is gone) fails every request; the
  // process shuts down and exits non-zero so that its supervisor (compose's restart policy)
  // starts a fresh one.
  std::atomic<bool> backend_lost{false};
  absl::Status status;
  {
    cai::inference::InferenceService service(name, *std::move(model), max_sequences, scheduler,
                                             [&backend_lost](const absl::Status& why) {
                                               cai::LogError("the model can no longer run: ", why.ToString(),
                                                             "; shutting down");
                                               backend_lost = true;
                                               cai::RequestShutdown();
                                             });
    status = cai::ServeUntilSignal(absl::GetFlag(FLAGS_listen), {&service}, "cai.v1.Inference");
  }  // the engine's last step has ended: backend_lost is final
  if (!status.ok()) {
    cai::LogError(status.ToString());
    return 1;
  }
  return backend_lost ? 1 : 0;
}
