#pragma once

#include <cstddef>

// What the edge and the signer agree on beyond the messages of signer.proto.
namespace cai {

// OpenSealed: the most sealed fields one call may carry (the signer refuses more; the edge refuses
// a request with more encrypted parts before calling), and the longest replay-claim nonce.
inline constexpr size_t kMaxSealedFieldsPerCall = 4096;
inline constexpr size_t kMaxReplayNonceBytes = 256;

}  // namespace cai
