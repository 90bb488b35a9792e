#pragma once

// What the edge and the inference service agree on beyond the messages of inference.proto.
namespace cai {

// Initial metadata key of a Generate call: sent (value "1") once the request is valid, before it
// waits for a generation slot. A caller with several calls (a completions batch) learns that
// every one is valid before it answers 200, without waiting for any call's first token.
inline constexpr char kGenerateAcceptedKey[] = "cai-accepted";

}  // namespace cai
