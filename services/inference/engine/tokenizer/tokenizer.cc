#include "services/inference/engine/tokenizer/tokenizer.h"

#include <algorithm>

#include "lib/common/utf8.h"
#include "services/inference/engine/tokenizer/absl_compat.h"
#include "services/inference/engine/tokenizer/byte_level.h"
#include "services/inference/engine/tokenizer/utf8.h"

namespace cai::inference {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// The text before trailing whitespace / the length of leading whitespace (added-token strip).
std::string_view TrimTrailingWhitespace(std::string_view s) {
  size_t pos = 0, keep = 0;
  while (pos < s.size()) {
    if (!IsUnicodeWhitespace(NextCodePoint(s, &pos))) keep = pos;
  }
  return s.substr(0, keep);
}

size_t LeadingWhitespaceBytes(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    if (!IsUnicodeWhitespace(NextCodePoint(s, &next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

std::optional<Tokenizer::Match> Tokenizer::FindAddedToken(const AddedIndex& index,
                                                          std::string_view text, size_t from,
                                                          const SpecialRanges& special) const {
  if (added_.empty()) return std::nullopt;
  auto range = special.begin();  // the first range that does not end at or before i
  for (size_t i = from; i < text.size(); ++i) {
    while (range != special.end() && range->second <= i) ++range;
    bool in_range = range != special.end() && range->first <= i;
    for (const AddedToken* token : index[static_cast<uint8_t>(text[i])]) {
      size_t end = i + token->content.size();
      if (token->special && !(in_range && end <= range->second)) continue;
      if (text.substr(i).starts_with(token->content)) return Match{i, end, token};
    }
  }
  return std::nullopt;
}

// HF's AddedVocabulary split: the leftmost, then longest, added token; lstrip/rstrip take the
// whitespace next to it out of the neighbouring stretches; each stretch goes to `encode`.
template <typename EncodeStretchFn>
void Tokenizer::SplitOnAddedTokens(const AddedIndex& index, std::string_view text,
                                   const SpecialRanges& special, EncodeStretchFn encode,
                                   std::vector<int32_t>* out) const {
  size_t pos = 0;
  while (true) {
    std::optional<Match> match = FindAddedToken(index, text, pos, special);
    std::string_view stretch = text.substr(pos, (match ? match->begin : text.size()) - pos);
    if (match && match->token->lstrip) stretch = TrimTrailingWhitespace(stretch);
    if (!stretch.empty()) encode(stretch, /*at_input_start=*/pos == 0);
    if (!match) break;
    out->push_back(match->token->id);
    pos = match->end;
    if (match->token->rstrip) pos += LeadingWhitespaceBytes(text.substr(pos));
  }
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool allow_special) const {
  TextPart part{text, allow_special};
  return Encode(std::span<const TextPart>(&part, 1));
}

std::vector<int32_t> Tokenizer::Encode(std::span<const TextPart> parts) const {
  std::string joined;
  SpecialRanges special;
  for (const TextPart& part : parts) {
    if (part.allow_special && !part.text.empty()) {
      special.emplace_back(joined.size(), joined.size() + part.text.size());
    }
    joined.append(part.text);
  }
  std::vector<int32_t> ids;
  SplitOnAddedTokens(
      raw_added_, joined, special,
      [&](std::string_view stretch, bool at_start) { EncodeStretch(stretch, at_start, &ids); },
      &ids);
  return ids;
}

void Tokenizer::EncodeStretch(std::string_view text, bool at_input_start,
                              std::vector<int32_t>* out) const {
  if (normalizer_.empty()) {
    EncodeNormalized(text, at_input_start, out);
    return;
  }
  std::string normalized = normalizer_.Apply(text);
  // Tokens with normalized: true are looked for in the normalized text; all are non-special.
  SplitOnAddedTokens(
      normalized_added_, normalized, SpecialRanges(),
      [&](std::string_view stretch, bool at_start) {
        EncodeNormalized(stretch, at_input_start && at_start, out);
      },
      out);
}

void Tokenizer::EncodeNormalized(std::string_view text, bool at_input_start,
                                 std::vector<int32_t>* out) const {
  if (pre_tokenizer_.empty()) {
    EncodePiece(text, out);
    return;
  }
  std::string storage;
  std::vector<std::string_view> pieces;
  pre_tokenizer_.Split(text, at_input_start, &storage, &pieces);
  for (std::string_view piece : pieces) EncodePiece(piece, out);
}

void Tokenizer::EncodePiece(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.empty()) return;
  if (ignore_merges_ || (byte_level_ && piece.size() == 1)) {
    if (auto it = vocab_.find(ToAbsl(piece)); it != vocab_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(piece.size());
  InitialSymbols(piece, &symbols);
  merges_.Apply(&symbols);
  out->insert(out->end(), symbols.begin(), symbols.end());
}

// The symbols BPE starts from. Byte-level: one per byte. SentencePiece: one per character in
// the vocabulary, else its <0xNN> byte tokens, else unk (consecutive unks fused with
// fuse_unk), as HF's BPE::merge_word. A byte of invalid UTF-8 counts as one character.
void Tokenizer::InitialSymbols(std::string_view piece, std::vector<int32_t>* symbols) const {
  if (byte_level_) {
    for (char c : piece) symbols->push_back(byte_ids_[static_cast<uint8_t>(c)]);
    return;
  }
  bool unk_pending = false;
  for (size_t pos = 0; pos < piece.size();) {
    size_t start = pos;
    NextCodePoint(piece, &pos);
    std::string_view ch = piece.substr(start, pos - start);
    if (auto it = vocab_.find(ToAbsl(ch)); it != vocab_.end()) {
      if (unk_pending) symbols->push_back(*unk_id_);
      unk_pending = false;
      symbols->push_back(it->second);
      continue;
    }
    if (byte_fallback_ && std::all_of(ch.begin(), ch.end(), [&](char b) {
          return byte_ids_[static_cast<uint8_t>(b)] >= 0;
        })) {
      // HF adds these before a pending unk; with all 256 byte tokens, unk never occurs.
      for (char b : ch) symbols->push_back(byte_ids_[static_cast<uint8_t>(b)]);
      continue;
    }
    if (!unk_id_) continue;  // HF drops the character
    if (unk_pending && !fuse_unk_) symbols->push_back(*unk_id_);
    unk_pending = true;
  }
  if (unk_pending) symbols->push_back(*unk_id_);
}

std::string Tokenizer::TokenBytes(int32_t id) const {
  return id >= 0 && id < vocab_size() ? token_bytes_[id] : std::string();
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string text;
  if (byte_level_) {
    std::string bytes;
    for (int32_t id : ids) {
      if (id >= 0 && id < vocab_size() && !(skip_special_tokens && special_[id])) {
        bytes += token_bytes_[id];
      }
    }
    AppendUtf8Lossy(bytes, /*final=*/true, &text);
  } else {
    // HF ByteFallback: a run of byte tokens is its text if valid UTF-8 as a whole, else one
    // U+FFFD per token.
    std::string run;
    auto flush_run = [&] {
      if (IsValidUtf8(run)) {
        text += run;
      } else {
        for (size_t i = 0; i < run.size(); ++i) text += kReplacementChar;
      }
      run.clear();
    };
    for (int32_t id : ids) {
      if (id < 0 || id >= vocab_size() || (skip_special_tokens && special_[id])) continue;
      if (byte_token_[id]) {
        run += token_bytes_[id];
      } else {
        flush_run();
        text += token_bytes_[id];
      }
    }
    flush_run();
  }
  for (int i = 0; i < leading_strip_.count && text.starts_with(leading_strip_.content); ++i) {
    text.erase(0, leading_strip_.content.size());
  }
  return text;
}

std::optional<int32_t> Tokenizer::TokenId(std::string_view token) const {
  if (auto it = added_by_content_.find(ToAbsl(token)); it != added_by_content_.end()) return it->second;
  std::optional<std::string> key = byte_level_ ? ByteLevelDecode(token) : std::string(token);
  if (!key) return std::nullopt;
  auto it = vocab_.find(*key);
  return it == vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
}

}  // namespace cai::inference
