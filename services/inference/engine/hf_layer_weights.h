#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "services/inference/engine/dtype.h"

#include "absl/strings/str_cat.h"
#include "services/inference/engine/model_config.h"

namespace cai::inference {

// One tensor of a checkpoint: its Hugging Face name and shape ([rows, cols], or [n] for a norm).
struct HfTensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool is_norm = false;
};

// Every tensor of a Llama-architecture checkpoint for `c`, in file order (lm_head only when the
// embeddings are not tied). Used by whatever writes such checkpoints: the demo model, tests, benches.
inline std::vector<HfTensorSpec> LlamaTensorSpecs(const ModelConfig& c) {
  const int64_t d = c.hidden_size, f = c.intermediate_size;
  const int64_t q = int64_t{c.num_attention_heads} * c.head_dim, kv = int64_t{c.num_key_value_heads} * c.head_dim;
  std::vector<HfTensorSpec> specs = {{"model.embed_tokens.weight", {c.vocab_size, d}}};
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = absl::StrCat("model.layers.", i, ".");
    specs.push_back({p + "input_layernorm.weight", {d}, true});
    specs.push_back({p + "self_attn.q_proj.weight", {q, d}});
    specs.push_back({p + "self_attn.k_proj.weight", {kv, d}});
    specs.push_back({p + "self_attn.v_proj.weight", {kv, d}});
    specs.push_back({p + "self_attn.o_proj.weight", {d, q}});
    specs.push_back({p + "post_attention_layernorm.weight", {d}, true});
    specs.push_back({p + "mlp.gate_proj.weight", {f, d}});
    specs.push_back({p + "mlp.up_proj.weight", {f, d}});
    specs.push_back({p + "mlp.down_proj.weight", {d, f}});
  }
  specs.push_back({"model.norm.weight", {d}, true});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, d}});
  return specs;
}

// Gemma 2 multiplies embeddings by sqrt(hidden_size) held in the activation dtype, so with BF16
// weights the scale itself is rounded to BF16 (as Hugging Face does). 1 for other families.
inline float EmbeddingScale(const ModelConfig& c, bool bf16_embeddings) {
  if (c.family != ModelFamily::kGemma2) return 1.0f;
  float scale = static_cast<float>(std::sqrt(static_cast<double>(c.hidden_size)));
  return bf16_embeddings ? Bf16ToF32(F32ToBf16(scale)) : scale;
}

// The Hugging Face tensors of decoder layer `i` for the three families, with their shapes, in one
// place for every backend. `Layer` has the members attn_norm, post_attn_norm, ffn_norm,
// post_ffn_norm, wq, wk, wv, wqkv, wo, w_gate, w_up, w_gate_up, w_down and sliding; `Loader` has
// Matrix(name, rows, cols) and Vector(name, size, offset) and remembers its first error.
//  - Gemma 2: (1 + w) norms (the offset is folded in at load) and sandwich norms: input /
//    post_attention / pre_feedforward / post_feedforward_layernorm. Others: input /
//    post_attention_layernorm, no post_* norms.
//  - Phi-3: fused qkv_proj (Q, K, V rows) and gate_up_proj (gate rows, then up rows).
template <typename Loader, typename Layer>
void LoadHfLayerWeights(const ModelConfig& config, int i, Loader& load, Layer& layer) {
  const bool gemma = config.family == ModelFamily::kGemma2, phi3 = config.family == ModelFamily::kPhi3;
  const int64_t d = config.hidden_size, ffn = config.intermediate_size, hd = config.head_dim;
  const int64_t q_dim = config.num_attention_heads * hd, kv_dim = config.num_key_value_heads * hd;
  const float norm_offset = gemma ? 1.0f : 0.0f;
  const std::string p = absl::StrCat("model.layers.", i, ".");
  layer.sliding = config.sliding_window.has_value() && i < static_cast<int>(config.sliding_layers.size()) &&
                  config.sliding_layers[i];
  layer.attn_norm = load.Vector(p + "input_layernorm.weight", d, norm_offset);
  if (phi3) {
    layer.wqkv = load.Matrix(p + "self_attn.qkv_proj.weight", q_dim + 2 * kv_dim, d);
  } else {
    layer.wq = load.Matrix(p + "self_attn.q_proj.weight", q_dim, d);
    layer.wk = load.Matrix(p + "self_attn.k_proj.weight", kv_dim, d);
    layer.wv = load.Matrix(p + "self_attn.v_proj.weight", kv_dim, d);
  }
  layer.wo = load.Matrix(p + "self_attn.o_proj.weight", d, q_dim);
  if (gemma) {
    layer.post_attn_norm = load.Vector(p + "post_attention_layernorm.weight", d, norm_offset);
    layer.ffn_norm = load.Vector(p + "pre_feedforward_layernorm.weight", d, norm_offset);
    layer.post_ffn_norm = load.Vector(p + "post_feedforward_layernorm.weight", d, norm_offset);
  } else {
    layer.ffn_norm = load.Vector(p + "post_attention_layernorm.weight", d, norm_offset);
  }
  if (phi3) {
    layer.w_gate_up = load.Matrix(p + "mlp.gate_up_proj.weight", 2 * ffn, d);
  } else {
    layer.w_gate = load.Matrix(p + "mlp.gate_proj.weight", ffn, d);
    layer.w_up = load.Matrix(p + "mlp.up_proj.weight", ffn, d);
  }
  layer.w_down = load.Matrix(p + "mlp.down_proj.weight", d, ffn);
}

}  // namespace cai::inference
