#include "lib/attestation/simulated_gpu.h"

#include <openssl/evp.h>

#include <string_view>

#include "lib/attestation/byte_io.h"
#include "lib/attestation/nvidia_spdm.h"
#include "lib/common/random.h"
#include "lib/crypto/sha384.h"

namespace cai {
namespace {

constexpr int kBlocks = 64;


// DICE TcbInfo ::= SEQUENCE { fwids [6] IMPLICIT SEQUENCE OF SEQUENCE { hashAlg OID, digest
// OCTET STRING } }: a real leaf's extension value likewise ends with the 48-byte FWID.
std::vector<uint8_t> DiceTcbInfo(const std::array<uint8_t, 48>& fwid) {
  const uint8_t sha384_oid[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
  std::vector<uint8_t> der = {0x30, 0x41, 0xa6, 0x3f, 0x30, 0x3d};
  der.insert(der.end(), std::begin(sha384_oid), std::end(sha384_oid));
  der.push_back(0x04);
  der.push_back(0x30);
  der.insert(der.end(), fwid.begin(), fwid.end());
  return der;
}

void OpaqueField(ByteWriter& w, uint16_t type, std::span<const uint8_t> value) {
  w.U16(type);
  w.U16(static_cast<uint16_t>(value.size()));
  w.Bytes(value);
}

std::vector<uint8_t> OpaqueData(const std::array<uint8_t, 48>& fwid) {
  std::string driver(kSimulatedGpuDriverVersion, sizeof(kSimulatedGpuDriverVersion));  // with NUL
  const uint8_t vbios[8] = {0x00, 0x9f, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00};           // "96.00.9f.00.01"
  const std::string project = "cai-simulated";
  ByteWriter w;
  OpaqueField(w, kSpdmOpaqueDriverVersion,
              std::span(reinterpret_cast<const uint8_t*>(driver.data()), driver.size()));
  OpaqueField(w, kSpdmOpaqueVbiosVersion, vbios);
  OpaqueField(w, 17, std::span(reinterpret_cast<const uint8_t*>(project.data()), project.size()));
  OpaqueField(w, kSpdmOpaqueFwid, fwid);
  return std::move(w.bytes());
}

}  // namespace

absl::StatusOr<std::unique_ptr<SimulatedGpu>> SimulatedGpu::Create() {
  std::unique_ptr<SimulatedGpu> gpu(new SimulatedGpu());
  // Root first; names follow the real Hopper chain (C3) with a SIMULATED marker.
  const char* names[5] = {"cai SIMULATED NVIDIA Device Identity CA", "cai SIMULATED GH100 Identity",
                          "cai SIMULATED GH100 Provisioner ICA 1", "cai SIMULATED GH100 A01 GSP BROM",
                          "cai SIMULATED GH100 A01 GSP FMC LF"};
  gpu->fwid_ = Sha384("cai simulated GPU firmware");
  std::vector<EvpPkeyPtr> keys;
  std::vector<X509Ptr> certs;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<EvpPkeyPtr> key = GenerateEcKey(EcCurve::kP384);
    if (!key.ok()) return key.status();
    CertificateSpec spec;
    spec.common_name = names[i];
    spec.subject_key = key->get();
    spec.issuer = i == 0 ? nullptr : certs.back().get();
    spec.issuer_key = i == 0 ? nullptr : keys.back().get();
    spec.is_ca = i < 4;
    spec.md = EVP_sha384();
    if (i == 4) {
      spec.extra_extension_oid = kDiceTcbInfoOid;
      spec.extra_extension_der = DiceTcbInfo(gpu->fwid_);
    }
    absl::StatusOr<X509Ptr> cert = MakeCertificate(spec);
    if (!cert.ok()) return cert.status();
    keys.push_back(std::move(*key));
    certs.push_back(std::move(*cert));
  }
  for (int i = 4; i >= 0; --i) gpu->chain_pem_ += CertificateToPem(certs[i].get());
  gpu->root_pem_ = CertificateToPem(certs[0].get());
  absl::MutexLock lock(&gpu->mu_);
  gpu->leaf_key_ = std::move(keys.back());
  return gpu;
}

absl::StatusOr<std::vector<uint8_t>> SimulatedGpu::AttestationReport(std::span<const uint8_t, 32> nonce) {
  ByteWriter w;
  w.U8(kSpdmVersion11);
  w.U8(kSpdmGetMeasurements);
  w.U8(0x01);  // param1: signature requested
  w.U8(0xff);  // param2: all measurements
  w.Bytes(nonce);
  w.U8(0);  // slot

  ByteWriter record;
  for (int i = 1; i <= kBlocks; ++i) {
    record.U8(static_cast<uint8_t>(i));
    record.U8(1);  // DMTF
    record.U16(51);
    record.U8(1);  // value type
    record.U16(48);
    record.Bytes(Sha384("cai simulated GPU measurement " + std::to_string(i)));
  }
  w.U8(kSpdmVersion11);
  w.U8(kSpdmMeasurements);
  w.U8(0);
  w.U8(0);
  w.U8(kBlocks);
  w.U24(static_cast<uint32_t>(record.size()));
  w.Bytes(record.bytes());
  std::array<uint8_t, 32> responder_nonce;
  if (absl::Status s = FillRandom(responder_nonce); !s.ok()) return s;
  w.Bytes(responder_nonce);
  std::vector<uint8_t> opaque = OpaqueData(fwid_);
  w.U16(static_cast<uint16_t>(opaque.size()));
  w.Bytes(opaque);

  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::vector<uint8_t>> sig = SignEcdsaRaw(leaf_key_.get(), EVP_sha384(), w.bytes());
  if (!sig.ok()) return sig.status();
  w.Bytes(*sig);
  return std::move(w.bytes());
}

}  // namespace cai
