#pragma once

// What the edge and the inference service agree on beyond the messages of inference.proto.
#include <cstddef>

namespace cai {

// Initial metadata key of a Generate call: sent (value "1") once the request is valid, before it
// waits for a generation slot. A caller with several calls (a completions batch) learns that
// every one is valid before it answers 200, without waiting for any call's first token.
inline constexpr char kGenerateAcceptedKey[] = "cai-accepted";

// Tools in one request, and the bytes of a tool's name (1..64 of [A-Za-z0-9_-]): OpenAI's limits,
// checked by the edge and again by the inference service.
inline constexpr size_t kMaxTools = 128;
inline constexpr size_t kMaxToolNameBytes = 64;

}  // namespace cai
