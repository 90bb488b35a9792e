#include "services/inference/engine/llama_model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/inference/engine/ops.h"

namespace cai::inference {
namespace {

// Prefill runs in chunks so scratch memory stays bounded for long prompts.
constexpr size_t kMaxChunkTokens = 64;

absl::StatusOr<std::vector<float>> LoadTensor(const Checkpoint& checkpoint, const std::string& name,
                                              std::vector<int64_t> shape, int64_t* num_parameters) {
  absl::StatusOr<const Tensor*> tensor = checkpoint.Get(name);
  if (!tensor.ok()) return tensor.status();
  if ((*tensor)->shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has shape [",
                                                   absl::StrJoin((*tensor)->shape, ", "), "], expected [",
                                                   absl::StrJoin(shape, ", "), "]"));
  }
  std::vector<float> values(static_cast<size_t>((*tensor)->num_elements));
  ConvertToF32((*tensor)->dtype, (*tensor)->data.data(), values.size(), values.data());
  *num_parameters += (*tensor)->num_elements;
  return values;
}

}  // namespace

LlamaModel::LlamaModel(const LlamaConfig& config, int num_threads)
    : config_(config), pool_(std::make_unique<ThreadPool>(num_threads)) {
  for (double f : RopeInverseFrequencies(config)) inv_freq_.push_back(static_cast<float>(f));
}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const LlamaConfig& config,
                                                             const Checkpoint& checkpoint, int num_threads) {
  std::unique_ptr<LlamaModel> model(new LlamaModel(config, num_threads));
  const int64_t d = config.hidden_size, ffn = config.intermediate_size, hd = config.head_dim;
  const int64_t q_dim = config.num_attention_heads * hd, kv_dim = config.num_key_value_heads * hd;
  int64_t* count = &model->num_parameters_;
  absl::Status status;
  auto load = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float>* out) {
    if (!status.ok()) return;
    absl::StatusOr<std::vector<float>> values = LoadTensor(checkpoint, name, std::move(shape), count);
    if (values.ok()) {
      *out = *std::move(values);
    } else {
      status = values.status();
    }
  };
  load("model.embed_tokens.weight", {config.vocab_size, d}, &model->embed_);
  model->layers_.resize(config.num_hidden_layers);
  for (int i = 0; i < config.num_hidden_layers; ++i) {
    std::string p = absl::StrCat("model.layers.", i, ".");
    Layer& layer = model->layers_[i];
    load(p + "input_layernorm.weight", {d}, &layer.input_norm);
    load(p + "self_attn.q_proj.weight", {q_dim, d}, &layer.wq);
    load(p + "self_attn.k_proj.weight", {kv_dim, d}, &layer.wk);
    load(p + "self_attn.v_proj.weight", {kv_dim, d}, &layer.wv);
    load(p + "self_attn.o_proj.weight", {d, q_dim}, &layer.wo);
    load(p + "post_attention_layernorm.weight", {d}, &layer.post_norm);
    load(p + "mlp.gate_proj.weight", {ffn, d}, &layer.w_gate);
    load(p + "mlp.up_proj.weight", {ffn, d}, &layer.w_up);
    load(p + "mlp.down_proj.weight", {d, ffn}, &layer.w_down);
  }
  load("model.norm.weight", {d}, &model->final_norm_);
  if (!config.tie_word_embeddings) load("lm_head.weight", {config.vocab_size, d}, &model->lm_head_);
  if (!status.ok()) return status;
  return model;
}

KvCache LlamaModel::NewCache() const {
  return KvCache(config_.num_hidden_layers, config_.num_key_value_heads * config_.head_dim);
}

