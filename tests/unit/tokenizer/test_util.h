#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/inference/engine/tokenizer/byte_level.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference::testing {

// A small byte-level BPE tokenizer.json: ids 0..255 are the bytes (id = byte value), then
// `extra` tokens (raw bytes) from 256 on, then `added` tokens. Merges are raw-byte pairs.
struct TinySpec {
  std::vector<std::string> extra = {};
  std::vector<std::pair<std::string, std::string>> merges = {};
  bool ignore_merges = false;
  bool merges_as_pairs = false;
  nlohmann::json added = nlohmann::json::array();
  nlohmann::json pre_tokenizer = {{"type", "ByteLevel"}, {"add_prefix_space", false},
                                  {"use_regex", false}};
};

inline nlohmann::json TinyJson(const TinySpec& spec) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteLevelEncode(std::string(1, static_cast<char>(b)))] = b;
  for (size_t i = 0; i < spec.extra.size(); ++i) vocab[ByteLevelEncode(spec.extra[i])] = 256 + i;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [a, b] : spec.merges) {
    if (spec.merges_as_pairs) {
      merges.push_back({ByteLevelEncode(a), ByteLevelEncode(b)});
    } else {
      merges.push_back(ByteLevelEncode(a) + " " + ByteLevelEncode(b));
    }
  }
  return {{"version", "1.0"},
          {"added_tokens", spec.added},
          {"normalizer", nullptr},
          {"pre_tokenizer", spec.pre_tokenizer},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model",
           {{"type", "BPE"},
            {"ignore_merges", spec.ignore_merges},
            {"vocab", vocab},
            {"merges", merges}}}};
}

inline std::unique_ptr<Tokenizer> LoadOrDie(const nlohmann::json& json) {
  auto tokenizer = Tokenizer::FromJson(json.dump());
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

}  // namespace cai::inference::testing
