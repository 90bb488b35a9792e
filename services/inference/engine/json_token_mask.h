#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "services/inference/engine/call_or_json_prefix.h"
#include "services/inference/engine/json_prefix.h"
#include "services/inference/engine/json_schema_prefix.h"
#include "services/inference/engine/tool_call_prefix.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {

// Which tokens may come next in JSON mode: those whose every byte JsonPrefix (or, with a schema,
// JsonSchemaPrefix) lets follow the text so far. The vocabulary's byte strings are kept as tries, so tokens that share a prefix share its
// work, and a byte that may not come next rules out its whole branch at once. That prunes nearly
// everything in most states, but not inside a string, where almost every token fits: there the
// tokens without a '"' (which cannot end the string, so whether they fit does not depend on what
// surrounds it) are sets computed once, for a plain position and for one right after a '\', and
// only the tokens with a '"' are walked. Special tokens
// and tokens that decode to no bytes are never allowed (the caller adds the stop tokens once the
// object is complete). Immutable once built: one per tokenizer, shared by every JSON request.
// The sets for strings hold with a schema too: its free strings are read by a JsonPrefix, and its
// property names and enum strings are walked in full (string_position() is kOutside there).
class JsonTokenMask {
 public:
  explicit JsonTokenMask(const Tokenizer& tokenizer);

  // Sets allowed[id] to 1 for every token that may follow `state`, leaving the other entries as
  // they are; ids past the tokenizer's vocabulary (a model's padded rows) are never set. Returns
  // how many were set.
  int64_t Allow(const JsonPrefix& state, std::span<uint8_t> allowed) const;
  int64_t Allow(const JsonSchemaPrefix& state, std::span<uint8_t> allowed) const;
  int64_t Allow(const ToolCallPrefix& state, std::span<uint8_t> allowed) const;
  int64_t Allow(const CallOrJsonPrefix& state, std::span<uint8_t> allowed) const;
  // Sets allowed[id] to 1 for every token that may begin a reply that is text rather than a tool
  // call (its first byte is not the call's '{'), the same way; returns how many were set.
  int64_t AllowTextStart(std::span<uint8_t> allowed) const;

  size_t nodes() const { return nodes_.size(); }

 private:
  struct Node {
    uint32_t first_child = 0;   // 0: none (roots are never children)
    uint32_t next_sibling = 0;  // 0: none
    int32_t first_token = -1;   // a token whose bytes end here; -1: none
    uint8_t byte = 0;           // the byte on the edge into this node
  };
  // Two tries: the tokens without a '"' byte, and those with one.
  static constexpr uint32_t kPlainRoot = 0;
  static constexpr uint32_t kQuoteRoot = 1;

  void Insert(uint32_t root, std::string_view bytes, int32_t id);
  template <typename State>
  int64_t AllowAfter(const State& state, std::span<uint8_t> allowed) const;
  template <typename State>
  int64_t Walk(uint32_t root, const State& state, std::span<uint8_t> allowed) const;
  // The tokens of the plain trie that fit after `text` (which leaves a string open).
  std::vector<int32_t> PlainTokensAfter(std::string_view text) const;
  static int64_t Mark(std::span<const int32_t> ids, std::span<uint8_t> allowed);

  std::vector<Node> nodes_;
  std::vector<int32_t> next_token_;        // by token id: another token with the same bytes, or -1
  // The plain tokens that fit at a plain string position, and right after a '\'.
  std::vector<int32_t> in_string_tokens_;
  std::vector<int32_t> after_backslash_tokens_;
  // The tokens with bytes that are not special and do not begin with the call's '{'.
  std::vector<int32_t> text_start_tokens_;
};

}  // namespace cai::inference
