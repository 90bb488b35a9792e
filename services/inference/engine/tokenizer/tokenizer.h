#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/inference/engine/tokenizer/bpe.h"
#include "services/inference/engine/tokenizer/split_regex.h"

namespace cai::inference {

// Limits on a tokenizer.json, which comes with a model directory and is not trusted.
inline constexpr size_t kMaxTokenizerJsonBytes = 64u << 20;
inline constexpr size_t kMaxVocabSize = 1u << 20;
inline constexpr size_t kMaxMerges = 1u << 21;
inline constexpr size_t kMaxAddedTokens = 1u << 16;
inline constexpr size_t kMaxTokenBytes = 4096;

// A tokenizer loaded from a Hugging Face tokenizer.json, giving the same ids as the `tokenizers`
// library. Supported now: byte-level BPE (Llama 3, GPT-2 layouts). The pipeline is
// added tokens -> pre-tokenizer splits -> byte-level mapping -> BPE; each section of the JSON
// is parsed by its own function, so SentencePiece layouts (normalizer, Metaspace, byte
// fallback) slot in as further cases there. Immutable after loading: safe to share between
// threads. The post_processor is ignored: Encode never adds BOS/EOS, callers do.
class Tokenizer {
 public:
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view tokenizer_json);
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::filesystem::path& path);
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text`. With `allow_special`, the text of a special added token becomes its
  // id (leftmost, then longest match); without it, special token texts are ordinary text.
  // Non-special added tokens are always matched, as in Hugging Face. Invalid UTF-8 is encoded
  // byte for byte. No BOS is added. The caller bounds the size of `text`.
  std::vector<int32_t> Encode(std::string_view text, bool allow_special) const;

  // The raw bytes of a token (may be part of a UTF-8 sequence); "" for an unknown id.
  std::string TokenBytes(int32_t id) const;
  // The text of `ids`, special tokens included; invalid UTF-8 becomes U+FFFD.
  std::string Decode(std::span<const int32_t> ids) const;
  // The id of a token given as tokenizer.json spells it: an added token's content, or a vocab
  // entry in byte-level form ("Ġhello"), like Hugging Face's token_to_id.
  std::optional<int32_t> TokenId(std::string_view token) const;

  int32_t vocab_size() const { return static_cast<int32_t>(token_bytes_.size()); }
  bool IsSpecial(int32_t id) const {
    return id >= 0 && id < vocab_size() && special_[id];
  }

 private:
  struct AddedToken {
    std::string content;
    int32_t id;
    bool special;
    bool lstrip;
    bool rstrip;
  };
  struct Match {
    size_t begin;
    size_t end;
    const AddedToken* token;
  };

  Tokenizer() = default;
  class Parser;

  std::optional<Match> FindAddedToken(std::string_view text, size_t from,
                                      bool allow_special) const;
  void EncodeOrdinary(std::string_view text, std::vector<int32_t>* out) const;
  void EncodePiece(std::string_view piece, std::vector<int32_t>* out) const;

  std::vector<std::string> token_bytes_;  // by id
  std::vector<bool> special_;             // by id
  absl::flat_hash_map<std::string, int32_t> vocab_;  // model vocabulary, raw bytes -> id
  std::array<int32_t, 256> byte_ids_{};              // id of each single-byte token
  BpeMerges merges_;
  bool ignore_merges_ = false;
  std::vector<std::unique_ptr<SplitRegex>> splits_;  // applied in order
  std::vector<AddedToken> added_;
  absl::flat_hash_map<std::string, int32_t> added_by_content_;
  std::array<std::vector<const AddedToken*>, 256> added_by_first_byte_;  // longest first
};

}  // namespace cai::inference
