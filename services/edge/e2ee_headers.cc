#include "services/edge/e2ee_headers.h"

#include <charconv>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/common/ascii.h"
#include "lib/common/hex.h"
#include "lib/crypto/ecies_secp256k1.h"
#include "lib/crypto/ecies_x25519.h"

namespace cai::edge {
namespace {

// More hex digits than a 65-byte key has, so longer values are refused before decoding.
constexpr size_t kMaxKeyHexChars = 2 * 65 + 2;

// A public key of `algo` into *key (secp256k1: normalised to 0x04 || x || y) and, when asked, the
// key that agreements use into *recipient (secp256k1: the same; Ed25519: its X25519 twin).
std::optional<openai::ApiError> ParseKey(E2eeAlgo algo, std::string_view header, std::string_view hex,
                                         std::vector<uint8_t>* key, std::vector<uint8_t>* recipient = nullptr) {
  auto invalid = [&](std::string_view why) {
    const std::string problem =
        algo == E2eeAlgo::kEcdsa
            ? absl::StrCat(std::string(header), " must be a secp256k1 public key in hex: 64 bytes (x || y, as "
                                                "signing_public_key in the attestation report) or 65 (04 || x || y)")
            : absl::StrCat(std::string(header), " must be an Ed25519 public key in hex: 32 bytes (as "
                                                "signing_public_key in the ed25519 attestation report)");
    return E2eeError("e2ee_invalid_public_key", why.empty() ? problem : absl::StrCat(problem, "; ", std::string(why)));
  };
  if (hex.size() > kMaxKeyHexChars) return invalid("");
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(hex);
  if (!bytes.ok()) return invalid("");
  if (algo == E2eeAlgo::kEcdsa) {
    absl::StatusOr<Secp256k1PublicKey> point = ParseSecp256k1PublicKey(*bytes);
    if (!point.ok()) return invalid(std::string(point.status().message()));
    key->assign(point->begin(), point->end());
    if (recipient != nullptr) *recipient = *key;
    return std::nullopt;
  }
  // An Ed25519 key is used through its X25519 twin, which must exist.
  absl::StatusOr<X25519PublicKey> twin = X25519FromEd25519Public(*bytes);
  if (!twin.ok()) return invalid(std::string(twin.status().message()));
  *key = *std::move(bytes);
  if (recipient != nullptr) recipient->assign(twin->begin(), twin->end());
  return std::nullopt;
}

}  // namespace

openai::ApiError E2eeError(std::string_view type, std::string message, int status) {
  return openai::ApiError{.status = status, .type = std::string(type), .message = std::move(message), .param = "",
                          .code = std::string(type)};
}

std::optional<openai::ApiError> ParseE2eeHeaders(const HttpRequest& request, bool allow_v1,
                                                 std::optional<E2eeHeaders>* out) {
  out->reset();
  const std::string_view algo_header = TrimAsciiWhitespace(request.Header("X-Signing-Algo"));
  const std::string_view client_header = TrimAsciiWhitespace(request.Header("X-Client-Pub-Key"));
  const std::string_view model_header = TrimAsciiWhitespace(request.Header("X-Model-Pub-Key"));
  if (algo_header.empty() && client_header.empty() && model_header.empty()) return std::nullopt;
  if (algo_header.empty() || client_header.empty() || model_header.empty()) {
    return E2eeError("e2ee_header_missing",
                     "End-to-end encryption needs all of X-Signing-Algo, X-Client-Pub-Key and X-Model-Pub-Key");
  }
  const std::string algo = absl::AsciiStrToLower(std::string(algo_header));
  E2eeHeaders e2ee;
  if (algo == "ecdsa") {
    e2ee.algo = E2eeAlgo::kEcdsa;
  } else if (algo == "ed25519") {
    e2ee.algo = E2eeAlgo::kEd25519;
  } else {
    return E2eeError("e2ee_invalid_signing_algo", "X-Signing-Algo must be 'ecdsa' or 'ed25519'");
  }
  if (auto error = ParseKey(e2ee.algo, "X-Client-Pub-Key", client_header, &e2ee.client_key, &e2ee.client_recipient)) {
    return error;
  }
  if (auto error = ParseKey(e2ee.algo, "X-Model-Pub-Key", model_header, &e2ee.model_key)) return error;

  const std::string_view version = TrimAsciiWhitespace(request.Header("X-E2EE-Version"));
  const std::string_view nonce = TrimAsciiWhitespace(request.Header("X-E2EE-Nonce"));
  const std::string_view timestamp = TrimAsciiWhitespace(request.Header("X-E2EE-Timestamp"));
  if (!version.empty() && version != "1" && version != "2") {
    return E2eeError("e2ee_invalid_version", "X-E2EE-Version must be 1 or 2");
  }
  if (nonce.empty() != timestamp.empty()) {
    return E2eeError("e2ee_header_missing", "X-E2EE-Nonce and X-E2EE-Timestamp go together");
  }
  if (version == "2" || !nonce.empty()) e2ee.version = E2eeVersion::kV2;
  if (e2ee.version == E2eeVersion::kV1 && !allow_v1) {
    return E2eeError("e2ee_invalid_version",
                     "End-to-end encryption version 1 is refused here: a recorded request could be replayed with "
                     "another X-Client-Pub-Key to read its answer. Use version 2 (X-E2EE-Version: 2, X-E2EE-Nonce, "
                     "X-E2EE-Timestamp)");
  }
  if (e2ee.version == E2eeVersion::kV2) {
    if (nonce.size() < kMinE2eeNonceChars || nonce.size() > kMaxE2eeNonceChars || !IsVisibleAscii(nonce)) {
      return E2eeError("e2ee_invalid_nonce",
                       absl::StrCat("X-E2EE-Nonce must be ", kMinE2eeNonceChars, " to ", kMaxE2eeNonceChars,
                                    " visible ASCII characters, unique per request"));
    }
    const char* end = timestamp.data() + timestamp.size();
    auto [stop, error] = std::from_chars(timestamp.data(), end, e2ee.timestamp);
    if (timestamp.empty() || error != std::errc() || stop != end || e2ee.timestamp < 0) {
      return E2eeError("e2ee_invalid_timestamp", "X-E2EE-Timestamp must be the time of the request in unix seconds");
    }
    e2ee.nonce = std::string(nonce);
  }
  *out = std::move(e2ee);
  return std::nullopt;
}

std::string RequestAad(const E2eeHeaders& e2ee, std::string_view model, size_t message_index,
                       std::optional<size_t> part_index) {
  if (e2ee.version == E2eeVersion::kV1) return "";
  return absl::StrCat("v2|req|algo=", std::string(E2eeAlgoName(e2ee.algo)), "|model=", std::string(model), "|m=", message_index,
                      "|c=", part_index ? absl::StrCat(*part_index) : "-", "|n=", e2ee.nonce, "|ts=", e2ee.timestamp);
}

std::string ResponseAad(const E2eeHeaders& e2ee, std::string_view model, std::string_view id,
                        size_t choice_position, std::string_view field) {
  if (e2ee.version == E2eeVersion::kV1) return "";
  return absl::StrCat("v2|resp|algo=", std::string(E2eeAlgoName(e2ee.algo)), "|model=", std::string(model),
                      "|id=", std::string(id),
                      "|choice=", choice_position, "|field=", std::string(field),
                      "|n=", e2ee.nonce, "|ts=", e2ee.timestamp);
}

std::string_view E2eeAlgoName(E2eeAlgo algo) { return algo == E2eeAlgo::kEcdsa ? "ecdsa" : "ed25519"; }

Headers E2eeResponseHeaders(const E2eeHeaders& e2ee) {
  return {{"X-E2EE-Applied", "true"},
          {"X-E2EE-Version", e2ee.version == E2eeVersion::kV2 ? "2" : "1"},
          {"X-E2EE-Algo", std::string(E2eeAlgoName(e2ee.algo))}};
}

}  // namespace cai::edge
