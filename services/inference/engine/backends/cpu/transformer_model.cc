#include "services/inference/engine/backends/cpu/transformer_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "services/inference/engine/backends/cpu/ops.h"
#include "services/inference/engine/hf_layer_weights.h"

namespace cai::inference {
namespace {

// Prefill runs in chunks so scratch memory stays bounded for long prompts.
constexpr size_t kMaxChunkTokens = 64;

}  // namespace

// Reads tensors by their Hugging Face names and checks their shapes; the first error sticks.
class TransformerModel::Loader {
 public:
  Loader(const Checkpoint& checkpoint, bool borrow) : checkpoint_(checkpoint), borrow_(borrow) {}

  const absl::Status& status() const { return status_; }
  int64_t num_parameters() const { return num_parameters_; }

  WeightMatrix Matrix(const std::string& name, int64_t rows, int64_t cols) {
    const Tensor* t = Find(name, {rows, cols});
    if (t == nullptr) return {};
    const uint8_t* data = t->data.data();
    bool aligned = reinterpret_cast<uintptr_t>(data) % DTypeSize(t->dtype) == 0;
    if (borrow_ && aligned && t->dtype != DType::kF16) return WeightMatrix::Borrow(t->dtype, data, rows, cols);
    if (t->dtype == DType::kBF16) {
      std::vector<uint16_t> bits(static_cast<size_t>(t->num_elements));
      std::memcpy(bits.data(), data, bits.size() * 2);
      return WeightMatrix::OwnBf16(std::move(bits), rows, cols);
    }
    std::vector<float> values(static_cast<size_t>(t->num_elements));
    ConvertToF32(t->dtype, data, values.size(), values.data());
    return WeightMatrix::OwnF32(std::move(values), rows, cols);
  }

  // A norm weight in F32, plus `offset` (Gemma stores w and multiplies by 1 + w).
  std::vector<float> Vector(const std::string& name, int64_t n, float offset) {
    const Tensor* t = Find(name, {n});
    if (t == nullptr) return {};
    std::vector<float> values(static_cast<size_t>(n));
    ConvertToF32(t->dtype, t->data.data(), values.size(), values.data());
    for (float& v : values) v += offset;
    return values;
  }

  std::optional<DType> DTypeOf(const std::string& name) const {
    absl::StatusOr<const Tensor*> t = checkpoint_.Get(name);
    return t.ok() ? std::optional<DType>((*t)->dtype) : std::nullopt;
  }

 private:
  const Tensor* Find(const std::string& name, const std::vector<int64_t>& shape) {
    if (!status_.ok()) return nullptr;
    absl::StatusOr<const Tensor*> t = checkpoint_.Get(name, shape);
    if (!t.ok()) {
      status_ = t.status();
      return nullptr;
    }
    num_parameters_ += (*t)->num_elements;
    return *t;
  }

