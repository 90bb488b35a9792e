#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai::inference {

// The Llama 3 (tiktoken cl100k-style) pre-tokenizer pattern.
inline constexpr std::string_view kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The pattern of GPT-2's ByteLevel pre-tokenizer (use_regex: true).
inline constexpr std::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// A compiled PCRE2 pattern (UTF + UCP, so \p{L}, \s and (?i:) are Unicode-aware) that splits
// text like Hugging Face's Split pre-tokenizer with behavior "Isolated": every match is a piece
// and so is every non-empty gap between matches. Immutable once built; safe to share between
// threads.
class SplitRegex {
 public:
  static absl::StatusOr<std::unique_ptr<SplitRegex>> Compile(std::string_view pattern);
  ~SplitRegex();
  SplitRegex(const SplitRegex&) = delete;
  SplitRegex& operator=(const SplitRegex&) = delete;

  // Appends the pieces of `text` to `out`, in order; their concatenation is `text`. Bytes that
  // are not valid UTF-8 never match, so they land in gaps. Should the regex engine give up (a
  // match limit), the rest of the text becomes one piece.
  void Split(std::string_view text, std::vector<std::string_view>* out) const;

 private:
  explicit SplitRegex(void* code) : code_(code) {}
  void* code_;  // pcre2_code_8*, kept opaque so the header does not pull in pcre2.h
};

}  // namespace cai::inference
