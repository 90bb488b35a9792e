#include "services/edge/attestation_report.h"

#include <nlohmann/json.hpp>
#include <gtest/gtest.h>

#include "lib/common/hex.h"

namespace cai::edge {
namespace {

v1::PublicKeys Keys() {
  v1::PublicKeys keys;
  keys.set_ecdsa_address("0x8a4D5cBa5a0f0F6f0bb9a1E0B2C0e3F1d2A3b4C5");
  keys.set_ecdsa_public_key(std::string(64, '\x11'));
  keys.set_ed25519_public_key(std::string(32, '\x22'));
  return keys;
}

std::vector<uint8_t> Nonce() {
  std::vector<uint8_t> nonce(32);
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0xa0 + i);
  return nonce;
}

TEST(ReportData, EcdsaIsThePaddedAddressThenTheNonce) {
  absl::StatusOr<std::vector<uint8_t>> key_id = KeyId(Keys(), SigningAlgo::kEcdsa);
  ASSERT_TRUE(key_id.ok());
  absl::StatusOr<std::array<uint8_t, 64>> report_data = BuildReportData(*key_id, Nonce());
  ASSERT_TRUE(report_data.ok());
  EXPECT_EQ(HexEncode(*report_data),
            "8a4d5cba5a0f0f6f0bb9a1e0b2c0e3f1d2a3b4c5000000000000000000000000"
            "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
}

TEST(ReportData, Ed25519IsTheKeyThenTheNonce) {
  absl::StatusOr<std::vector<uint8_t>> key_id = KeyId(Keys(), SigningAlgo::kEd25519);
  ASSERT_TRUE(key_id.ok());
  absl::StatusOr<std::array<uint8_t, 64>> report_data = BuildReportData(*key_id, Nonce());
  ASSERT_TRUE(report_data.ok());
  EXPECT_EQ(HexEncode(*report_data),
            std::string(64, '2') + "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
}

TEST(ReportData, RejectsBadSizes) {
  std::vector<uint8_t> key(33), nonce(32);
  EXPECT_FALSE(BuildReportData(key, nonce).ok());
  key.resize(20);
  nonce.resize(31);
  EXPECT_FALSE(BuildReportData(key, nonce).ok());
  v1::PublicKeys keys = Keys();
  keys.set_ecdsa_address("0x1234");
  EXPECT_FALSE(KeyId(keys, SigningAlgo::kEcdsa).ok());
  keys.set_ed25519_public_key("short");
  EXPECT_FALSE(KeyId(keys, SigningAlgo::kEd25519).ok());
}

TEST(SigningAlgo, Parses) {
  EXPECT_EQ(*ParseSigningAlgo(""), SigningAlgo::kEcdsa);
  EXPECT_EQ(*ParseSigningAlgo("ecdsa"), SigningAlgo::kEcdsa);
  EXPECT_EQ(*ParseSigningAlgo("ed25519"), SigningAlgo::kEd25519);
  EXPECT_FALSE(ParseSigningAlgo("ECDSA").ok());
  EXPECT_FALSE(ParseSigningAlgo("rsa").ok());
}

TEST(Base64, MatchesRfc4648) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
}

TEST(AttestationReport, HasThePeerFieldSet) {
  v1::PublicKeys keys = Keys();
  v1::Evidence evidence;
  evidence.set_tdx_quote("\x04\x00\x02", 3);
  evidence.set_event_log("[]");
  evidence.set_vm_config("{}");
  evidence.set_simulated(true);
  evidence.set_tdx_provider("simulated");
  evidence.set_gpu_provider("simulated");
  evidence.set_info_json(R"({"app_id":"abc"})");
  v1::GpuEvidence* gpu = evidence.add_gpus();
  gpu->set_arch("HOPPER");
  gpu->set_certificate_chain("PEM");
  gpu->set_attestation_report("rep");
  const std::vector<uint8_t> nonce = Nonce();

  const std::string text = RenderAttestationReport(ReportInputs{
      .algo = SigningAlgo::kEcdsa, .keys = &keys, .nonce = nonce, .evidence = &evidence,
      .model = "llama", .edge_version = "cai-edge 0.1.0"});
  nlohmann::json report = nlohmann::json::parse(text);
  const std::string nonce_hex = HexEncode(nonce);
  EXPECT_EQ(report["signing_address"], keys.ecdsa_address());
  EXPECT_EQ(report["signing_algo"], "ecdsa");
  EXPECT_EQ(report["signing_public_key"], std::string(128, '1'));
  EXPECT_EQ(report["request_nonce"], nonce_hex);
  EXPECT_EQ(report["intel_quote"], "040002");
  EXPECT_EQ(report["quote"], "040002");
  EXPECT_EQ(report["event_log"], "[]");
  EXPECT_EQ(report["vm_config"], "{}");
  EXPECT_EQ(report["nvidia_payload"],
            R"({"nonce":")" + nonce_hex +
                R"(","evidence_list":[{"certificate":"UEVN","evidence":"cmVw","arch":"HOPPER"}],"arch":"HOPPER"})");
  EXPECT_EQ(report["info"]["app_id"], "abc");
  EXPECT_EQ(report["info"]["simulated"], true);
  EXPECT_EQ(report["info"]["model"], "llama");
  EXPECT_EQ(report["info"]["edge_version"], "cai-edge 0.1.0");
  ASSERT_EQ(report["all_attestations"].size(), 1u);
  nlohmann::json inner = report["all_attestations"][0];
  EXPECT_FALSE(inner.contains("all_attestations"));
  report.erase("all_attestations");
  EXPECT_EQ(inner, report);
}

TEST(AttestationReport, Ed25519UsesTheHexKeyAsAddress) {
  v1::PublicKeys keys = Keys();
  v1::Evidence evidence;
  evidence.set_info_json("not json");
  const std::vector<uint8_t> nonce = Nonce();
  nlohmann::json report = nlohmann::json::parse(RenderAttestationReport(ReportInputs{
      .algo = SigningAlgo::kEd25519, .keys = &keys, .nonce = nonce, .evidence = &evidence,
      .model = "", .edge_version = "v"}));
  EXPECT_EQ(report["signing_address"], std::string(64, '2'));
  EXPECT_EQ(report["signing_public_key"], std::string(64, '2'));
  EXPECT_EQ(report["signing_algo"], "ed25519");
  EXPECT_FALSE(report["info"].contains("model"));
  EXPECT_EQ(nlohmann::json::parse(report["nvidia_payload"].get<std::string>())["evidence_list"].size(), 0u);
}

}  // namespace
}  // namespace cai::edge
