// cai-inference: serves one Hugging Face model directory over cai.v1.Inference.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "lib/common/grpc_server.h"
#include "lib/common/log.h"
#include "services/inference/engine/loaded_model.h"
#include "services/inference/inference_service.h"

ABSL_FLAG(std::string, listen, "unix:/tmp/cai/inference.sock", "gRPC address: unix:/path or host:port");
ABSL_FLAG(std::string, model, "", "model directory in Hugging Face layout (required)");
ABSL_FLAG(std::string, served_model_name, "", "model id clients ask for (default: the directory's basename)");
ABSL_FLAG(int, threads, 0, "CPU threads for the engine (0: every core)");
ABSL_FLAG(int, max_concurrent_sequences, 32, "requests generated at once; later requests queue");
ABSL_FLAG(int, kv_cache_mib, 0,
          "paged KV cache for all running sequences, MiB (blocks of 16 positions); 0: room for two "
          "full-context sequences, at most a quarter of physical memory");
ABSL_FLAG(int, max_batch_tokens, 256, "tokens per engine step: decodes plus chunked-prefill tokens");
ABSL_FLAG(int, max_running_sequences, 64, "sequences (choices) in the running batch");

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
  absl::SetProgramUsageMessage("cai-inference --model DIR [--listen ADDR] [--threads N]");
  absl::ParseCommandLine(argc, argv);
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
  cai::inference::SchedulerOptions scheduler;
  scheduler.kv_cache_bytes = int64_t{absl::GetFlag(FLAGS_kv_cache_mib)} << 20;
  scheduler.max_batch_tokens = absl::GetFlag(FLAGS_max_batch_tokens);
  scheduler.max_running = absl::GetFlag(FLAGS_max_running_sequences);
  if (absl::GetFlag(FLAGS_kv_cache_mib) < 0 || absl::GetFlag(FLAGS_kv_cache_mib) > (1 << 20) ||
      scheduler.max_batch_tokens < 1 || scheduler.max_batch_tokens > 65536 || scheduler.max_running < 1 ||
      scheduler.max_running > 4096) {
    cai::LogError("--kv_cache_mib must be in [0, 1048576], --max_batch_tokens in [1, 65536], "
                  "--max_running_sequences in [1, 4096]");
    return 2;
  }
  std::string name = absl::GetFlag(FLAGS_served_model_name);
  if (name.empty()) {
    std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
    if (!path.has_filename()) path = path.parent_path();  // "models/demo/"
    name = path.filename().string();
  }

  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<cai::inference::LoadedModel>> model =
      cai::inference::LoadModelDir(dir, absl::GetFlag(FLAGS_threads));
  if (!model.ok()) {
    cai::LogError("cannot load model: ", model.status().ToString());
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const cai::inference::ModelConfig& config = (*model)->config;
  cai::LogInfo("loaded ", name, ": ", config.architecture, ", ", (*model)->model->num_parameters(),
               " parameters, ", config.num_hidden_layers, " layers, context ", config.max_position_embeddings,
               ", vocab ", config.vocab_size, ", chat template ", ChatTemplateName((*model)->chat_template),
               ", ", (*model)->model->num_threads(), " threads, in ", seconds, " s");

  const int64_t block_bytes = (*model)->model->kv_block_bytes();
  if (absl::GetFlag(FLAGS_kv_cache_mib) == 0) {
    // Two sequences at the full context, but never more than a quarter of the machine's memory
    // (Llama 3.1's 128k context would ask for far more than it needs in practice).
    const int64_t blocks_per_sequence = (int64_t{config.max_position_embeddings} + 15) / 16;
    const int64_t physical = int64_t{sysconf(_SC_PHYS_PAGES)} * sysconf(_SC_PAGESIZE);
    scheduler.kv_cache_bytes = std::max<int64_t>(
        std::min<int64_t>(2 * blocks_per_sequence * block_bytes, physical / 4), int64_t{64} << 20);
  }
  cai::LogInfo("KV cache: ", scheduler.kv_cache_bytes / block_bytes, " blocks of 16 positions (",
               scheduler.kv_cache_bytes / block_bytes * 16, " positions in all, ", scheduler.kv_cache_bytes >> 20,
               " MiB)");
  cai::inference::InferenceService service(name, *std::move(model), max_sequences, scheduler);
  absl::Status status = cai::ServeUntilSignal(absl::GetFlag(FLAGS_listen), {&service}, "cai.v1.Inference");
  if (!status.ok()) {
    cai::LogError(status.ToString());
    return 1;
  }
  return 0;
}