  const Checkpoint& checkpoint_;
  const bool borrow_;
  absl::Status status_;
  int64_t num_parameters_ = 0;
};

TransformerModel::TransformerModel(const ModelConfig& config, int num_threads)
    : config_(config), pool_(std::make_unique<ThreadPool>(num_threads)) {
  for (double f : RopeInverseFrequencies(config)) inv_freq_.push_back(static_cast<float>(f));
}

absl::StatusOr<std::unique_ptr<TransformerModel>> TransformerModel::Load(const ModelConfig& config,
                                                                         const Checkpoint& checkpoint,
                                                                         int num_threads) {
  return LoadWeights(config, checkpoint, /*borrow=*/false, num_threads);
}

absl::StatusOr<std::unique_ptr<TransformerModel>> TransformerModel::Load(
    const ModelConfig& config, std::shared_ptr<const Checkpoint> checkpoint, int num_threads) {
  if (checkpoint == nullptr) return absl::InvalidArgumentError("no checkpoint");
  absl::StatusOr<std::unique_ptr<TransformerModel>> model =
      LoadWeights(config, *checkpoint, /*borrow=*/true, num_threads);
  if (model.ok()) (*model)->checkpoint_ = std::move(checkpoint);
  return model;
}

absl::StatusOr<std::unique_ptr<TransformerModel>> TransformerModel::LoadWeights(const ModelConfig& config,
                                                                               const Checkpoint& checkpoint,
                                                                               bool borrow, int num_threads) {
  std::unique_ptr<TransformerModel> model(new TransformerModel(config, num_threads));
  const bool gemma = config.family == ModelFamily::kGemma2;
  const int64_t d = config.hidden_size;
  const float norm_offset = gemma ? 1.0f : 0.0f;  // Gemma's (1 + w) norms
  Loader load(checkpoint, borrow);

  model->embed_ = load.Matrix("model.embed_tokens.weight", config.vocab_size, d);
  model->embed_scale_ = EmbeddingScale(config, load.DTypeOf("model.embed_tokens.weight") == DType::kBF16);
  model->layers_.resize(config.num_hidden_layers);
  for (int i = 0; i < config.num_hidden_layers; ++i) {
    Layer& layer = model->layers_[i];
    LoadHfLayerWeights(config, i, load, layer);
    for (const WeightMatrix* m : {&layer.wq, &layer.wk, &layer.wv, &layer.wqkv, &layer.wo, &layer.w_gate,
                                  &layer.w_up, &layer.w_gate_up, &layer.w_down}) {
      model->decode_weight_bytes_ += m->bytes();
    }
  }
  model->final_norm_ = load.Vector("model.norm.weight", d, norm_offset);
  if (!config.tie_word_embeddings) model->lm_head_ = load.Matrix("lm_head.weight", config.vocab_size, d);
  if (!load.status().ok()) return load.status();
  model->decode_weight_bytes_ += (model->lm_head_.empty() ? model->embed_ : model->lm_head_).bytes();
  model->num_parameters_ = load.num_parameters();
  return model;
}

KvCache TransformerModel::NewCache() const {
  return KvCache(config_.num_hidden_layers, config_.num_key_value_heads * config_.head_dim);
}

PagedKvCache TransformerModel::NewPagedCache(int64_t num_blocks) const {
  return PagedKvCache(config_.num_hidden_layers, config_.num_key_value_heads * config_.head_dim, num_blocks);
}

int64_t TransformerModel::kv_block_bytes() const {
  return PagedKvCache::BlockBytes(config_.num_hidden_layers, config_.num_key_value_heads * config_.head_dim);
}

absl::Status TransformerModel::CheckTokens(std::span<const int32_t> tokens, int64_t start) const {
  if (tokens.empty()) return absl::InvalidArgumentError("forward: no tokens");
  if (start < 0 || start + static_cast<int64_t>(tokens.size()) > config_.max_position_embeddings) {
    return absl::OutOfRangeError(absl::StrCat("forward: ", start + tokens.size(),
                                              " positions exceed the context of ",
                                              config_.max_position_embeddings));
  }
  for (int32_t token : tokens) {
    if (token < 0 || token >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("forward: token id ", token, " is outside the vocabulary"));
    }
  }
  return absl::OkStatus();
}

absl::Status TransformerModel::Forward(std::span<const int32_t> tokens, KvCache& cache,
                                       std::span<float> logits) const {
  if (logits.size() != static_cast<size_t>(config_.vocab_size)) {
    return absl::InvalidArgumentError("forward: logits buffer is not vocab_size floats");
  }
  if (cache.k.size() != layers_.size() || cache.kv_dim != config_.num_key_value_heads * config_.head_dim) {
    return absl::InvalidArgumentError("forward: the cache was not made by this model");
  }
  if (absl::Status status = CheckTokens(tokens, cache.length); !status.ok()) return status;
  cache.Reserve(cache.length + static_cast<int64_t>(tokens.size()));
  KvStore kv;
  for (size_t l = 0; l < layers_.size(); ++l) {
    kv.k.push_back(cache.k[l].data());
    kv.v.push_back(cache.v[l].data());
  }
  kv.block_positions = static_cast<size_t>(cache.capacity);
  const int32_t only_block = 0;
  // Prefill runs in chunks so scratch memory stays bounded for long prompts.
  for (size_t begin = 0; begin < tokens.size(); begin += kMaxChunkTokens) {
    size_t count = std::min(kMaxChunkTokens, tokens.size() - begin);
    const BatchSequence chunk{tokens.subspan(begin, count), cache.length, {&only_block, 1}};
    Run({&chunk, 1}, kv, begin + count == tokens.size() ? logits.data() : nullptr);
    cache.length += static_cast<int64_t>(count);
  }
  return absl::OkStatus();
}

