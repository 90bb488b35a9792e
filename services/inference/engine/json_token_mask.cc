#include "services/inference/engine/json_token_mask.h"

#include <string>

#include "services/inference/engine/tokenizer/chat_template.h"

namespace cai::inference {

JsonTokenMask::JsonTokenMask(const Tokenizer& tokenizer)
    : nodes_(2), next_token_(static_cast<size_t>(tokenizer.vocab_size()), -1) {
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    if (tokenizer.IsSpecial(id)) continue;
    const std::string bytes = tokenizer.TokenBytes(id);
    if (bytes.empty()) continue;
    Insert(bytes.find('"') == std::string::npos ? kPlainRoot : kQuoteRoot, bytes, id);
    if (bytes[0] != kLlama3ToolCallOpen[0]) text_start_tokens_.push_back(id);
  }
  in_string_tokens_ = PlainTokensAfter("{\"");
  after_backslash_tokens_ = PlainTokensAfter("{\"\\");
}

std::vector<int32_t> JsonTokenMask::PlainTokensAfter(std::string_view text) const {
  JsonPrefix state;
  state.Feed(text);
  std::vector<uint8_t> fits(next_token_.size(), 0);
  Walk(kPlainRoot, state, fits);
  std::vector<int32_t> ids;
  for (size_t id = 0; id < fits.size(); ++id) {
    if (fits[id] != 0) ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

int64_t JsonTokenMask::Mark(std::span<const int32_t> ids, std::span<uint8_t> allowed) {
  int64_t count = 0;
  for (int32_t id : ids) {
    if (static_cast<size_t>(id) < allowed.size()) {
      allowed[id] = 1;
      ++count;
    }
  }
  return count;
}

void JsonTokenMask::Insert(uint32_t root, std::string_view bytes, int32_t id) {
  uint32_t node = root;
  for (char c : bytes) {
    const auto byte = static_cast<uint8_t>(c);
    uint32_t child = nodes_[node].first_child;
    while (child != 0 && nodes_[child].byte != byte) child = nodes_[child].next_sibling;
    if (child == 0) {
      child = static_cast<uint32_t>(nodes_.size());
      nodes_.push_back(Node{.first_child = 0, .next_sibling = nodes_[node].first_child, .first_token = -1, .byte = byte});
      nodes_[node].first_child = child;
    }
    node = child;
  }
  next_token_[id] = nodes_[node].first_token;
  nodes_[node].first_token = id;
}

int64_t JsonTokenMask::Allow(const JsonPrefix& state, std::span<uint8_t> allowed) const {
  return AllowAfter(state, allowed);
}

int64_t JsonTokenMask::Allow(const JsonSchemaPrefix& state, std::span<uint8_t> allowed) const {
  return AllowAfter(state, allowed);
}

int64_t JsonTokenMask::Allow(const ToolCallPrefix& state, std::span<uint8_t> allowed) const {
  return AllowAfter(state, allowed);
}

int64_t JsonTokenMask::Allow(const CallOrJsonPrefix& state, std::span<uint8_t> allowed) const {
  return AllowAfter(state, allowed);
}

int64_t JsonTokenMask::AllowTextStart(std::span<uint8_t> allowed) const { return Mark(text_start_tokens_, allowed); }

template <typename State>
int64_t JsonTokenMask::AllowAfter(const State& state, std::span<uint8_t> allowed) const {
  switch (state.string_position()) {
    case JsonPrefix::StringPosition::kPlain:
      return Mark(in_string_tokens_, allowed) + Walk(kQuoteRoot, state, allowed);
    case JsonPrefix::StringPosition::kAfterBackslash:
      return Mark(after_backslash_tokens_, allowed) + Walk(kQuoteRoot, state, allowed);
    default:
      return Walk(kPlainRoot, state, allowed) + Walk(kQuoteRoot, state, allowed);
  }
}

template <typename State>
int64_t JsonTokenMask::Walk(uint32_t root, const State& state, std::span<uint8_t> allowed) const {
  struct Pending {
    uint32_t node;
    State state;  // after the bytes on the path to `node`
  };
  std::vector<Pending> pending{{root, state}};
  int64_t count = 0;
  while (!pending.empty()) {
    const Pending at = pending.back();
    pending.pop_back();
    for (uint32_t child = nodes_[at.node].first_child; child != 0; child = nodes_[child].next_sibling) {
      State next = at.state;
      if (!next.FeedOrSpoil(nodes_[child].byte)) continue;
      for (int32_t id = nodes_[child].first_token; id >= 0; id = next_token_[id]) {
        if (static_cast<size_t>(id) < allowed.size()) {
          allowed[id] = 1;
          ++count;
        }
      }
      if (nodes_[child].first_child != 0) pending.push_back({child, next});
    }
  }
  return count;
}

}  // namespace cai::inference
