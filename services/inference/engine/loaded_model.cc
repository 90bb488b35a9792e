#include "services/inference/engine/loaded_model.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "lib/common/log.h"
#include "lib/common/read_file.h"
#include "services/inference/engine/checkpoint.h"

namespace cai::inference {
namespace {

constexpr size_t kMaxConfigBytes = 4 << 20;

// nullopt when the file does not exist; errors when it exists but cannot be read or is too big.
absl::StatusOr<std::optional<std::string>> ReadOptionalFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  absl::StatusOr<std::string> text = ReadFileUpTo(path.string(), kMaxConfigBytes);
  if (!text.ok()) return text.status();
  return std::optional<std::string>(*std::move(text));
}

absl::Status WithPath(const absl::Status& status, const std::filesystem::path& path) {
  return absl::Status(status.code(), absl::StrCat(path.string(), ": ", status.message()));
}

// A token tokenizer_config.json names must be one of tokenizer.json's: a stop token the tokenizer
// cannot produce would let every answer run to max_tokens.
absl::StatusOr<std::optional<int32_t>> TokenId(const std::optional<std::string>& text, const char* key,
                                               const Tokenizer& tok) {
  if (!text) return std::optional<int32_t>();
  std::optional<int32_t> id = tok.TokenId(*text);
  if (!id) return absl::InvalidArgumentError(absl::StrCat(key, " \"", *text, "\" is not a token of tokenizer.json"));
  return id;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LoadedModel>> LoadModelDir(const std::string& dir, int num_threads) {
  return LoadModelDir(dir, BackendOptions{.device = Device::kCpu, .cpu_threads = num_threads});
}

absl::StatusOr<std::unique_ptr<LoadedModel>> LoadModelDir(const std::string& dir, const BackendOptions& options) {
  std::filesystem::path root(dir);
  auto loaded = std::make_unique<LoadedModel>();

  absl::StatusOr<std::optional<std::string>> config_text = ReadOptionalFile(root / "config.json");
  if (!config_text.ok()) return config_text.status();
  if (!config_text->has_value()) return absl::NotFoundError(absl::StrCat(dir, " has no config.json"));
  absl::StatusOr<ModelConfig> config = ParseModelConfig(**config_text);
  if (!config.ok()) return WithPath(config.status(), root / "config.json");
  loaded->config = *config;

  absl::StatusOr<std::optional<std::string>> generation_text = ReadOptionalFile(root / "generation_config.json");
  if (!generation_text.ok()) return generation_text.status();
  if (generation_text->has_value()) {
    absl::StatusOr<GenerationConfig> generation = ParseGenerationConfig(**generation_text);
    if (!generation.ok()) return WithPath(generation.status(), root / "generation_config.json");
    const absl::Status below =
        CheckTokenIdsBelowVocab("eos_token_id", generation->eos_token_ids, loaded->config.vocab_size);
    if (!below.ok()) return WithPath(below, root / "generation_config.json");
    loaded->generation = *generation;
  }

  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromFile(root / "tokenizer.json");
  if (!tokenizer.ok()) return WithPath(tokenizer.status(), root / "tokenizer.json");
  loaded->tokenizer = *std::move(tokenizer);
  const Tokenizer& tok = *loaded->tokenizer;
  if (tok.vocab_size() > loaded->config.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer has ", tok.vocab_size(),
                                                   " tokens but the model's vocab_size is ",
                                                   loaded->config.vocab_size));
  }

