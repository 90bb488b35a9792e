#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/common/signer_protocol.h"
#include "services/edge/http_server.h"
#include "services/edge/openai/api_error.h"

namespace cai::edge {

// End-to-end encryption of chat content, as Phala's vllm-proxy protocol (versions 1 and 2; NEAR's
// ECDSA mode is version 1), in both its modes: "ecdsa" (secp256k1 keys) and "ed25519" (Ed25519 keys
// through their X25519 twins). The client seals each messages[i].content (or each text part of
// it) to this instance's attested public key of that algorithm and sends its own public key; the
// answer's content comes back sealed to that key. Everything else (roles, sampling, ids,
// usage) stays plain, and the signature covers the bytes as sent, ciphertext included.
//
// Request headers: X-Signing-Algo: ecdsa or ed25519, X-Client-Pub-Key and X-Model-Pub-Key (hex;
// ecdsa: 64 bytes x || y or 65 bytes 0x04 || x || y; ed25519: 32 bytes), and for version 2 X-E2EE-Version: 2 with X-E2EE-Nonce
// (16..256 visible ASCII characters) and X-E2EE-Timestamp (unix seconds). Version 2 also applies
// when both nonce and timestamp are sent, whatever X-E2EE-Version says.
//
// Version 1 binds nothing and can be replayed: whoever recorded a request can send it again with
// their own X-Client-Pub-Key (and a message of their own sealed to our public key) and read the
// answer. So it is refused unless the operator allows it (--insecure_e2ee_v1). Neither version
// binds X-Client-Pub-Key, so an active intermediary can swap it in flight; clients detect that
// from the signature, whose request hash covers the bytes the service received.

enum class E2eeVersion { kV1, kV2 };
enum class E2eeAlgo { kEcdsa, kEd25519 };

struct E2eeHeaders {
  E2eeAlgo algo = E2eeAlgo::kEcdsa;
  // ecdsa: 0x04 || x || y (65 bytes, on the curve); ed25519: the Ed25519 key (32 bytes, with an
  // X25519 twin).
  std::vector<uint8_t> client_key;
  // What the answer is sealed to: client_key itself (ecdsa), or its X25519 twin (ed25519).
  std::vector<uint8_t> client_recipient;
  std::vector<uint8_t> model_key;  // as the client sent it: still to be compared with ours
  E2eeVersion version = E2eeVersion::kV1;
  std::string nonce;      // version 2
  int64_t timestamp = 0;  // version 2, unix seconds
};

inline constexpr size_t kMinE2eeNonceChars = 16;
inline constexpr size_t kMaxE2eeNonceChars = kMaxReplayNonceBytes;

// Sets *out to nullopt when the request names none of X-Signing-Algo, X-Client-Pub-Key and
// X-Model-Pub-Key (no E2EE), else to the headers checked for form. Returns the 400 to send when
// they are malformed, typed as Phala's errors (e2ee_header_missing, e2ee_invalid_signing_algo,
// e2ee_invalid_public_key, e2ee_invalid_version, e2ee_invalid_nonce, e2ee_invalid_timestamp), or
// ask for version 1 when it is not allowed.
std::optional<openai::ApiError> ParseE2eeHeaders(const HttpRequest& request, bool allow_v1,
                                                 std::optional<E2eeHeaders>* out);

// An E2EE error: status 400 unless given, type and code both `type`, as Phala's proxy answers.
openai::ApiError E2eeError(std::string_view type, std::string message, int status = 400);

// The associated data that binds a sealed field to its place; "" in version 1, which has none.
// message_index is the position in `messages`; part_index the position in an array of text parts,
// nullopt for a plain string content ("-" on the wire).
std::string RequestAad(const E2eeHeaders& e2ee, std::string_view model, size_t message_index,
                       std::optional<size_t> part_index);
// choice_position is the choice's position in the `choices` array of the object that carries it
// (so 0 in every stream chunk, which holds one choice), as Phala defines it; field is "content".
std::string ResponseAad(const E2eeHeaders& e2ee, std::string_view model, std::string_view id,
                        size_t choice_position, std::string_view field);

// "ecdsa" or "ed25519", as in headers and associated data.
std::string_view E2eeAlgoName(E2eeAlgo algo);

// X-E2EE-Applied: true, X-E2EE-Version, X-E2EE-Algo.
Headers E2eeResponseHeaders(const E2eeHeaders& e2ee);

}  // namespace cai::edge
