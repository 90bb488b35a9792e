#include "services/inference/engine/model_config.h"

#include <cmath>
#include <numbers>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace cai::inference {
namespace {

using nlohmann::json;

absl::Status Bad(std::string_view key, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("config: '", std::string(key), "' ", std::string(why)));
}

absl::StatusOr<json> ParseObject(std::string_view text) {
  try {
    json value = json::parse(text);
    if (!value.is_object()) return absl::InvalidArgumentError("config: not a JSON object");
    return value;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: invalid JSON: ", e.what()));
  }
}

// Reads an integer key in [lo, hi]; absent keys keep `*out` when `required` is false.
absl::Status ReadInt(const json& obj, std::string_view key, int64_t lo, int64_t hi, bool required, int* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return required ? Bad(key, "is missing") : absl::OkStatus();
  if (!it->is_number_integer()) return Bad(key, "must be an integer");
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) return Bad(key, absl::StrCat("is ", v, ", outside [", lo, ", ", hi, "]"));
  *out = static_cast<int>(v);
  return absl::OkStatus();
}

absl::Status ReadDouble(const json& obj, std::string_view key, double lo, double hi, double* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) return Bad(key, "must be a number");
  double v = it->get<double>();
  if (!(v > lo && v <= hi)) return Bad(key, absl::StrCat("is ", v, ", outside (", lo, ", ", hi, "]"));
  *out = v;
  return absl::OkStatus();
}

// eos_token_id may be an int or a list of ints.
absl::Status ReadTokenIds(const json& obj, std::string_view key, std::vector<int32_t>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  std::vector<json> items = it->is_array() ? it->get<std::vector<json>>() : std::vector<json>{*it};
  if (items.size() > 64) return Bad(key, "lists too many ids");
  out->clear();
  for (const json& item : items) {
    if (!item.is_number_integer() || item.get<int64_t>() < 0 || item.get<int64_t>() > INT32_MAX) {
      return Bad(key, "must be a non-negative integer or a list of them");
    }
    out->push_back(static_cast<int32_t>(item.get<int64_t>()));
  }
  return absl::OkStatus();
}

#define CAI_RETURN_IF_ERROR(expr)            \
  do {                                       \
    absl::Status status_ = (expr);           \
    if (!status_.ok()) return status_;       \
  } while (0)

absl::StatusOr<Llama3RopeScaling> ParseRopeScaling(const json& obj) {
  if (!obj.is_object()) return Bad("rope_scaling", "must be an object");
  std::string type = obj.value("rope_type", obj.value("type", std::string()));
  if (type == "default") return absl::NotFoundError("no scaling");
  if (type != "llama3") {
    return absl::InvalidArgumentError(
        absl::StrCat("config: rope_scaling type '", type.substr(0, 32), "' is not supported (only llama3)"));
  }
  Llama3RopeScaling s;
  CAI_RETURN_IF_ERROR(ReadDouble(obj, "factor", 0, 1024, &s.factor));
  CAI_RETURN_IF_ERROR(ReadDouble(obj, "low_freq_factor", 0, 1024, &s.low_freq_factor));
  CAI_RETURN_IF_ERROR(ReadDouble(obj, "high_freq_factor", 0, 1024, &s.high_freq_factor));
  int original = 0;
  CAI_RETURN_IF_ERROR(ReadInt(obj, "original_max_position_embeddings", 1, 1 << 24, true, &original));
  s.original_max_position_embeddings = original;
  if (s.factor < 1) return Bad("rope_scaling.factor", "must be at least 1");
  if (s.high_freq_factor <= s.low_freq_factor) {
    return Bad("rope_scaling.high_freq_factor", "must be above low_freq_factor");
  }
  return s;
}

}  // namespace