  std::vector<int32_t> stops = loaded->config.eos_token_ids;
  stops.insert(stops.end(), loaded->generation.eos_token_ids.begin(), loaded->generation.eos_token_ids.end());
  loaded->bos_token_id = loaded->config.bos_token_id;
  absl::StatusOr<std::optional<std::string>> tok_config_text = ReadOptionalFile(root / "tokenizer_config.json");
  if (!tok_config_text.ok()) return tok_config_text.status();
  if (tok_config_text->has_value()) {
    const std::filesystem::path path = root / "tokenizer_config.json";
    absl::StatusOr<TokenizerConfig> tok_config = ParseTokenizerConfig(**tok_config_text);
    if (!tok_config.ok()) return WithPath(tok_config.status(), path);
    absl::StatusOr<std::optional<int32_t>> bos = TokenId(tok_config->bos_token, "bos_token", tok);
    if (!bos.ok()) return WithPath(bos.status(), path);
    absl::StatusOr<std::optional<int32_t>> eos = TokenId(tok_config->eos_token, "eos_token", tok);
    if (!eos.ok()) return WithPath(eos.status(), path);
    if (!loaded->bos_token_id) loaded->bos_token_id = *bos;
    if (*eos) stops.push_back(**eos);
  }
  std::sort(stops.begin(), stops.end());
  stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
  loaded->stop_token_ids = stops;
  loaded->chat_template = DetectChatTemplate(tok, loaded->config.model_type);

  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir);
  if (!checkpoint.ok()) return checkpoint.status();
  // The CPU model borrows F32 and BF16 weights from the mapped files and keeps them open, so read
  // them in now, with progress for multi-GB models, rather than during the first request (a GPU
  // copies them from there).
  const uint64_t total = (*checkpoint)->total_bytes();
  LogInfo("reading ", total >> 20, " MiB of weights from ", dir);
  int reported_percent = 0;
  (*checkpoint)->ReadIntoMemory([&](uint64_t done, uint64_t all) {
    const int percent = all == 0 ? 100 : static_cast<int>(done * 100 / all);
    if (all >= (1ull << 30) && percent >= reported_percent + 10) {
      reported_percent = percent / 10 * 10;
      LogInfo("weights read: ", percent, "% (", done >> 20, " of ", all >> 20, " MiB)");
    }
  });
  std::shared_ptr<const Checkpoint> shared = *std::move(checkpoint);
  absl::StatusOr<LoadedBackend> backend = LoadBackend(loaded->config, std::move(shared), options);
  if (!backend.ok()) return backend.status();
  loaded->model = std::move(backend->cpu_model);
  loaded->backend = std::move(backend->backend);
  return loaded;
}

absl::StatusOr<std::vector<int32_t>> EncodeChat(const LoadedModel& model, const std::vector<ChatMessage>& messages,
                                                const std::vector<ChatTool>& tools) {
  if (!model.chat_template.ok()) return model.chat_template.status();
  if (messages.size() > kMaxChatMessages) return absl::InvalidArgumentError("too many chat messages");
  size_t bytes = 0;
  for (const ChatMessage& m : messages) {
    bytes += m.role.size() + m.content.size();
    for (const ChatToolCall& call : m.tool_calls) bytes += call.name.size() + call.arguments.size();
  }
  for (const ChatTool& tool : tools) bytes += tool.name.size() + (tool.description ? tool.description->size() : 0) + tool.parameters.size();
  if (bytes > kMaxPromptBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the chat has ", bytes, " bytes, above the limit of ", kMaxPromptBytes));
  }
  absl::StatusOr<RenderedChat> chat = RenderChat(*model.chat_template, messages, /*add_generation_prompt=*/true, tools);
  if (!chat.ok()) return absl::InvalidArgumentError(chat.status().message());
  return chat->Encode(*model.tokenizer);
}

absl::StatusOr<std::vector<int32_t>> EncodeCompletion(const LoadedModel& model, std::string_view prompt) {
  if (prompt.size() > kMaxPromptBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt has ", prompt.size(), " bytes, above the limit of ",
                                                   kMaxPromptBytes));
  }
  std::vector<int32_t> tokens;
  if (model.bos_token_id) tokens.push_back(*model.bos_token_id);
  std::vector<int32_t> text = model.tokenizer->Encode(prompt, /*allow_special=*/false);
  tokens.insert(tokens.end(), text.begin(), text.end());
  return tokens;
}

}  // namespace cai::inference
