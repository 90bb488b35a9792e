#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cai::inference {

// The Hugging Face normalizers of SentencePiece-style layouts, applied in order to each stretch
// of text between added tokens: Replace with a literal pattern (Gemma's " " -> "▁") and Prepend
// (Llama 2 / Phi-3's dummy prefix "▁"). Immutable once built.
class Normalizer {
 public:
  void AddReplace(std::string pattern, std::string content) {  // pattern must not be empty
    steps_.push_back({Step::kReplace, std::move(pattern), std::move(content)});
  }
  void AddPrepend(std::string prefix) { steps_.push_back({Step::kPrepend, {}, std::move(prefix)}); }

  bool empty() const { return steps_.empty(); }
  // As HF: Replace substitutes every non-overlapping occurrence from the left; Prepend leaves
  // an empty text empty.
  std::string Apply(std::string_view text) const;

 private:
  struct Step {
    enum Kind { kReplace, kPrepend } kind;
    std::string pattern;
    std::string content;
  };
  std::vector<Step> steps_;
};

}  // namespace cai::inference