absl::Status TransformerModel::ForwardBatch(std::span<const BatchSequence> batch, PagedKvCache& cache,
                                            std::span<float> logits) const {
  if (batch.empty()) return absl::InvalidArgumentError("forward: empty batch");
  CAI_ASSIGN_OR_RETURN(const size_t rows, CheckedLogitRows(batch));
  if (logits.size() != rows * static_cast<size_t>(config_.vocab_size)) {
    return absl::InvalidArgumentError("forward: logits buffer is not logit rows x vocab_size floats");
  }
  if (cache.num_layers() != static_cast<int>(layers_.size()) ||
      cache.kv_dim() != config_.num_key_value_heads * config_.head_dim) {
    return absl::InvalidArgumentError("forward: the cache was not made by this model");
  }
  for (const BatchSequence& seq : batch) {
    if (absl::Status status = CheckTokens(seq.tokens, seq.start); !status.ok()) return status;
    const int64_t end = seq.start + static_cast<int64_t>(seq.tokens.size());
    if (static_cast<int64_t>(seq.block_table.size()) < KvBlocksFor(end)) {
      return absl::InvalidArgumentError("forward: the block table does not cover the sequence");
    }
    for (int32_t block : seq.block_table) {
      if (block < 0 || block >= cache.num_blocks()) {
        return absl::InvalidArgumentError(absl::StrCat("forward: block ", block, " is outside the cache"));
      }
    }
  }
  KvStore kv;
  for (int l = 0; l < cache.num_layers(); ++l) {
    kv.k.push_back(cache.k(l));
    kv.v.push_back(cache.v(l));
  }
  kv.block_positions = kKvBlockSize;
  Run(batch, kv, logits.data());
  return absl::OkStatus();
}

void TransformerModel::Norm(float* out, const float* x, const std::vector<float>& weight, size_t tokens) const {
  const size_t d = config_.hidden_size;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  for (size_t t = 0; t < tokens; ++t) RmsNorm(out + t * d, x + t * d, weight.data(), d, eps);
}

