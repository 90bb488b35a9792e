#include "tools/demo_model/demo_model.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/inference/engine/hf_layer_weights.h"
#include "services/inference/engine/safetensors_writer.h"
#include "services/inference/engine/tokenizer/bpe_trainer.h"
#include "services/inference/engine/tokenizer/tokenizer.h"
#include "tools/demo_model/demo_corpus.h"

namespace cai::demo {
namespace {

using inference::DType;
using nlohmann::ordered_json;

// The Llama 3 special tokens the chat template and the stop logic rely on.
const std::vector<std::string> kSpecialTokens = {
    "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
    "<|eom_id|>", "<|python_tag|>"};

constexpr char kReadme[] =
    "# cai demo model\n\n"
    "A tiny Llama 3-architecture model written by `cai-demo-model` for tests and demos.\n"
    "Its tokenizer is a byte-level BPE trained on a few KB of built-in English text, and its\n"
    "weights are RANDOM: it produces meaningless text. Use it to exercise the serving path,\n"
    "never to judge output quality.\n";

absl::Status WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

// Uniform in [-a, a) with a = sqrt(3) * scale (standard deviation `scale`), from the top 53 bits:
// the same on every standard library, unlike std::normal_distribution.
float NextWeight(std::mt19937_64& rng, float scale) {
  double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return static_cast<float>((2 * u - 1) * std::sqrt(3.0) * scale);
}

}  // namespace

absl::Status WriteDemoModel(const std::string& dir, const DemoModelOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::filesystem::path root(dir);

  absl::StatusOr<std::string> tokenizer_json =
      inference::TrainByteLevelBpeTokenizerJson(kDemoCorpus, o.num_merges, kSpecialTokens);
  if (!tokenizer_json.ok()) return tokenizer_json.status();
  absl::StatusOr<std::unique_ptr<inference::Tokenizer>> tokenizer = inference::Tokenizer::FromJson(*tokenizer_json);
  if (!tokenizer.ok()) return tokenizer.status();
  const int vocab = (*tokenizer)->vocab_size();
  auto id = [&](const std::string& token) { return (*tokenizer)->TokenId(token).value_or(-1); };
  const int bos = id("<|begin_of_text|>"), end_of_text = id("<|end_of_text|>"), eot = id("<|eot_id|>");
  if (bos < 0 || end_of_text < 0 || eot < 0) return absl::InternalError("trained tokenizer lacks special tokens");

  const int head_dim = o.hidden_size / o.num_attention_heads;
  ordered_json config = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", o.hidden_size},
      {"intermediate_size", o.intermediate_size},
      {"num_hidden_layers", o.num_hidden_layers},
      {"num_attention_heads", o.num_attention_heads},
      {"num_key_value_heads", o.num_key_value_heads},
      {"head_dim", head_dim},
      {"hidden_act", "silu"},
      {"rms_norm_eps", 1e-5},
      {"rope_theta", 500000.0},
      // A small original context puts all three llama3 frequency regimes inside this head.
      {"rope_scaling",
       {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
        {"original_max_position_embeddings", 256}}},
      {"vocab_size", vocab},
      {"max_position_embeddings", o.max_position_embeddings},
      {"tie_word_embeddings", false},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"bos_token_id", bos},
      {"eos_token_id", {end_of_text, eot}},
      {"torch_dtype", "bfloat16"},
  };
  ordered_json generation = {{"bos_token_id", bos},       {"eos_token_id", {eot, end_of_text}},
                             {"do_sample", true},         {"temperature", 0.6},
                             {"top_p", 0.9}};
  ordered_json tokenizer_config = {{"bos_token", "<|begin_of_text|>"},
                                   {"eos_token", "<|eot_id|>"},
                                   {"model_max_length", o.max_position_embeddings},
                                   {"tokenizer_class", "PreTrainedTokenizerFast"}};

  std::mt19937_64 rng(o.seed);
  inference::SafetensorsWriter writer;
  auto linear = [&](const std::string& name, int64_t rows, int64_t cols) {
    std::vector<float> values(static_cast<size_t>(rows * cols));
    float scale = 1.0f / std::sqrt(static_cast<float>(cols));
    for (float& v : values) v = NextWeight(rng, scale);
    writer.Add(name, DType::kBF16, {rows, cols}, values);
  };
  auto norm = [&](const std::string& name, int64_t n) {
    std::vector<float> values(static_cast<size_t>(n), 1.0f);
    writer.Add(name, DType::kBF16, {n}, values);
  };
  inference::ModelConfig shape;
  shape.hidden_size = o.hidden_size;
  shape.intermediate_size = o.intermediate_size;
  shape.num_hidden_layers = o.num_hidden_layers;
  shape.num_attention_heads = o.num_attention_heads;
  shape.num_key_value_heads = o.num_key_value_heads;
  shape.head_dim = head_dim;
  shape.vocab_size = vocab;
  for (const inference::HfTensorSpec& t : inference::LlamaTensorSpecs(shape)) {
    t.is_norm ? norm(t.name, t.shape[0]) : linear(t.name, t.shape[0], t.shape[1]);
  }

  for (absl::Status status : {
           WriteText(root / "config.json", config.dump(2) + "\n"),
           WriteText(root / "generation_config.json", generation.dump(2) + "\n"),
           WriteText(root / "tokenizer.json", *tokenizer_json),
           WriteText(root / "tokenizer_config.json", tokenizer_config.dump(2) + "\n"),
           WriteText(root / "README.md", kReadme),
           writer.WriteFile((root / "model.safetensors").string()),
       }) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace cai::demo
