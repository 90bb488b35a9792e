// The service under verification is untrusted: every answer with a field of the wrong type is an
// error naming that field (before the fix, nlohmann's value() threw and aborted the verifier).
#include "tools/cai/service_answers.h"

#include <gtest/gtest.h>

namespace cai::cli {
namespace {

TEST(ParseModelListTest, ReadsTheFirstModelId) {
  EXPECT_EQ(*ParseModelList(R"({"object":"list","data":[{"id":"m1"},{"id":"m2"}]})"), "m1");
}

TEST(ParseModelListTest, NumericModelIdIsAnError) {
  absl::StatusOr<std::string> model = ParseModelList(R"({"data":[{"id":5}]})");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "field 'data[0].id' must be a string (found number)");
}

TEST(ParseModelListTest, NonObjectModelIsAnError) {
  EXPECT_EQ(ParseModelList(R"({"data":[5]})").status().message(), "field 'data[0]' must be an object");
  EXPECT_EQ(ParseModelList(R"({"data":["m"]})").status().message(), "field 'data[0]' must be an object");
}

TEST(ParseModelListTest, MissingOrEmptyDataIsAnError) {
  EXPECT_FALSE(ParseModelList(R"({"data":[]})").ok());
  EXPECT_FALSE(ParseModelList(R"({"data":{"id":"m"}})").ok());
  EXPECT_FALSE(ParseModelList(R"({})").ok());
  EXPECT_FALSE(ParseModelList(R"([{"id":"m"}])").ok());
  EXPECT_FALSE(ParseModelList(R"({"data":[{}]})").ok());
}

TEST(ParseAttestationReportTest, ReadsEveryField) {
  absl::StatusOr<AttestationReportFields> report = ParseAttestationReport(
      R"({"request_nonce":"aa","intel_quote":"bb","event_log":"[]","signing_address":"cc","nvidia_payload":"{}","signing_public_key":"dd",
          "info":{"simulated":true,"simulated_roots":{"tdx_root_ca_pem":"T","gpu_root_ca_pem":"G"}}})");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->request_nonce, "aa");
  EXPECT_EQ(report->intel_quote, "bb");
  EXPECT_EQ(report->event_log, "[]");
  EXPECT_EQ(report->signing_address, "cc");
  EXPECT_EQ(report->signing_public_key, "dd");
  EXPECT_EQ(report->nvidia_payload, "{}");
  EXPECT_TRUE(report->simulated);
  EXPECT_EQ(report->simulated_tdx_root_pem, "T");
  EXPECT_EQ(report->simulated_gpu_root_pem, "G");
}

TEST(ParseAttestationReportTest, AbsentFieldsAreEmpty) {
  absl::StatusOr<AttestationReportFields> report = ParseAttestationReport("{}");
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->simulated);
  EXPECT_TRUE(report->intel_quote.empty());
}

TEST(ParseAttestationReportTest, NonBooleanSimulatedIsAnError) {
  EXPECT_EQ(ParseAttestationReport(R"({"info":{"simulated":"false"}})").status().message(),
            "field 'info.simulated' must be a boolean (found string)");
  EXPECT_EQ(ParseAttestationReport(R"({"info":{"simulated":1}})").status().message(),
            "field 'info.simulated' must be a boolean (found number)");
}

TEST(ParseAttestationReportTest, NonStringSimulatedRootIsAnError) {
  EXPECT_EQ(
      ParseAttestationReport(R"({"info":{"simulated":true,"simulated_roots":{"tdx_root_ca_pem":7}}})").status().message(),
      "field 'info.simulated_roots.tdx_root_ca_pem' must be a string (found number)");
  EXPECT_EQ(
      ParseAttestationReport(R"({"info":{"simulated":true,"simulated_roots":{"gpu_root_ca_pem":[]}}})").status().message(),
      "field 'info.simulated_roots.gpu_root_ca_pem' must be a string (found array)");
  EXPECT_EQ(ParseAttestationReport(R"({"info":{"simulated_roots":"pem"}})").status().message(),
            "field 'info.simulated_roots' must be an object (found string)");
}

TEST(ParseAttestationReportTest, WrongTopLevelTypesAreErrors) {
  EXPECT_EQ(ParseAttestationReport(R"({"info":[]})").status().message(), "field 'info' must be an object (found array)");
  EXPECT_EQ(ParseAttestationReport(R"({"intel_quote":{}})").status().message(),
            "field 'intel_quote' must be a string (found object)");
  EXPECT_EQ(ParseAttestationReport(R"({"signing_address":true})").status().message(),
            "field 'signing_address' must be a string (found boolean)");
  EXPECT_FALSE(ParseAttestationReport("[]").ok());
  EXPECT_FALSE(ParseAttestationReport("not json").ok());
}

TEST(ParseChatCompletionTest, ReadsIdAndReply) {
  absl::StatusOr<ChatCompletionFields> c =
      ParseChatCompletion(R"({"id":"chatcmpl-1","choices":[{"message":{"role":"assistant","content":"hi"}}]})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "chatcmpl-1");
  EXPECT_EQ(c->reply, "hi");
  EXPECT_EQ(ParseChatCompletion(R"({"id":"x","choices":[{"message":{"content":null}}]})")->reply, "");
}

TEST(ParseChatCompletionTest, NumericIdIsAnError) {
  EXPECT_EQ(ParseChatCompletion(R"({"id":5})").status().message(), "field 'id' must be a string (found number)");
  EXPECT_EQ(ParseChatCompletion(R"({"object":"chat.completion"})").status().message(),
            "field 'id' is missing or empty");
}

TEST(ParseChatCompletionTest, MalformedChoicesAreErrors) {
  EXPECT_EQ(ParseChatCompletion(R"({"id":"x","choices":{}})").status().message(), "field 'choices' must be an array");
  EXPECT_EQ(ParseChatCompletion(R"({"id":"x","choices":[1]})").status().message(),
            "field 'choices[0]' must be an object");
  EXPECT_EQ(ParseChatCompletion(R"({"id":"x","choices":[{"message":"hi"}]})").status().message(),
            "field 'choices[0].message' must be an object (found string)");
  EXPECT_EQ(ParseChatCompletion(R"({"id":"x","choices":[{"message":{"content":3}}]})").status().message(),
            "field 'choices[0].message.content' must be a string (found number)");
}

TEST(ParseSignatureTest, ReadsTextAndSignatureAndRejectsWrongTypes) {
  absl::StatusOr<SignatureFields> sig = ParseSignature(R"({"text":"a:b","signature":"0x01"})");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->text, "a:b");
  EXPECT_EQ(sig->signature, "0x01");
  EXPECT_EQ(ParseSignature(R"({"text":["a"]})").status().message(), "field 'text' must be a string (found array)");
  EXPECT_EQ(ParseSignature(R"({"signature":1})").status().message(),
            "field 'signature' must be a string (found number)");
}

TEST(UrlEncodeTest, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(UrlEncode("chatcmpl-Ab_9.~"), "chatcmpl-Ab_9.~");
  EXPECT_EQ(UrlEncode("a b/c?d&e=f\r\n"), "a%20b%2Fc%3Fd%26e%3Df%0D%0A");
  EXPECT_EQ(UrlEncode("\xff"), "%FF");
}

}  // namespace
}  // namespace cai::cli
