// Writes simulated evidence as fuzz seeds: write_fuzz_seeds <repo>/tests/fuzz/corpus
// (run by hand when the formats change; the output is committed). Every run draws fresh keys, so
// it rewrites every seed it names.
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lib/attestation/ec_crypto.h"
#include "lib/attestation/event_log.h"
#include "lib/attestation/pck_extension.h"
#include "lib/attestation/simulated_gpu.h"
#include "lib/attestation/simulated_tdx.h"
#include "lib/common/hex.h"
#include "lib/crypto/sha384.h"

namespace {

bool Write(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

bool WriteText(const std::filesystem::path& path, const std::string& text) {
  return Write(path, std::vector<uint8_t>(text.begin(), text.end()));
}

// A small dstack-style event log: two boot events and two runtime events with correct digests.
std::string EventLogSeed() {
  nlohmann::json log = nlohmann::json::array();
  auto add = [&](uint32_t imr, uint32_t type, const std::string& event, const std::string& payload) {
    std::vector<uint8_t> message = {static_cast<uint8_t>(type), static_cast<uint8_t>(type >> 8),
                                    static_cast<uint8_t>(type >> 16), static_cast<uint8_t>(type >> 24), ':'};
    message.insert(message.end(), event.begin(), event.end());
    message.push_back(':');
    message.insert(message.end(), payload.begin(), payload.end());
    log.push_back({{"imr", imr}, {"event_type", type}, {"digest", cai::HexEncode(cai::Sha384(message))},
                   {"event", event}, {"event_payload", cai::HexEncode(payload)}});
  };
  add(0, 0x80000001, "", "boot");
  add(1, 0x80000003, "", "kernel");
  add(3, cai::kDstackRuntimeEventType, "app-id", "cai");
  add(3, cai::kDstackRuntimeEventType, "compose-hash", "0123");
  return log.dump();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::filesystem::path dir = argv[1];
  auto tdx = cai::SimulatedTdx::Create();
  auto gpu = cai::SimulatedGpu::Create();
  if (!tdx.ok() || !gpu.ok()) return 1;
  std::array<uint8_t, 64> report_data{};
  std::array<uint8_t, 32> nonce{};
  for (size_t i = 0; i < report_data.size(); ++i) report_data[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0xa0 + i);
  auto quote = (*tdx)->Quote(report_data);
  auto report = (*gpu)->AttestationReport(nonce);
  if (!quote.ok() || !report.ok()) return 1;
  // The same quote as v5 with a TD 1.0 body descriptor, so the fuzzer starts on both paths.
  std::vector<uint8_t> v5 = *quote;
  v5[0] = 5;
  const std::vector<uint8_t> descriptor = {2, 0, 0x48, 0x02, 0, 0};
  v5.insert(v5.begin() + 48, descriptor.begin(), descriptor.end());
  auto collateral = (*tdx)->Collateral();
  if (!collateral.ok()) return 1;
  nlohmann::json doc = nlohmann::json::parse(*collateral);
  auto chain = cai::ParsePemCertificates((*tdx)->pck_chain_pem());
  if (!chain.ok()) return 1;
  unsigned char* leaf_der = nullptr;
  int leaf_len = i2d_X509(chain->front().get(), &leaf_der);
  std::vector<uint8_t> leaf(leaf_der, leaf_der + (leaf_len > 0 ? leaf_len : 0));
  OPENSSL_free(leaf_der);
  auto extension = cai::ParsePckExtension(chain->front().get());
  if (!extension.ok()) return 1;
  bool ok = Write(dir / "tdx_quote_fuzz" / "simulated_v4.bin", *quote) &&
            WriteText(dir / "collateral_fuzz" / "simulated_collateral.json", *collateral) &&
            WriteText(dir / "collateral_fuzz" / "simulated_tcb_info.json", doc["tcb_info"].get<std::string>()) &&
            WriteText(dir / "collateral_fuzz" / "simulated_qe_identity.json", doc["qe_identity"].get<std::string>()) &&
            Write(dir / "pck_extension_fuzz" / "simulated_sgx_extension.der", cai::EncodePckExtensionDer(*extension)) &&
            Write(dir / "pck_extension_fuzz" / "simulated_pck_leaf.der", leaf) &&
            WriteText(dir / "event_log_fuzz" / "simulated_event_log.json", EventLogSeed()) &&
            Write(dir / "tdx_quote_fuzz" / "simulated_v5_td10.bin", v5) &&
            Write(dir / "spdm_report_fuzz" / "simulated_hopper.bin", *report);
  // tdx_verify_fuzz: a quote followed by its collateral JSON (tests/fuzz/tdx_verify_fuzz.cc), with
  // collateral that takes the policy down its different branches.
  cai::SimulatedCollateralOptions out_of_date;
  out_of_date.platform_status = cai::TcbStatus::kOutOfDate;
  out_of_date.advisory_ids = {"INTEL-SA-00001"};
  cai::SimulatedCollateralOptions revoked_pck;
  revoked_pck.revoke_pck_certificate = true;
  auto out_of_date_collateral = (*tdx)->Collateral(out_of_date);
  auto revoking_collateral = (*tdx)->Collateral(revoked_pck);
  if (!out_of_date_collateral.ok() || !revoking_collateral.ok()) return 1;
  auto pair = [&](const std::vector<uint8_t>& q, const std::string& c) {
    std::vector<uint8_t> out = q;
    out.insert(out.end(), c.begin(), c.end());
    return out;
  };
  const std::filesystem::path verify = dir / "tdx_verify_fuzz";
  ok = ok && Write(verify / "simulated_v4_alone.bin", *quote) &&
       Write(verify / "simulated_v4_up_to_date.bin", pair(*quote, *collateral)) &&
       Write(verify / "simulated_v4_out_of_date.bin", pair(*quote, *out_of_date_collateral)) &&
       Write(verify / "simulated_v4_pck_revoked.bin", pair(*quote, *revoking_collateral)) &&
       Write(verify / "simulated_v5_td10_up_to_date.bin", pair(v5, *collateral));
  return ok ? 0 : 1;
}
