#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/inference/engine/backend_factory.h"
#include "services/inference/engine/backends/cpu/transformer_model.h"
#include "services/inference/engine/forward_backend.h"
#include "services/inference/engine/model_config.h"
#include "services/inference/engine/tokenizer/chat_template.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {

inline constexpr size_t kMaxPromptBytes = 4 << 20;
inline constexpr size_t kMaxChatMessages = 4096;

// Everything a Hugging Face model directory holds, loaded and cross-checked: config, generation
// defaults, tokenizer, chat template and weights.
struct LoadedModel {
  ModelConfig config;
  GenerationConfig generation;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<TransformerModel> model;    // the CPU engine's weights; null when a GPU runs the model
  std::unique_ptr<ForwardBackend> backend;    // runs the model; borrows `model` on the CPU, so it is
                                              // declared after it and destroyed before it
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> stop_token_ids;  // config, generation_config and tokenizer_config EOS
  absl::StatusOr<ChatTemplateKind> chat_template = absl::UnimplementedError("no chat template");
};

// Reads config.json, generation_config.json (optional), tokenizer.json, tokenizer_config.json
// (optional) and the safetensors weights of `dir`, and puts the weights on `backend.device`.
absl::StatusOr<std::unique_ptr<LoadedModel>> LoadModelDir(const std::string& dir, const BackendOptions& backend);
// On the CPU with `num_threads` threads (0: every core) and the default KV cache.
absl::StatusOr<std::unique_ptr<LoadedModel>> LoadModelDir(const std::string& dir, int num_threads);

// Prompt tokens of a chat, rendered with the model's template (which writes BOS itself), with the
// tools it may call. Messages, calls and tools count against kMaxPromptBytes.
absl::StatusOr<std::vector<int32_t>> EncodeChat(const LoadedModel& model, const std::vector<ChatMessage>& messages,
                                                const std::vector<ChatTool>& tools = {});
// Prompt tokens of raw text: BOS (if the model has one), then the text with special-token texts
// treated as ordinary text.
absl::StatusOr<std::vector<int32_t>> EncodeCompletion(const LoadedModel& model, std::string_view prompt);

}  // namespace cai::inference
