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
#include "services/inference/engine/tokenizer/normalizer.h"
#include "services/inference/engine/tokenizer/pre_tokenizer.h"

namespace cai::inference {

// Limits on a tokenizer.json, which comes with a model directory and is not trusted.
inline constexpr size_t kMaxTokenizerJsonBytes = 64u << 20;
inline constexpr size_t kMaxVocabSize = 1u << 20;
inline constexpr size_t kMaxMerges = 1u << 21;
inline constexpr size_t kMaxAddedTokens = 1u << 16;
inline constexpr size_t kMaxTokenBytes = 4096;

// A piece of text to encode and whether special added tokens may be recognised in it.
struct TextPart {
  std::string_view text;
  bool allow_special;
};

// A tokenizer loaded from a Hugging Face tokenizer.json, giving the same ids as the `tokenizers`
// library. Two layouts of the BPE model are supported:
//  - byte-level (Llama 3, GPT-2): a ByteLevel pre-tokenizer, vocabulary strings in GPT-2's
//    byte alphabet, ByteLevel decoder;
//  - SentencePiece-style (Gemma, Llama 2, Phi-3): vocabulary strings are text, characters not
//    in the vocabulary fall back to <0xNN> byte tokens, normalizers Replace/Prepend, optional
//    Metaspace or literal Split pre-tokenizer, decoders Replace/ByteFallback/Fuse/Strip.
// The pipeline is that of HF: added tokens -> normalizer -> pre-tokenizer -> BPE by merge rank.
// Every unsupported construct is rejected as Unimplemented, naming it. Immutable after
// loading: safe to share between threads. The post_processor is ignored: Encode never adds
// BOS/EOS, callers do.
class Tokenizer {
 public:
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view tokenizer_json);
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::filesystem::path& path);
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text`. With `allow_special`, the text of a special added token becomes its
  // id (leftmost, then longest match); without it, special token texts are ordinary text.
  // Non-special added tokens are always matched, as in Hugging Face. Invalid UTF-8 is encoded
  // byte for byte (SentencePiece layouts: as <0xNN> tokens). No BOS is added. The caller bounds
  // the size of `text`.
  std::vector<int32_t> Encode(std::string_view text, bool allow_special) const;

  // Token ids of the concatenation of `parts`, exactly as HF encodes the joined text, except
  // that a special token is recognised only where it lies wholly inside a part with
  // allow_special. Stretches of ordinary text run across part boundaries (so BPE merges and
  // added-token rstrip/lstrip do too), which is what makes chat prompts match HF.
  std::vector<int32_t> Encode(std::span<const TextPart> parts) const;

  // The bytes a token decodes to (may be part of a UTF-8 sequence: byte-level tokens, <0xNN>
  // tokens); "" for an unknown id. SentencePiece layouts apply the decoder's Replace ("▁"->" ").
  std::string TokenBytes(int32_t id) const;
  // The text of `ids` as HF's decode(ids, skip_special_tokens): unknown ids are dropped;
  // invalid UTF-8 becomes U+FFFD (byte-level: per maximal invalid subpart; a run of <0xNN>
  // tokens that is not valid UTF-8 as a whole: one U+FFFD per token, as HF's ByteFallback);
  // the decoder's Strip is applied to the start of the result.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  // The id of a token given as tokenizer.json spells it: an added token's content, or a vocab
  // entry ("Ġhello" in byte-level form, "▁hello" in SentencePiece form), like HF's token_to_id.
  std::optional<int32_t> TokenId(std::string_view token) const;

  int32_t vocab_size() const { return static_cast<int32_t>(token_bytes_.size()); }
  bool IsSpecial(int32_t id) const {
    return id >= 0 && id < vocab_size() && special_[id];
  }

  // The decoder's Strip(content, start, 0): up to `count` copies of `content` are removed from
  // the start of the decoded text (Phi-3: one " "). count 0 when there is none.
  struct LeadingStrip {
    std::string content;
    int count = 0;
  };
  const LeadingStrip& leading_strip() const { return leading_strip_; }

 private:
  struct AddedToken {
    std::string content;
    int32_t id;
    bool special;
    bool lstrip;
    bool rstrip;
    bool normalized;  // matched in the normalized text (second pass), as HF
  };
  struct Match {
    size_t begin;
    size_t end;
    const AddedToken* token;
  };
  // Ranges [begin, end) of the input where special tokens may be recognised, sorted.
  using SpecialRanges = std::vector<std::pair<size_t, size_t>>;
  using AddedIndex = std::array<std::vector<const AddedToken*>, 256>;  // by first byte, longest first

  Tokenizer() = default;
  class Parser;

  std::optional<Match> FindAddedToken(const AddedIndex& index, std::string_view text,
                                      size_t from, const SpecialRanges& special) const;
  template <typename EncodeStretch>
  void SplitOnAddedTokens(const AddedIndex& index, std::string_view text,
                          const SpecialRanges& special, EncodeStretch encode,
                          std::vector<int32_t>* out) const;
  void EncodeStretch(std::string_view text, bool at_input_start, std::vector<int32_t>* out) const;
  void EncodeNormalized(std::string_view text, bool at_input_start,
                        std::vector<int32_t>* out) const;
  void EncodePiece(std::string_view piece, std::vector<int32_t>* out) const;
  void InitialSymbols(std::string_view piece, std::vector<int32_t>* symbols) const;

  bool byte_level_ = true;  // vocabulary in GPT-2's byte alphabet; else SentencePiece text
  std::vector<std::string> token_bytes_;  // by id: what the token decodes to
  std::vector<bool> special_;             // by id
  std::vector<bool> byte_token_;          // by id: a <0xNN> token under a ByteFallback decoder
  absl::flat_hash_map<std::string, int32_t> vocab_;  // model vocabulary (byte-level: raw bytes)
  std::array<int32_t, 256> byte_ids_{};  // byte-level: the byte's token; else <0xNN> or -1
  bool byte_fallback_ = false;
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  BpeMerges merges_;
  bool ignore_merges_ = false;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  LeadingStrip leading_strip_;
  std::vector<AddedToken> added_;
  absl::flat_hash_map<std::string, int32_t> added_by_content_;
  AddedIndex raw_added_;         // matched in the input text
  AddedIndex normalized_added_;  // matched in each normalized stretch
};

}  // namespace cai::inference
