#include "services/inference/engine/model_config.h"

#include <cmath>
#include <numbers>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"

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

// A positive number, or null/absent: null keeps 0 (the feature is off), absent keeps `*out`.
absl::Status ReadOptionalPositive(const json& obj, std::string_view key, double hi, double* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return absl::OkStatus();
  if (it->is_null()) {
    *out = 0;
    return absl::OkStatus();
  }
  return ReadDouble(obj, key, 0, hi, out);
}

// Which layers slide, and how far. Gemma 2 slides on the layers `layer_types` names (the even
// ones by default, W = 4096 by default); Mistral and Phi-3 slide on every layer when
// `sliding_window` is set; Llama has no window.
absl::Status ReadSlidingWindow(const json& obj, ModelConfig* c) {
  c->sliding_layers.assign(c->num_hidden_layers, false);
  const bool gemma = c->family == ModelFamily::kGemma2;
  auto it = obj.find("sliding_window");
  bool has_window = it != obj.end() && !it->is_null();
  if (c->architecture == "LlamaForCausalLM") {
    return has_window ? Bad("sliding_window", "is not supported for LlamaForCausalLM") : absl::OkStatus();
  }
  int window = gemma ? 4096 : 0;
  if (has_window) CAI_RETURN_IF_ERROR(ReadInt(obj, "sliding_window", 1, 1 << 24, true, &window));
  if (window == 0) return absl::OkStatus();
  c->sliding_window = window;
  if (!gemma) {
    c->sliding_layers.assign(c->num_hidden_layers, true);
    return absl::OkStatus();
  }
  auto types = obj.find("layer_types");
  if (types == obj.end() || types->is_null()) {
    for (int i = 0; i < c->num_hidden_layers; ++i) c->sliding_layers[i] = i % 2 == 0;
    return absl::OkStatus();
  }
  if (!types->is_array() || types->size() != static_cast<size_t>(c->num_hidden_layers)) {
    return Bad("layer_types", "must list one type per hidden layer");
  }
  for (int i = 0; i < c->num_hidden_layers; ++i) {
    const json& type = (*types)[i];
    if (type == "sliding_attention") {
      c->sliding_layers[i] = true;
    } else if (type != "full_attention") {
      return Bad("layer_types", "entries must be \"sliding_attention\" or \"full_attention\"");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text) {
  absl::StatusOr<json> parsed = ParseObject(json_text);
  if (!parsed.ok()) return parsed.status();
  const json& obj = *parsed;
  try {
    ModelConfig c;
    c.model_type = obj.value("model_type", std::string());
    if (auto it = obj.find("architectures"); it != obj.end() && it->is_array() && !it->empty() &&
                                              (*it)[0].is_string()) {
      c.architecture = (*it)[0].get<std::string>();
    }
    if (c.architecture.empty()) {
      if (c.model_type == "llama") c.architecture = "LlamaForCausalLM";
      if (c.model_type == "mistral") c.architecture = "MistralForCausalLM";
      if (c.model_type == "gemma2") c.architecture = "Gemma2ForCausalLM";
      if (c.model_type == "phi3") c.architecture = "Phi3ForCausalLM";
    }
    if (c.architecture == "LlamaForCausalLM" || c.architecture == "MistralForCausalLM") {
      c.family = ModelFamily::kLlama;
    } else if (c.architecture == "Gemma2ForCausalLM") {
      c.family = ModelFamily::kGemma2;
    } else if (c.architecture == "Phi3ForCausalLM") {
      c.family = ModelFamily::kPhi3;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: architecture '", c.architecture.substr(0, 64), "' (model_type '", c.model_type.substr(0, 64),
          "') is not supported; supported: LlamaForCausalLM, MistralForCausalLM, Gemma2ForCausalLM, "
          "Phi3ForCausalLM"));
    }
    const bool gemma = c.family == ModelFamily::kGemma2;
    CAI_RETURN_IF_ERROR(ReadInt(obj, "hidden_size", 1, 65536, true, &c.hidden_size));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "intermediate_size", 1, 1 << 20, true, &c.intermediate_size));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "num_hidden_layers", 1, 1024, true, &c.num_hidden_layers));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "num_attention_heads", 1, 1024, true, &c.num_attention_heads));
    c.num_key_value_heads = c.num_attention_heads;
    CAI_RETURN_IF_ERROR(ReadInt(obj, "num_key_value_heads", 1, 1024, false, &c.num_key_value_heads));
    // Gemma2Config defaults head_dim to 256; the others derive it from the hidden size.
    if (gemma) {
      c.head_dim = 256;
    } else {
      if (c.hidden_size % c.num_attention_heads != 0 && obj.find("head_dim") == obj.end()) {
        return Bad("hidden_size", "must be divisible by num_attention_heads");
      }
      c.head_dim = c.hidden_size / c.num_attention_heads;
    }
    CAI_RETURN_IF_ERROR(ReadInt(obj, "head_dim", 2, 1024, false, &c.head_dim));
    if (c.head_dim % 2 != 0) return Bad("head_dim", "must be even for RoPE");
    if (c.num_attention_heads % c.num_key_value_heads != 0) {
      return Bad("num_attention_heads", absl::StrCat("(", c.num_attention_heads,
                                                     ") must be a multiple of num_key_value_heads (",
                                                     c.num_key_value_heads, ")"));
    }
    if (gemma) c.rms_norm_eps = 1e-6;
    CAI_RETURN_IF_ERROR(ReadDouble(obj, "rms_norm_eps", 0, 1, &c.rms_norm_eps));
    CAI_RETURN_IF_ERROR(ReadDouble(obj, "rope_theta", 0, 1e12, &c.rope_theta));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "vocab_size", 1, 1 << 22, true, &c.vocab_size));
    CAI_RETURN_IF_ERROR(ReadInt(obj, "max_position_embeddings", 1, 1 << 24, true, &c.max_position_embeddings));
    c.tie_word_embeddings = gemma;  // Gemma2Config's default; the others default to untied
    if (auto it = obj.find("tie_word_embeddings"); it != obj.end() && !it->is_null()) {
      if (!it->is_boolean()) return Bad("tie_word_embeddings", "must be a boolean");
      c.tie_word_embeddings = it->get<bool>();
    }
    // Gemma 2 names its activation `hidden_activation`; the others `hidden_act`.
    std::string_view act_key = gemma ? "hidden_activation" : "hidden_act";
    std::string act = gemma ? "gelu_pytorch_tanh" : "silu";
    if (auto it = obj.find(act_key); it != obj.end() && !it->is_null()) {
      if (!it->is_string()) return Bad(act_key, "must be a string");
      act = it->get<std::string>();
    }
    if (act == "silu") {
      c.activation = Activation::kSilu;
    } else if (act == "gelu_pytorch_tanh") {
      c.activation = Activation::kGeluTanh;
    } else {
      return Bad(act_key, absl::StrCat("is '", act.substr(0, 32), "'; must be ", gemma ? "gelu_pytorch_tanh" : "silu"));
    }
    if (gemma != (c.activation == Activation::kGeluTanh)) {
      return Bad(act_key, absl::StrCat("must be ", gemma ? "gelu_pytorch_tanh" : "silu"));
    }
    for (std::string_view key : {"attention_bias", "mlp_bias"}) {
      if (auto it = obj.find(key); it != obj.end() && *it == true) return Bad(key, "is not supported");
    }

    c.query_pre_attn_scalar = c.head_dim;
    if (gemma) {
      c.query_pre_attn_scalar = 256;
      c.attn_logit_softcapping = 50;
      c.final_logit_softcapping = 30;
      CAI_RETURN_IF_ERROR(ReadOptionalPositive(obj, "query_pre_attn_scalar", 1e6, &c.query_pre_attn_scalar));
      if (c.query_pre_attn_scalar == 0) return Bad("query_pre_attn_scalar", "must be set");
      CAI_RETURN_IF_ERROR(ReadOptionalPositive(obj, "attn_logit_softcapping", 1e6, &c.attn_logit_softcapping));
      CAI_RETURN_IF_ERROR(ReadOptionalPositive(obj, "final_logit_softcapping", 1e6, &c.final_logit_softcapping));
    } else {
      for (std::string_view key : {"query_pre_attn_scalar", "attn_logit_softcapping", "final_logit_softcapping"}) {
        if (auto it = obj.find(key); it != obj.end() && !it->is_null()) {
          return Bad(key, absl::StrCat("is not part of ", c.architecture));
        }
      }
    }

    CAI_RETURN_IF_ERROR(ReadSlidingWindow(obj, &c));

    if (auto it = obj.find("rope_scaling"); it != obj.end() && !it->is_null()) {
      if (c.family == ModelFamily::kPhi3) {
        return absl::UnimplementedError(absl::StrCat(
            "config: Phi-3 rope_scaling (", it->is_object() ? it->value("type", it->value("rope_type", "?")) : "?",
            ") is not implemented; only rope_scaling null (the 4k-context models) is supported"));
      }
      absl::StatusOr<Llama3RopeScaling> scaling = ParseRopeScaling(*it);
      if (scaling.ok()) {
        c.rope_scaling = *scaling;
      } else if (!absl::IsNotFound(scaling.status())) {
        return scaling.status();
      }
    }
    if (auto it = obj.find("partial_rotary_factor"); it != obj.end() && !it->is_null()) {
      if (!it->is_number() || it->get<double>() != 1.0) {
        return absl::UnimplementedError("config: 'partial_rotary_factor' other than 1.0 is not implemented");
      }
    }

    std::vector<int32_t> bos;
    CAI_RETURN_IF_ERROR(ReadTokenIds(obj, "bos_token_id", &bos));
    if (bos.size() > 1) return Bad("bos_token_id", "must be a single id");
    if (!bos.empty()) c.bos_token_id = bos[0];
    CAI_RETURN_IF_ERROR(ReadTokenIds(obj, "eos_token_id", &c.eos_token_ids));
    for (absl::Status below : {CheckTokenIdsBelowVocab("eos_token_id", c.eos_token_ids, c.vocab_size),
                               CheckTokenIdsBelowVocab("bos_token_id", bos, c.vocab_size)}) {
      if (!below.ok()) return absl::InvalidArgumentError(absl::StrCat("config: ", below.message()));
    }
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

