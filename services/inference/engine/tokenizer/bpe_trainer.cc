#include "services/inference/engine/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/inference/engine/tokenizer/byte_level.h"
#include "services/inference/engine/tokenizer/split_regex.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {
namespace {

constexpr int kMaxTrainedMerges = 1 << 20;

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

uint64_t PairKey(int32_t left, int32_t right) {
  return static_cast<uint64_t>(left) << 32 | static_cast<uint32_t>(right);
}

class Trainer {
 public:
  explicit Trainer(std::vector<Word> words) : words_(std::move(words)) {
    for (int b = 0; b < 256; ++b) AddToken(std::string(1, static_cast<char>(b)));
    for (size_t w = 0; w < words_.size(); ++w) CountPairs(w, +1);
  }

  void Train(int num_merges) {
    for (int i = 0; i < num_merges; ++i) {
      // The most frequent pair; the smallest key among equals (flat_hash_map order is arbitrary).
      uint64_t best = 0;
      int64_t best_count = 0;
      for (const auto& [key, count] : pair_counts_) {
        if (count > best_count || (count == best_count && key < best)) {
          best = key;
          best_count = count;
        }
      }
      if (best_count == 0) return;  // every word is one token
      Merge(static_cast<int32_t>(best >> 32), static_cast<int32_t>(best & 0xffffffffu));
    }
  }

  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<std::pair<int32_t, int32_t>>& merges() const { return merges_; }

 private:
  int32_t AddToken(const std::string& bytes) {
    auto [it, inserted] = ids_.emplace(bytes, static_cast<int32_t>(tokens_.size()));
    if (inserted) tokens_.push_back(bytes);
    return it->second;
  }

  void CountPairs(size_t w, int sign) {
    const Word& word = words_[w];
    for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      uint64_t key = PairKey(word.symbols[i], word.symbols[i + 1]);
      int64_t& count = pair_counts_[key];
      count += sign * word.count;
      if (count == 0) pair_counts_.erase(key);
      if (sign > 0) pair_words_[key].insert(static_cast<uint32_t>(w));
    }
  }

  void Merge(int32_t left, int32_t right) {
    int32_t merged = AddToken(tokens_[left] + tokens_[right]);
    merges_.emplace_back(left, right);
    // Sorted, so the word order (and thus the result) does not depend on hashing.
    auto& set = pair_words_[PairKey(left, right)];
    std::vector<uint32_t> affected(set.begin(), set.end());
    std::sort(affected.begin(), affected.end());
    pair_words_.erase(PairKey(left, right));
    for (uint32_t w : affected) {
      CountPairs(w, -1);
      std::vector<int32_t>& s = words_[w].symbols;
      std::vector<int32_t> out;
      out.reserve(s.size());
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == left && s[i + 1] == right) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(s[i]);
        }
      }
      s.swap(out);
      CountPairs(w, +1);
    }
  }

  std::vector<Word> words_;
  std::vector<std::string> tokens_;  // bytes by id
  absl::flat_hash_map<std::string, int32_t> ids_;
  std::vector<std::pair<int32_t, int32_t>> merges_;
  absl::flat_hash_map<uint64_t, int64_t> pair_counts_;
  absl::flat_hash_map<uint64_t, absl::flat_hash_set<uint32_t>> pair_words_;
};

absl::StatusOr<std::vector<Word>> CountWords(std::string_view corpus) {
  absl::StatusOr<std::unique_ptr<SplitRegex>> regex = SplitRegex::Compile(kLlama3SplitPattern);
  if (!regex.ok()) return regex.status();
  std::vector<std::string_view> pieces;
  (*regex)->Split(corpus, &pieces);
  std::map<std::string_view, int64_t> counts;  // ordered: deterministic word order
  for (std::string_view piece : pieces) ++counts[piece];
  std::vector<Word> words;
  words.reserve(counts.size());
  for (const auto& [piece, count] : counts) {
    Word word{{}, count};
    for (char c : piece) word.symbols.push_back(static_cast<uint8_t>(c));
    words.push_back(std::move(word));
  }
  return words;
}

nlohmann::ordered_json LlamaLayout(const Trainer& trainer,
                                   const std::vector<std::string>& special_tokens) {
  using Json = nlohmann::ordered_json;
  const auto& tokens = trainer.tokens();
  Json vocab = Json::object();
  for (size_t id = 0; id < tokens.size(); ++id) vocab[ByteLevelEncode(tokens[id])] = id;
  Json merges = Json::array();
  for (const auto& [left, right] : trainer.merges()) {
    merges.push_back(ByteLevelEncode(tokens[left]) + " " + ByteLevelEncode(tokens[right]));
  }
  Json added = Json::array();
  for (size_t i = 0; i < special_tokens.size(); ++i) {
    added.push_back({{"id", tokens.size() + i},
                     {"content", special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  Json split = {{"type", "Split"},
                {"pattern", {{"Regex", std::string(kLlama3SplitPattern)}}},
                {"behavior", "Isolated"},
                {"invert", false}};
  Json byte_level = {{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", true},
                     {"use_regex", false}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {split, byte_level}}}},
          {"post_processor", nullptr},
          {"decoder",
           {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
            {"use_regex", true}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", true},
            {"vocab", vocab},
            {"merges", merges}}}};
}

}  // namespace

absl::StatusOr<std::string> TrainByteLevelBpeTokenizerJson(
    std::string_view corpus, int num_merges, const std::vector<std::string>& special_tokens) {
  if (corpus.size() > kMaxTrainingCorpusBytes) {
    return absl::InvalidArgumentError("training corpus too large");
  }
  if (num_merges < 0 || num_merges > kMaxTrainedMerges) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_merges must be in [0, ", kMaxTrainedMerges, "]"));
  }
  if (special_tokens.size() > kMaxAddedTokens) {
    return absl::InvalidArgumentError("too many special tokens");
  }
  std::set<std::string> seen;
  for (const std::string& token : special_tokens) {
    if (token.empty() || token.size() > kMaxTokenBytes || !seen.insert(token).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("special token \"", token, "\" is empty, too long or repeated"));
    }
  }
  absl::StatusOr<std::vector<Word>> words = CountWords(corpus);
  if (!words.ok()) return words.status();
  Trainer trainer(*std::move(words));
  trainer.Train(num_merges);
  return LlamaLayout(trainer, special_tokens).dump();
}

}  // namespace cai::inference
