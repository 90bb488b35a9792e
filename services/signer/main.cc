// cai-signer: holds the service's signing keys and signs chat responses for the edge.
#include <openssl/crypto.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "lib/common/command_line.h"
#include "absl/time/time.h"
#include "lib/common/grpc_server.h"
#include "lib/common/hex.h"
#include "lib/common/log.h"
#include "lib/common/secure_memory.h"
#include "lib/crypto/ed25519_signer.h"
#include "lib/crypto/secp256k1_signer.h"
#include "services/signer/replay_guard.h"
#include "services/signer/signature_store.h"
#include "services/signer/signer_service.h"

ABSL_FLAG(std::string, listen, "unix:/tmp/cai/signer.sock", "gRPC address: unix:/path or host:port");
ABSL_FLAG(int64_t, signature_ttl_seconds, 1800, "How long a signature can be fetched after signing");
ABSL_FLAG(int64_t, max_signatures, 100000, "Most signatures kept; the oldest are evicted first");

namespace {

constexpr int64_t kMaxTtlSeconds = 7 * 24 * 3600;
constexpr int64_t kMaxSignatures = 10'000'000;  // about 10 GB at SignatureStore::MaxEntryBytes()
// OpenSSL's secure heap, where it keeps its copy of the Ed25519 key (must be a power of two).
constexpr size_t kSecureHeapBytes = 64 * 1024;

[[noreturn]] void Die(const std::string& message) {
  cai::LogError(message);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  cai::SetLogName("cai-signer");
  cai::BlockTerminationSignals();
  cai::ParseCommandLine(argc, argv,
                       "holds the signing keys and signs responses, for cai-edge.\n"
                       "Usage: cai-signer [--listen ADDR]");

  // Before any secret exists: no core file or ptrace can ever see one.
  if (absl::Status s = cai::DisableCoreDumps(); !s.ok()) Die("cannot disable core dumps: " + s.ToString());
  // Returns 2 when the heap exists but could not be mlock'd; it is still excluded from dumps.
  switch (CRYPTO_secure_malloc_init(kSecureHeapBytes, 32)) {
    case 0: Die("CRYPTO_secure_malloc_init failed");
    case 2: cai::LogWarning("OpenSSL secure heap is not mlock'd (raise RLIMIT_MEMLOCK)"); break;
    default: break;
  }

  const int64_t ttl_seconds = absl::GetFlag(FLAGS_signature_ttl_seconds);
  const int64_t max_signatures = absl::GetFlag(FLAGS_max_signatures);
  if (ttl_seconds <= 0 || ttl_seconds > kMaxTtlSeconds) {
    Die("--signature_ttl_seconds must be in 1.." + std::to_string(kMaxTtlSeconds));
  }
  if (max_signatures <= 0 || max_signatures > kMaxSignatures) {
    Die("--max_signatures must be in 1.." + std::to_string(kMaxSignatures));
  }

  absl::StatusOr<cai::EthereumSigner> ecdsa = cai::EthereumSigner::Generate();
  if (!ecdsa.ok()) Die("cannot generate the secp256k1 key: " + ecdsa.status().ToString());
  absl::StatusOr<cai::Ed25519Signer> ed25519 = cai::Ed25519Signer::Generate();
  if (!ed25519.ok()) Die("cannot generate the ed25519 key: " + ed25519.status().ToString());
  cai::LogInfo("ecdsa signing address ", ecdsa->address());
  cai::LogInfo("ed25519 public key ", cai::HexEncode(ed25519->public_key()));

  cai::SignatureStore store(absl::Seconds(ttl_seconds), static_cast<size_t>(max_signatures));
  // E2EE version 2: Phala's window of 300 s either side; 262144 live claims (about 40 MB at most)
  // are ~870 requests/s sustained, far beyond one node's request rate.
  cai::ReplayGuard replay_guard(/*window_seconds=*/300, /*max_claims=*/262144);
  cai::SignerService service(*ecdsa, *ed25519, store, replay_guard);
  absl::Status served = cai::ServeUntilSignal(absl::GetFlag(FLAGS_listen), {&service}, "cai.v1.Signer");
  if (!served.ok()) cai::LogError(served.ToString());
  // Returning (not exit()) runs the destructors: the SecureBuffer holding the secp256k1 key is wiped and
  // EVP_PKEY_free clears OpenSSL's copy of the ed25519 key.
  return served.ok() ? 0 : 1;
}
