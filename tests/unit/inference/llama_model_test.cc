#include "services/inference/engine/backends/cpu/transformer_model.h"

#include <cmath>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "services/inference/engine/checkpoint.h"
#include "tests/unit/inference/test_model.h"

namespace cai::inference {
namespace {

using testing::NamedWeights;

// A straightforward double-precision Llama forward over the whole sequence, written from the HF
// modeling code without any of the engine's kernels: returns the last position's logits.
std::vector<double> ReferenceLogits(const ModelConfig& c, const NamedWeights& w, const std::vector<int32_t>& tokens) {
  std::map<std::string, const std::vector<float>*> by_name;
  for (size_t i = 0; i < w.names.size(); ++i) by_name[w.names[i]] = &w.values[i];
  auto W = [&](const std::string& name) { return *by_name.at(name); };
  const size_t d = c.hidden_size, hd = c.head_dim, heads = c.num_attention_heads, kvh = c.num_key_value_heads;
  const size_t n = tokens.size(), f = c.intermediate_size;
  using Mat = std::vector<std::vector<double>>;
  auto linear = [](const std::vector<double>& x, const std::vector<float>& wt, size_t out) {
    std::vector<double> y(out);
    for (size_t r = 0; r < out; ++r)
      for (size_t i = 0; i < x.size(); ++i) y[r] += wt[r * x.size() + i] * x[i];
    return y;
  };
  auto rmsnorm = [&](const std::vector<double>& x, const std::vector<float>& wt) {
    double ms = 0;
    for (double v : x) ms += v * v;
    ms /= x.size();
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = wt[i] * x[i] / std::sqrt(ms + c.rms_norm_eps);
    return y;
  };
  auto rope = [&](std::vector<double>& v, size_t nheads, size_t pos) {
    std::vector<double> inv = RopeInverseFrequencies(c);
    for (size_t h = 0; h < nheads; ++h)
      for (size_t i = 0; i < hd / 2; ++i) {
        double a = pos * inv[i], x1 = v[h * hd + i], x2 = v[h * hd + i + hd / 2];
        v[h * hd + i] = x1 * std::cos(a) - x2 * std::sin(a);
        v[h * hd + i + hd / 2] = x2 * std::cos(a) + x1 * std::sin(a);
      }
  };
  Mat x(n);
  const auto& embed = W("model.embed_tokens.weight");
  for (size_t t = 0; t < n; ++t) x[t].assign(embed.begin() + tokens[t] * d, embed.begin() + (tokens[t] + 1) * d);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    Mat q(n), k(n), v(n);
    for (size_t t = 0; t < n; ++t) {
      std::vector<double> h = rmsnorm(x[t], W(p + "input_layernorm.weight"));
      q[t] = linear(h, W(p + "self_attn.q_proj.weight"), heads * hd);
      k[t] = linear(h, W(p + "self_attn.k_proj.weight"), kvh * hd);
      v[t] = linear(h, W(p + "self_attn.v_proj.weight"), kvh * hd);
      rope(q[t], heads, t);
      rope(k[t], kvh, t);
    }
    for (size_t t = 0; t < n; ++t) {
      std::vector<double> att(heads * hd);
      for (size_t h = 0; h < heads; ++h) {
        size_t g = h / (heads / kvh);
        std::vector<double> s(t + 1);
        double max = -1e300, z = 0;
        for (size_t j = 0; j <= t; ++j) {
          for (size_t i = 0; i < hd; ++i) s[j] += q[t][h * hd + i] * k[j][g * hd + i];
          s[j] /= std::sqrt(double(hd));
          max = std::max(max, s[j]);
        }
        for (double& e : s) z += (e = std::exp(e - max));
        for (size_t j = 0; j <= t; ++j)
          for (size_t i = 0; i < hd; ++i) att[h * hd + i] += s[j] / z * v[j][g * hd + i];
      }
      std::vector<double> o = linear(att, W(p + "self_attn.o_proj.weight"), d);
      for (size_t i = 0; i < d; ++i) x[t][i] += o[i];
      std::vector<double> h = rmsnorm(x[t], W(p + "post_attention_layernorm.weight"));
      std::vector<double> gate = linear(h, W(p + "mlp.gate_proj.weight"), f);
      std::vector<double> up = linear(h, W(p + "mlp.up_proj.weight"), f);
      for (size_t i = 0; i < f; ++i) gate[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
      std::vector<double> down = linear(gate, W(p + "mlp.down_proj.weight"), d);
      for (size_t i = 0; i < d; ++i) x[t][i] += down[i];
    }
  }
  std::vector<double> last = rmsnorm(x[n - 1], W("model.norm.weight"));
  return linear(last, W(c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight"), c.vocab_size);
}

struct Loaded {
  testing::TempDir dir;
  NamedWeights weights;
  std::unique_ptr<Checkpoint> checkpoint;
  std::unique_ptr<TransformerModel> model;
};

std::unique_ptr<Loaded> LoadTiny(const ModelConfig& config, int threads) {
  auto l = std::make_unique<Loaded>();
  l->weights = testing::RandomWeights(config, 42);
  testing::WriteWeights(l->weights, l->dir.path() + "/model.safetensors");
  absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(l->dir.path());
  EXPECT_TRUE(ckpt.ok()) << ckpt.status();
  l->checkpoint = *std::move(ckpt);
  absl::StatusOr<std::unique_ptr<TransformerModel>> model = TransformerModel::Load(config, *l->checkpoint, threads);
  EXPECT_TRUE(model.ok()) << model.status();
  l->model = *std::move(model);
  return l;
}

const std::vector<int32_t> kTokens = {3, 17, 42, 0, 49, 8, 8, 21, 30, 11, 5, 44, 2, 19, 27, 33, 1, 9, 40, 12};

class LlamaModelTest : public ::testing::TestWithParam<bool> {};

TEST_P(LlamaModelTest, MatchesDoublePrecisionReference) {
  ModelConfig config = testing::TinyConfig(/*tied=*/GetParam());
  std::unique_ptr<Loaded> l = LoadTiny(config, 2);
  ASSERT_NE(l->model, nullptr);
  KvCache cache = l->model->NewCache();
  std::vector<float> logits(config.vocab_size);
  ASSERT_TRUE(l->model->Forward(kTokens, cache, logits).ok());
  EXPECT_EQ(cache.length, static_cast<int64_t>(kTokens.size()));
  std::vector<double> expected = ReferenceLogits(config, l->weights, kTokens);
  for (int i = 0; i < config.vocab_size; ++i) EXPECT_NEAR(logits[i], expected[i], 2e-4) << i;
}

TEST_P(LlamaModelTest, CachedDecodeEqualsFullRecompute) {
  ModelConfig config = testing::TinyConfig(GetParam());
  std::unique_ptr<Loaded> l = LoadTiny(config, 3);
  ASSERT_NE(l->model, nullptr);
  // Decode: a 5-token prefill, then one token at a time through the cache.
  KvCache cache = l->model->NewCache();
  std::vector<float> step(config.vocab_size), full(config.vocab_size);
  ASSERT_TRUE(l->model->Forward(std::span(kTokens).first(5), cache, step).ok());
  for (size_t n = 6; n <= kTokens.size(); ++n) {
    ASSERT_TRUE(l->model->Forward(std::span(kTokens).subspan(n - 1, 1), cache, step).ok());
    KvCache fresh = l->model->NewCache();
    ASSERT_TRUE(l->model->Forward(std::span(kTokens).first(n), fresh, full).ok());
    for (int i = 0; i < config.vocab_size; ++i) ASSERT_NEAR(step[i], full[i], 1e-5) << "n=" << n << " i=" << i;
  }
}

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, LlamaModelTest, ::testing::Bool());

TEST(LlamaModel, LongPrefillRunsInChunksAndMatchesReference) {
  ModelConfig config = testing::TinyConfig();
  std::unique_ptr<Loaded> l = LoadTiny(config, 2);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 100; ++i) tokens.push_back((i * 7 + 3) % config.vocab_size);  // > one 64-token chunk
  KvCache cache = l->model->NewCache();
  std::vector<float> logits(config.vocab_size);
  ASSERT_TRUE(l->model->Forward(tokens, cache, logits).ok());
  std::vector<double> expected = ReferenceLogits(config, l->weights, tokens);
  for (int i = 0; i < config.vocab_size; ++i) EXPECT_NEAR(logits[i], expected[i], 5e-4) << i;
}

TEST(LlamaModel, RejectsBadInputs) {
  ModelConfig config = testing::TinyConfig();
  std::unique_ptr<Loaded> l = LoadTiny(config, 1);
  KvCache cache = l->model->NewCache();
  std::vector<float> logits(config.vocab_size);
  std::vector<int32_t> bad = {config.vocab_size};
  EXPECT_TRUE(absl::IsInvalidArgument(l->model->Forward(bad, cache, logits)));
  std::vector<int32_t> too_long(config.max_position_embeddings + 1, 1);
  EXPECT_TRUE(absl::IsOutOfRange(l->model->Forward(too_long, cache, logits)));
  EXPECT_EQ(cache.length, 0);
}

TEST(LlamaModel, ShapeMismatchNamesTheTensor) {
  ModelConfig config = testing::TinyConfig();
  testing::TempDir dir;
  NamedWeights w = testing::RandomWeights(config, 1);
  for (size_t i = 0; i < w.names.size(); ++i) {
    if (w.names[i] == "model.layers.1.self_attn.k_proj.weight") w.shapes[i] = {w.shapes[i][1], w.shapes[i][0]};
  }
  testing::WriteWeights(w, dir.path() + "/model.safetensors");
  absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir.path());
  ASSERT_TRUE(ckpt.ok());
  absl::StatusOr<std::unique_ptr<TransformerModel>> model = TransformerModel::Load(config, **ckpt, 1);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("model.layers.1.self_attn.k_proj.weight"), std::string::npos)
      << model.status();
  EXPECT_NE(model.status().message().find("[32, 16]"), std::string::npos) << model.status();
}

TEST(LlamaModel, MissingTensorIsNotFound) {
  ModelConfig config = testing::TinyConfig();
  testing::TempDir dir;
  NamedWeights w = testing::RandomWeights(config, 1);
  w.names.pop_back();  // lm_head.weight
  w.shapes.pop_back();
  w.values.pop_back();
  testing::WriteWeights(w, dir.path() + "/model.safetensors");
  absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir.path());
  ASSERT_TRUE(ckpt.ok());
  absl::StatusOr<std::unique_ptr<TransformerModel>> model = TransformerModel::Load(config, **ckpt, 1);
  EXPECT_TRUE(absl::IsNotFound(model.status()));
  EXPECT_NE(model.status().message().find("lm_head.weight"), std::string::npos);
}

}  // namespace
}  // namespace cai::inference
