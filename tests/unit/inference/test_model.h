#pragma once

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "services/inference/engine/hf_layer_weights.h"
#include "services/inference/engine/model_config.h"
#include "services/inference/engine/safetensors_writer.h"

namespace cai::inference::testing {

// A fresh directory under the test's temporary dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = (base ? std::string(base) : std::filesystem::temp_directory_path().string()) +
                       "/cai_inference_XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A tiny Llama with GQA and llama3 RoPE scaling whose scaling thresholds fall inside its head.
inline ModelConfig TinyConfig(bool tied = false) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000;
  c.rope_scaling = Llama3RopeScaling{4.0, 1.0, 4.0, 16};
  c.vocab_size = 50;
  c.max_position_embeddings = 128;
  c.tie_word_embeddings = tied;
  return c;
}

// Random weights for every tensor of `c`, by HF name, with shapes [rows, cols] (norms: [n]).
struct NamedWeights {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<float>> values;
};

inline NamedWeights RandomWeights(const ModelConfig& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  NamedWeights w;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool norm) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v(n);
    float scale = norm ? 0.1f : 1.0f / std::sqrt(static_cast<float>(shape.back()));
    for (float& x : v) x = (norm ? 1.0f : 0.0f) + scale * normal(rng);
    w.names.push_back(std::move(name));
    w.shapes.push_back(std::move(shape));
    w.values.push_back(std::move(v));
  };
  for (HfTensorSpec& t : LlamaTensorSpecs(c)) add(std::move(t.name), std::move(t.shape), t.is_norm);
  return w;
}

inline void WriteWeights(const NamedWeights& w, const std::string& path) {
  SafetensorsWriter writer;
  for (size_t i = 0; i < w.names.size(); ++i) writer.Add(w.names[i], DType::kF32, w.shapes[i], w.values[i]);
  (void)writer.WriteFile(path);
}

}  // namespace cai::inference::testing