absl::StatusOr<TokenizerConfig> ParseTokenizerConfig(std::string_view json_text) {
  absl::StatusOr<json> parsed = ParseObject(json_text);
  if (!parsed.ok()) return parsed.status();
  auto read_token = [&](std::string_view key, std::optional<std::string>* out) -> absl::Status {
    auto it = parsed->find(key);
    if (it == parsed->end() || it->is_null()) return absl::OkStatus();
    const json* text = &*it;
    if (it->is_object()) {
      auto content = it->find("content");
      if (content == it->end()) return Bad(key, "is an object without \"content\"");
      text = &*content;
    }
    if (!text->is_string()) return Bad(key, "must be a string or an object with a string \"content\"");
    if (!text->get_ref<const std::string&>().empty()) *out = text->get<std::string>();
    return absl::OkStatus();
  };
  TokenizerConfig t;
  CAI_RETURN_IF_ERROR(read_token("bos_token", &t.bos_token));
  CAI_RETURN_IF_ERROR(read_token("eos_token", &t.eos_token));
  return t;
}

absl::Status CheckTokenIdsBelowVocab(std::string_view key, const std::vector<int32_t>& ids, int vocab_size) {
  for (int32_t id : ids) {
    if (id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(key), " ", id, " is not below vocab_size ", vocab_size));
    }
  }
  return absl::OkStatus();
}

std::vector<double> RopeInverseFrequencies(const ModelConfig& config) {
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
