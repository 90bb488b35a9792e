#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/inference/engine/tokenizer/split_regex.h"

namespace cai::inference {

// The pre-tokenizer steps cai supports, applied in order to each normalized stretch of text
// between added tokens: Metaspace (only as the first step; it rewrites the text), a literal
// Split with behavior "MergedWithPrevious", and a regex Split with behavior "Isolated".
// No steps at all means BPE runs over the whole stretch (Gemma, Phi-3). Immutable once built.
class PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };

  void SetMetaspace(std::string replacement, Prepend prepend, bool split) {
    metaspace_ = Metaspace{std::move(replacement), prepend, split};
  }
  void AddRegex(std::unique_ptr<SplitRegex> regex) {
    steps_.push_back({std::move(regex), std::string()});
  }
  void AddMergedWithPrevious(std::string delimiter) {  // must not be empty
    steps_.push_back({nullptr, std::move(delimiter)});
  }
  bool has_metaspace() const { return metaspace_.has_value(); }
  bool empty() const { return !metaspace_ && steps_.empty(); }

  // Appends the pieces of `text` to `pieces`; they may point into `*storage`, which Metaspace
  // fills with the rewritten text, so it must outlive them. `at_input_start` says whether
  // `text` begins the whole input (Metaspace prepend_scheme "first").
  void Split(std::string_view text, bool at_input_start, std::string* storage,
             std::vector<std::string_view>* pieces) const;

 private:
  struct Metaspace {
    std::string replacement;
    Prepend prepend;
    bool split;
  };
  struct Step {
    std::unique_ptr<SplitRegex> regex;  // set: regex Isolated
    std::string delimiter;              // otherwise: literal MergedWithPrevious
  };
  std::optional<Metaspace> metaspace_;
  std::vector<Step> steps_;
};

}  // namespace cai::inference
