#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

namespace cai::inference {

// The byte-at-a-time contract the token mask walks a recognizer with (JsonPrefix, JsonSchemaPrefix,
// ToolCallPrefix), built on the recognizer's own `bool Step(uint8_t)`, which moves the state past a
// byte that may come next and answers false, leaving the state unspecified, for one that may not.
// A recognizer derives from ByteRecognizer<itself> and befriends it.
template <typename Recognizer>
class ByteRecognizer {
 public:
  // Whether `byte` may come next; if so the state moves past it, otherwise it is left as it was.
  bool Feed(uint8_t byte) {
    Recognizer next = self();
    if (!next.Step(byte)) return false;
    self() = std::move(next);
    return true;
  }
  // Feeds `bytes` in order, stopping at the first that may not come next (false; the bytes before
  // it stay fed).
  bool Feed(std::string_view bytes) {
    for (char c : bytes) {
      if (!Feed(static_cast<uint8_t>(c))) return false;
    }
    return true;
  }
  // As Feed(byte), but when `byte` may not come next the state is left unspecified: for a caller
  // that discards it then (a trie walk on a copy), which saves Feed's copy to roll back to.
  bool FeedOrSpoil(uint8_t byte) { return self().Step(byte); }
  // Feeds bytes known to be taken (the token mask let them through) without Feed's copies.
  void FeedTaken(std::string_view bytes) {
    for (char c : bytes) self().Step(static_cast<uint8_t>(c));
  }

 private:
  Recognizer& self() { return static_cast<Recognizer&>(*this); }
};

}  // namespace cai::inference
