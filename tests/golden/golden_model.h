#pragma once

// Test access to the golden models of tests/golden/models (tiny random-weight models with the
// outputs Hugging Face transformers gave for them, see tests/golden/README.md). A test target
// that includes this defines CAI_GOLDEN_DIR as the path of tests/golden.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "services/inference/engine/dtype.h"
#include "services/inference/engine/model_config.h"
#include "services/inference/engine/safetensors.h"
#include "services/inference/engine/safetensors_writer.h"

namespace cai::inference::golden {

inline const std::filesystem::path kModels = std::filesystem::path(CAI_GOLDEN_DIR) / "models";
inline const char* const kModelNames[] = {"llama3", "gemma2", "phi3"};

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct PositionLogits {
  int64_t position;
  std::vector<float> values;
};

// golden.json: the prompt, logits at some positions, the 32-token greedy continuation, and the
// tolerance logits must meet.
struct Golden {
  std::vector<int32_t> prompt;
  std::vector<PositionLogits> prompt_logits, sequence_logits;
  std::vector<int32_t> greedy;
  double tolerance = 0;
};

inline Golden ReadGolden(const std::string& name) {
  nlohmann::json j = nlohmann::json::parse(ReadFile(kModels / name / "golden.json"));
  Golden g;
  g.prompt = j.at("prompt_ids").get<std::vector<int32_t>>();
  for (const auto& row : j.at("prompt_logits")) g.prompt_logits.push_back({row.at("position"), row.at("values")});
  for (const auto& row : j.at("sequence_logits")) {
    g.sequence_logits.push_back({row.at("position"), row.at("values")});
  }
  g.greedy = j.at("greedy").at("ids").get<std::vector<int32_t>>();
  g.tolerance = j.at("tolerance").at("max_abs_logit_diff");
  return g;
}

inline ModelConfig ReadConfig(const std::string& name) {
  absl::StatusOr<ModelConfig> config = ParseModelConfig(ReadFile(kModels / name / "config.json"));
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : ModelConfig{};
}

// A golden model's weights rounded to BF16 and stored as `stored`: BF16, or F32 holding the same
// rounded values. Empty (with a test failure) if the model cannot be read.
inline SafetensorsWriter RoundedToBf16(const std::string& name, DType stored) {
  SafetensorsWriter writer;
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::Open((kModels / name / "model.safetensors").string());
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return writer;
  for (const auto& [tensor_name, tensor] : (*file)->tensors()) {
    std::vector<float> values(static_cast<size_t>(tensor.num_elements));
    ConvertToF32(tensor.dtype, tensor.data.data(), values.size(), values.data());
    for (float& v : values) v = Bf16ToF32(F32ToBf16(v));
    writer.Add(tensor_name, stored, tensor.shape, values);
  }
  return writer;
}

// The largest |a - b| so far, and NaN once any difference is NaN, so that
// `EXPECT_LE(MaxAbsDiff(...), tolerance)` fails on a NaN (std::max would skip it).
inline double MaxDiffSoFar(double max, double a, double b) {
  const double d = std::abs(a - b);
  return d <= max || std::isnan(max) ? max : d;
}

inline double MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double max = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) max = MaxDiffSoFar(max, a[i], b[i]);
  return max;
}

}  // namespace cai::inference::golden
