#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai::inference {

inline constexpr size_t kMaxTrainingCorpusBytes = 64u << 20;

// Trains a byte-level BPE on `corpus` and returns a complete Hugging Face tokenizer.json in the
// Llama 3 layout (Llama 3 Split regex + ByteLevel, ignore_merges, ByteLevel decoder). The
// corpus is pre-tokenized with the Llama 3 regex; starting from the 256 byte tokens (id = byte
// value), the most frequent adjacent pair is merged, up to `num_merges` times or until every word
// is a single token; ties go to the smallest (left id, right id). `special_tokens`
// follow as special added tokens. Deterministic: the same input gives the same bytes.
absl::StatusOr<std::string> TrainByteLevelBpeTokenizerJson(
    std::string_view corpus, int num_merges, const std::vector<std::string>& special_tokens);

}  // namespace cai::inference