absl::Status LlamaModel::Forward(std::span<const int32_t> tokens, KvCache& cache, std::span<float> logits) const {
  if (tokens.empty()) return absl::InvalidArgumentError("forward: no tokens");
  if (logits.size() != static_cast<size_t>(config_.vocab_size)) {
    return absl::InvalidArgumentError("forward: logits buffer is not vocab_size floats");
  }
  if (cache.length + static_cast<int64_t>(tokens.size()) > config_.max_position_embeddings) {
    return absl::OutOfRangeError(absl::StrCat("forward: ", cache.length + tokens.size(),
                                              " positions exceed the context of ",
                                              config_.max_position_embeddings));
  }
  for (int32_t token : tokens) {
    if (token < 0 || token >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("forward: token id ", token, " is outside the vocabulary"));
    }
  }
  for (size_t begin = 0; begin < tokens.size(); begin += kMaxChunkTokens) {
    size_t count = std::min(kMaxChunkTokens, tokens.size() - begin);
    absl::Status status = ForwardChunk(tokens.subspan(begin, count), cache,
                                       begin + count == tokens.size() ? logits : std::span<float>());
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status LlamaModel::ForwardChunk(std::span<const int32_t> tokens, KvCache& cache,
                                      std::span<float> logits) const {
  const size_t n = tokens.size();
  const size_t d = config_.hidden_size, ffn = config_.intermediate_size, hd = config_.head_dim;
  const size_t heads = config_.num_attention_heads, kv_heads = config_.num_key_value_heads;
  const size_t q_dim = heads * hd, kv_dim = kv_heads * hd, group = heads / kv_heads;
  const int64_t start = cache.length;
  cache.Reserve(start + static_cast<int64_t>(n));

  std::vector<float> x(n * d), xn(n * d), q(n * q_dim), k(n * kv_dim), v(n * kv_dim), att(n * q_dim);
  std::vector<float> gate(n * ffn), up(n * ffn), cos(n * hd / 2), sin(n * hd / 2);
  for (size_t t = 0; t < n; ++t) {
    std::copy_n(embed_.data() + static_cast<size_t>(tokens[t]) * d, d, x.data() + t * d);
    RopeCosSin(inv_freq_, start + static_cast<int64_t>(t), cos.data() + t * hd / 2, sin.data() + t * hd / 2);
  }
  const float eps = static_cast<float>(config_.rms_norm_eps);

  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    for (size_t t = 0; t < n; ++t) RmsNorm(xn.data() + t * d, x.data() + t * d, layer.input_norm.data(), d, eps);
    MatMul(q.data(), xn.data(), layer.wq.data(), n, q_dim, d, *pool_);
    MatMul(k.data(), xn.data(), layer.wk.data(), n, kv_dim, d, *pool_);
    MatMul(v.data(), xn.data(), layer.wv.data(), n, kv_dim, d, *pool_);
    float* k_cache = cache.k[l].data();
    float* v_cache = cache.v[l].data();
    for (size_t t = 0; t < n; ++t) {
      ApplyRope(q.data() + t * q_dim, heads, hd, cos.data() + t * hd / 2, sin.data() + t * hd / 2);
      ApplyRope(k.data() + t * kv_dim, kv_heads, hd, cos.data() + t * hd / 2, sin.data() + t * hd / 2);
      std::copy_n(k.data() + t * kv_dim, kv_dim, k_cache + (start + t) * kv_dim);
      std::copy_n(v.data() + t * kv_dim, kv_dim, v_cache + (start + t) * kv_dim);
    }
    // Token t sees positions [0, start + t]: the causal mask. Query head h reads kv head h / group.
    pool_->ParallelFor(n * heads, [&](size_t begin, size_t end) {
      std::vector<float> scores(start + n);
      for (size_t i = begin; i < end; ++i) {
        size_t t = i / heads, h = i % heads, kvh = h / group;
        AttendHead(att.data() + t * q_dim + h * hd, q.data() + t * q_dim + h * hd, k_cache + kvh * hd,
                   v_cache + kvh * hd, start + t + 1, hd, kv_dim, scores.data());
      }
    });
    MatMul(xn.data(), att.data(), layer.wo.data(), n, d, q_dim, *pool_);
    for (size_t i = 0; i < n * d; ++i) x[i] += xn[i];

    for (size_t t = 0; t < n; ++t) RmsNorm(xn.data() + t * d, x.data() + t * d, layer.post_norm.data(), d, eps);
    MatMul(gate.data(), xn.data(), layer.w_gate.data(), n, ffn, d, *pool_);
    MatMul(up.data(), xn.data(), layer.w_up.data(), n, ffn, d, *pool_);
    for (size_t i = 0; i < n * ffn; ++i) gate[i] = Silu(gate[i]) * up[i];
    MatMul(xn.data(), gate.data(), layer.w_down.data(), n, d, ffn, *pool_);
    for (size_t i = 0; i < n * d; ++i) x[i] += xn[i];
  }
  cache.length = start + static_cast<int64_t>(n);

  // Only the last token's logits are needed (and only after the last chunk).
  if (logits.empty()) return absl::OkStatus();
  const float* last = x.data() + (n - 1) * d;
  RmsNorm(xn.data(), last, final_norm_.data(), d, eps);
  const std::vector<float>& head = lm_head_.empty() ? embed_ : lm_head_;
  MatMul(logits.data(), xn.data(), head.data(), 1, config_.vocab_size, d, *pool_);
  return absl::OkStatus();
}

}  // namespace cai::inference