void TransformerModel::Run(std::span<const BatchSequence> batch, const KvStore& kv, float* logits) const {
  const size_t d = config_.hidden_size, ffn = config_.intermediate_size, hd = config_.head_dim;
  const size_t heads = config_.num_attention_heads, kv_heads = config_.num_key_value_heads;
  const size_t q_dim = heads * hd, kv_dim = kv_heads * hd, group = heads / kv_heads;
  const size_t qkv_dim = q_dim + 2 * kv_dim;
  const size_t block_floats = kv.block_positions * kv_dim;

  // Row t is token t of the concatenated batch: sequence row_seq[t] at position row_pos[t].
  std::vector<size_t> row_seq;
  std::vector<int64_t> row_pos;
  int64_t longest = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    for (size_t i = 0; i < batch[s].tokens.size(); ++i) {
      row_seq.push_back(s);
      row_pos.push_back(batch[s].start + static_cast<int64_t>(i));
    }
    longest = std::max(longest, row_pos.back() + 1);
  }
  const size_t n = row_seq.size();
  auto kv_offset = [&](size_t t) {
    const int64_t p = row_pos[t];
    const std::span<const int32_t> table = batch[row_seq[t]].block_table;
    return static_cast<size_t>(table[p / kv.block_positions]) * block_floats + (p % kv.block_positions) * kv_dim;
  };

  const double pre_attn_scalar = config_.query_pre_attn_scalar > 0 ? config_.query_pre_attn_scalar : double(hd);
  const AttentionParams attention{static_cast<float>(1.0 / std::sqrt(pre_attn_scalar)),
                                  static_cast<float>(config_.attn_logit_softcapping)};
  const bool silu = config_.activation == Activation::kSilu;

  // Per token: qkv holds q | k | v, gate_up holds gate | up.
  std::vector<float> x(n * d), xn(n * d), proj(n * d), qkv(n * qkv_dim), att(n * q_dim);
  std::vector<float> gate_up(n * 2 * ffn), act(n * ffn), cos(n * hd / 2), sin(n * hd / 2);
  for (size_t t = 0; t < n; ++t) {
    embed_.RowToF32(batch[row_seq[t]].tokens[row_pos[t] - batch[row_seq[t]].start], x.data() + t * d);
    if (embed_scale_ != 1) {
      for (size_t i = 0; i < d; ++i) x[t * d + i] *= embed_scale_;
    }
    RopeCosSin(inv_freq_, row_pos[t], cos.data() + t * hd / 2, sin.data() + t * hd / 2);
  }

  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    Norm(xn.data(), x.data(), layer.attn_norm, n);
    if (!layer.wqkv.empty()) {
      MatMul(qkv.data(), qkv_dim, xn.data(), n, layer.wqkv, *pool_);
    } else {
      MatMul(qkv.data(), qkv_dim, xn.data(), n, layer.wq, *pool_);
      MatMul(qkv.data() + q_dim, qkv_dim, xn.data(), n, layer.wk, *pool_);
      MatMul(qkv.data() + q_dim + kv_dim, qkv_dim, xn.data(), n, layer.wv, *pool_);
    }
    float* k_cache = kv.k[l];
    float* v_cache = kv.v[l];
    for (size_t t = 0; t < n; ++t) {
      float* q = qkv.data() + t * qkv_dim;
      ApplyRope(q, heads, hd, cos.data() + t * hd / 2, sin.data() + t * hd / 2);
      ApplyRope(q + q_dim, kv_heads, hd, cos.data() + t * hd / 2, sin.data() + t * hd / 2);
      std::copy_n(q + q_dim, kv_dim, k_cache + kv_offset(t));
      std::copy_n(q + q_dim + kv_dim, kv_dim, v_cache + kv_offset(t));
    }
    // Token t at position p sees [first, p] of its own sequence: the causal mask, narrowed to
    // the last W positions on sliding layers. Query head h reads kv head h / group.
    const int64_t window = layer.sliding ? *config_.sliding_window : 0;
    pool_->ParallelFor(n * heads, [&](size_t begin, size_t end) {
      std::vector<float> scores(static_cast<size_t>(longest));
      for (size_t i = begin; i < end; ++i) {
        size_t t = i / heads, h = i % heads, kvh = h / group;
        int64_t pos = row_pos[t];
        int64_t first = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
        const KvBlocks blocks{k_cache + kvh * hd, v_cache + kvh * hd, batch[row_seq[t]].block_table,
                              kv.block_positions, kv_dim};
        AttendHeadBlocks(att.data() + t * q_dim + h * hd, qkv.data() + t * qkv_dim + h * hd, blocks,
                         static_cast<size_t>(first), static_cast<size_t>(pos + 1), hd, attention, scores.data());
      }
    });
    MatMul(proj.data(), d, att.data(), n, layer.wo, *pool_);
    if (!layer.post_attn_norm.empty()) Norm(proj.data(), proj.data(), layer.post_attn_norm, n);
    for (size_t i = 0; i < n * d; ++i) x[i] += proj[i];

    Norm(xn.data(), x.data(), layer.ffn_norm, n);
    if (!layer.w_gate_up.empty()) {
      MatMul(gate_up.data(), 2 * ffn, xn.data(), n, layer.w_gate_up, *pool_);
    } else {
      MatMul(gate_up.data(), 2 * ffn, xn.data(), n, layer.w_gate, *pool_);
      MatMul(gate_up.data() + ffn, 2 * ffn, xn.data(), n, layer.w_up, *pool_);
    }
    for (size_t t = 0; t < n; ++t) {
      const float* gate = gate_up.data() + t * 2 * ffn;
      const float* up = gate + ffn;
      float* out = act.data() + t * ffn;
      for (size_t i = 0; i < ffn; ++i) out[i] = (silu ? Silu(gate[i]) : GeluTanh(gate[i])) * up[i];
    }
    MatMul(proj.data(), d, act.data(), n, layer.w_down, *pool_);
    if (!layer.post_ffn_norm.empty()) Norm(proj.data(), proj.data(), layer.post_ffn_norm, n);
    for (size_t i = 0; i < n * d; ++i) x[i] += proj[i];
  }
  // Only each sequence's last logit_rows tokens need logits (at most n rows, so xn has room).
  if (logits == nullptr) return;
  const size_t vocab = static_cast<size_t>(config_.vocab_size);
  size_t end = 0, rows = 0;
  for (const BatchSequence& seq : batch) {
    end += seq.tokens.size();
    const size_t count = static_cast<size_t>(seq.logit_rows);
    Norm(xn.data() + rows * d, x.data() + (end - count) * d, final_norm_, count);
    rows += count;
  }
  MatMul(logits, vocab, xn.data(), rows, lm_head_.empty() ? embed_ : lm_head_, *pool_);
  if (float cap = static_cast<float>(config_.final_logit_softcapping); cap > 0) {
    for (size_t i = 0; i < rows * vocab; ++i) logits[i] = SoftCap(logits[i], cap);
  }
}

}  // namespace cai::inference