absl::StatusOr<LlamaConfig> ParseLlamaConfig(std::string_view json_text) {
  absl::StatusOr<json> parsed = ParseObject(json_text);
  if (!parsed.ok()) return parsed.status();
  const json& obj = *parsed;
  try {
    LlamaConfig c;
    c.model_type = obj.value("model_type", std::string());
    if (auto it = obj.find("architectures"); it != obj.end() && it->is_array() && !it->empty() &&
                                              (*it)[0].is_string()) {
      c.architecture = (*it)[0].get<std::string>();
    }
    bool llama = c.architecture == "LlamaForCausalLM" || c.architecture == "MistralForCausalLM" ||
                 (c.architecture.empty() && (c.model_type == "llama" || c.model_type == "mistral"));
    if (!llama) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: architecture '", c.architecture.substr(0, 64), "' (model_type '", c.model_type.substr(0, 64),
          "') is not supported; supported: LlamaForCausalLM, MistralForCausalLM"));
    }
    if (c.architecture.empty()) c.architecture = c.model_type == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM";
    if (auto it = obj.find("sliding_window"); it != obj.end() && !it->is_null()) {
      return Bad("sliding_window", "is not supported");
    }
    CAI_RETURN_IF_ERROR(ReadInt(obj, "hidden_size", 1, 65536, true, &c.hidden_size));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "intermediate_size", 1, 1 << 20, true, &c.intermediate_size));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "num_hidden_layers", 1, 1024, true, &c.num_hidden_layers));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "num_attention_heads", 1, 1024, true, &c.num_attention_heads));
    c.num_key_value_heads = c.num_attention_heads;
    CAI_RETURN_IF_ERROR(ReadInt(obj, "num_key_value_heads", 1, 1024, false, &c.num_key_value_heads));
    if (c.hidden_size % c.num_attention_heads != 0 && obj.find("head_dim") == obj.end()) {
      return Bad("hidden_size", "must be divisible by num_attention_heads");
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
    CAI_RETURN_IF_ERROR(ReadInt(obj, "head_dim", 2, 1024, false, &c.head_dim));
    if (c.head_dim % 2 != 0) return Bad("head_dim", "must be even for RoPE");
    if (c.num_attention_heads % c.num_key_value_heads != 0) {
      return Bad("num_attention_heads", absl::StrCat("(", c.num_attention_heads,
                                                     ") must be a multiple of num_key_value_heads (",
                                                     c.num_key_value_heads, ")"));
    }
    CAI_RETURN_IF_ERROR(ReadDouble(obj, "rms_norm_eps", 0, 1, &c.rms_norm_eps));
    CAI_RETURN_IF_ERROR(ReadDouble(obj, "rope_theta", 0, 1e12, &c.rope_theta));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "vocab_size", 1, 1 << 22, true, &c.vocab_size));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "max_position_embeddings", 1, 1 << 24, true, &c.max_position_embeddings));
    if (auto it = obj.find("tie_word_embeddings"); it != obj.end() && !it->is_null()) {
      if (!it->is_boolean()) return Bad("tie_word_embeddings", "must be a boolean");
      c.tie_word_embeddings = it->get<bool>();
    }
    if (auto it = obj.find("hidden_act"); it != obj.end() && *it != "silu") {
      return Bad("hidden_act", "must be silu");
    }
    for (std::string_view key : {"attention_bias", "mlp_bias"}) {
      if (auto it = obj.find(key); it != obj.end() && *it == true) return Bad(key, "is not supported");
    }
    if (auto it = obj.find("rope_scaling"); it != obj.end() && !it->is_null()) {
      absl::StatusOr<Llama3RopeScaling> scaling = ParseRopeScaling(*it);
      if (scaling.ok()) {
        c.rope_scaling = *scaling;
      } else if (!absl::IsNotFound(scaling.status())) {
        return scaling.status();
      }
    }
    std::vector<int32_t> bos;
    CAI_RETURN_IF_ERROR(ReadTokenIds(obj, "bos_token_id", &bos));
    if (bos.size() > 1) return Bad("bos_token_id", "must be a single id");
    if (!bos.empty()) c.bos_token_id = bos[0];
    CAI_RETURN_IF_ERROR(ReadTokenIds(obj, "eos_token_id", &c.eos_token_ids));
    for (int32_t id : c.eos_token_ids) {
      if (id >= c.vocab_size) return Bad("eos_token_id", absl::StrCat(id, " is not below vocab_size"));
    }
    if (c.bos_token_id && *c.bos_token_id >= c.vocab_size) return Bad("bos_token_id", "is not below vocab_size");
    return c;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", e.what()));
  }
}

absl::StatusOr<GenerationConfig> ParseGenerationConfig(std::string_view json_text) {
  absl::StatusOr<json> parsed = ParseObject(json_text);
  if (!parsed.ok()) return parsed.status();
  const json& obj = *parsed;
  try {
    GenerationConfig g;
    CAI_RETURN_IF_ERROR(ReadTokenIds(obj, "eos_token_id", &g.eos_token_ids));
    double temperature = -1, top_p = -1;
    CAI_RETURN_IF_ERROR(ReadDouble(obj, "temperature", -1e-9, 100, &temperature));
    CAI_RETURN_IF_ERROR(ReadDouble(obj, "top_p", 0, 1, &top_p));
    if (temperature >= 0) g.temperature = static_cast<float>(temperature);
    if (top_p > 0) g.top_p = static_cast<float>(top_p);
    if (auto it = obj.find("do_sample"); it != obj.end() && it->is_boolean()) g.do_sample = it->get<bool>();
    return g;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("generation_config: ", e.what()));
  }
}

std::vector<double> RopeInverseFrequencies(const LlamaConfig& config) {
  int half = config.head_dim / 2;
  std::vector<double> inv_freq(half);
  for (int i = 0; i < half; ++i) {
    inv_freq[i] = std::pow(config.rope_theta, -2.0 * i / config.head_dim);
  }
  if (!config.rope_scaling) return inv_freq;
  const Llama3RopeScaling& s = *config.rope_scaling;
  double old_context = static_cast<double>(s.original_max_position_embeddings);
  double low_freq_wavelen = old_context / s.low_freq_factor;
  double high_freq_wavelen = old_context / s.high_freq_factor;
  for (double& f : inv_freq) {
    double wavelen = 2 * std::numbers::pi / f;
    if (wavelen < high_freq_wavelen) continue;
    if (wavelen > low_freq_wavelen) {
      f /= s.factor;
    } else {
      double smooth = (old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = (1 - smooth) * f / s.factor + smooth * f;
    }
  }
  return inv_freq;
}

}  // namespace cai::inference
