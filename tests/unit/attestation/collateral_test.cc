// The collateral parser on the inside of Intel's signed documents: times, TCB info v3 (id "TDX")
// and QE identity. Each case starts from a well-formed document, changes one thing, and must be
// refused with a reason that names it. The real samples must still parse (checked here and, with
// a full verification, in verifier_test.cc).
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lib/attestation/collateral.h"
#include "tests/unit/attestation/testdata.h"

namespace cai {
namespace {

using nlohmann::json;

// ---- Times ----------------------------------------------------------------------------------

TEST(CollateralTime, AcceptsRealDatesIncludingLeapDays) {
  EXPECT_EQ(*ParseIsoTime("2024-02-29T00:00:00Z"), 1709164800);
  EXPECT_EQ(*ParseIsoTime("2000-02-29T12:00:00Z"), 951825600);  // 2000 is a leap year (divisible by 400)
  EXPECT_EQ(*ParseIsoTime("2025-12-31T23:59:59Z"), 1767225599);
  EXPECT_EQ(*ParseIsoTime("2025-04-30T00:00:00Z"), 1745971200);
}

// timegm would turn each of these into a different, real instant.
TEST(CollateralTime, RejectsDatesAndTimesThatDoNotExist) {
  for (const char* bad : {"2025-02-31T00:00:00Z", "2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
                          "2025-04-31T00:00:00Z", "2025-06-00T00:00:00Z", "2025-00-10T00:00:00Z",
                          "2025-06-19T24:00:00Z", "2025-06-19T10:60:00Z", "2025-06-19T10:16:60Z",
                          "2025-06-19T10:16:99Z"}) {
    absl::StatusOr<int64_t> t = ParseIsoTime(bad);
    ASSERT_FALSE(t.ok()) << bad << " parsed as " << *t;
    EXPECT_NE(t.status().message().find("does not exist"), std::string::npos) << bad << ": " << t.status();
  }
}

// ---- Well-formed documents the cases start from -----------------------------------------------

json Components(int count, int svn) {
  json list = json::array();
  for (int i = 0; i < count; ++i) list.push_back({{"svn", svn}, {"category", "BIOS"}, {"type", "x"}});
  return list;
}

json Level(json tcb, const char* status) {
  return {{"tcb", std::move(tcb)}, {"tcbDate", "2024-03-13T00:00:00Z"}, {"tcbStatus", status}};
}

// The shape of the real samples' tcbInfo (reference B5), with made-up values.
json GoodTcbInfo() {
  const std::string zeros48(96, '0');
  return {{"id", "TDX"}, {"version", 3}, {"issueDate", "2025-06-19T10:16:03Z"},
          {"nextUpdate", "2025-07-19T10:16:03Z"}, {"fmspc", "B0C06F000000"}, {"pceId", "0000"}, {"tcbType", 0},
          {"tcbEvaluationDataNumber", 17},
          {"tdxModule", {{"mrsigner", zeros48}, {"attributes", "0000000000000000"}, {"attributesMask", "FFFFFFFFFFFFFFFF"}}},
          {"tdxModuleIdentities",
           json::array({{{"id", "TDX_01"}, {"mrsigner", zeros48}, {"attributes", "0000000000000000"},
                         {"attributesMask", "FFFFFFFFFFFFFFFF"},
                         {"tcbLevels", json::array({Level({{"isvsvn", 4}}, "UpToDate"),
                                                    Level({{"isvsvn", 2}}, "OutOfDate")})}}})},
          {"tcbLevels",
           json::array({Level({{"sgxtcbcomponents", Components(16, 3)}, {"pcesvn", 11},
                               {"tdxtcbcomponents", Components(16, 5)}},
                              "UpToDate"),
                        Level({{"sgxtcbcomponents", Components(16, 2)}, {"pcesvn", 5},
                               {"tdxtcbcomponents", Components(16, 2)}},
                              "OutOfDateConfigurationNeeded")})}};
}

json GoodQeIdentity() {
  return {{"id", "TD_QE"}, {"version", 2}, {"issueDate", "2025-06-19T10:32:27Z"},
          {"nextUpdate", "2025-07-19T10:32:27Z"}, {"tcbEvaluationDataNumber", 17}, {"miscselect", "00000000"},
          {"miscselectMask", "FFFFFFFF"}, {"attributes", "11000000000000000000000000000000"},
          {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"}, {"mrsigner", std::string(64, 'd')},
          {"isvprodid", 2}, {"tcbLevels", json::array({Level({{"isvsvn", 4}}, "UpToDate")})}};
}

TEST(TcbInfoParser, AcceptsTheWellFormedDocument) {
  absl::StatusOr<TcbInfo> info = ParseTcbInfo(GoodTcbInfo().dump());
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->levels.size(), 2u);
  EXPECT_EQ(info->levels[0].tdx_components[15], 5);
  EXPECT_EQ(info->levels[1].status, TcbStatus::kOutOfDateConfigurationNeeded);
  EXPECT_EQ(info->tdx_module_identities.at(0).levels.at(1).status, TcbStatus::kOutOfDate);
  ASSERT_TRUE(ParseQeIdentity(GoodQeIdentity().dump()).ok());
}

// Only TDX TCB info must carry tdxtcbcomponents; an SGX one (which the verifier refuses later, by
// id) has none.
TEST(TcbInfoParser, SgxTcbInfoNeedsNoTdxComponents) {
  json doc = GoodTcbInfo();
  doc["id"] = "SGX";
  for (json& level : doc["tcbLevels"]) level["tcb"].erase("tdxtcbcomponents");
  absl::StatusOr<TcbInfo> info = ParseTcbInfo(doc.dump());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, "SGX");
}

struct Case {
  const char* name;
  std::function<void(json&)> change;
  const char* message_part;
};

void ExpectEachRefused(const json& good, const std::vector<Case>& cases,
                       const std::function<absl::Status(const std::string&)>& parse) {
  ASSERT_TRUE(parse(good.dump()).ok());
  for (const Case& c : cases) {
    json doc = good;
    c.change(doc);
    absl::Status s = parse(doc.dump());
    if (s.ok()) {
      ADD_FAILURE() << c.name << ": accepted";
      continue;
    }
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.name << ": " << s;
    EXPECT_NE(s.message().find(c.message_part), std::string::npos) << c.name << ": " << s;
  }
}

json& FirstTcb(json& doc) { return doc["tcbLevels"][0]["tcb"]; }
json& FirstModuleLevel(json& doc) { return doc["tdxModuleIdentities"][0]["tcbLevels"][0]; }

TEST(TcbInfoParser, RefusesEachDefectInsideTheDocument) {
  const std::vector<Case> cases = {
      // Without the field every TDX SVN would compare against zeros and match.
      {"TDX level without tdxtcbcomponents", [](json& d) { FirstTcb(d).erase("tdxtcbcomponents"); },
       "missing field \"tdxtcbcomponents\""},
      {"15 TDX components", [](json& d) { FirstTcb(d)["tdxtcbcomponents"] = Components(15, 5); },
       "\"tdxtcbcomponents\" must have 16 entries"},
      {"17 TDX components", [](json& d) { FirstTcb(d)["tdxtcbcomponents"] = Components(17, 5); },
       "\"tdxtcbcomponents\" has too many entries"},
      {"tdxtcbcomponents not an array", [](json& d) { FirstTcb(d)["tdxtcbcomponents"] = 5; }, "is not an array"},
      {"15 SGX components", [](json& d) { FirstTcb(d)["sgxtcbcomponents"] = Components(15, 3); },
       "\"sgxtcbcomponents\" must have 16 entries"},
      {"no SGX components", [](json& d) { FirstTcb(d).erase("sgxtcbcomponents"); },
       "missing field \"sgxtcbcomponents\""},
      {"SVN 256", [](json& d) { FirstTcb(d)["sgxtcbcomponents"][3]["svn"] = 256; }, "\"svn\" is out of range"},
      {"negative SVN", [](json& d) { FirstTcb(d)["tdxtcbcomponents"][0]["svn"] = -1; }, "\"svn\" is out of range"},
      {"SVN 2^64-1", [](json& d) { FirstTcb(d)["tdxtcbcomponents"][0]["svn"] = UINT64_MAX; }, "\"svn\" is out of range"},
      {"SVN as text", [](json& d) { FirstTcb(d)["sgxtcbcomponents"][0]["svn"] = "3"; }, "\"svn\" is not an integer"},
      {"fractional SVN", [](json& d) { FirstTcb(d)["sgxtcbcomponents"][0]["svn"] = 3.5; }, "\"svn\" is not an integer"},
      {"component without svn", [](json& d) { FirstTcb(d)["tdxtcbcomponents"][2].erase("svn"); },
       "missing field \"svn\""},
      {"component as a bare number", [](json& d) { FirstTcb(d)["sgxtcbcomponents"][0] = 3; }, "expected a JSON object"},
      {"no pcesvn", [](json& d) { FirstTcb(d).erase("pcesvn"); }, "missing field \"pcesvn\""},
      {"pcesvn 65536", [](json& d) { FirstTcb(d)["pcesvn"] = 65536; }, "\"pcesvn\" is out of range"},
      {"unknown tcbStatus", [](json& d) { d["tcbLevels"][0]["tcbStatus"] = "Fantastic"; }, "unknown tcbStatus"},
      {"tcbStatus in lower case", [](json& d) { d["tcbLevels"][0]["tcbStatus"] = "uptodate"; }, "unknown tcbStatus"},
      {"tcbStatus not a string", [](json& d) { d["tcbLevels"][0]["tcbStatus"] = 0; }, "\"tcbStatus\" is not a string"},
      {"no tcbStatus", [](json& d) { d["tcbLevels"][1].erase("tcbStatus"); }, "missing field \"tcbStatus\""},
      {"tcbDate that does not exist", [](json& d) { d["tcbLevels"][0]["tcbDate"] = "2024-02-30T00:00:00Z"; },
       "\"tcbDate\": time names a date"},
      {"tcbDate not a time", [](json& d) { d["tcbLevels"][0]["tcbDate"] = "2024-03-13"; }, "\"tcbDate\": time is not"},
      {"advisory id not a string", [](json& d) { d["tcbLevels"][0]["advisoryIDs"] = {"INTEL-SA-00001", 7}; },
       "advisoryIDs holds a non-string"},
      {"no tcbLevels", [](json& d) { d.erase("tcbLevels"); }, "missing field \"tcbLevels\""},
      {"tcbLevels an object", [](json& d) { d["tcbLevels"] = json::object(); }, "\"tcbLevels\" is not an array"},
      {"issueDate February 30", [](json& d) { d["issueDate"] = "2025-02-30T10:16:03Z"; }, "\"issueDate\": time names"},
      {"nextUpdate at second 60", [](json& d) { d["nextUpdate"] = "2025-07-19T10:16:60Z"; }, "\"nextUpdate\": time names"},
      {"FMSPC of 5 bytes", [](json& d) { d["fmspc"] = "B0C06F0000"; }, "\"fmspc\" must be 6 bytes"},
      {"module level without isvsvn", [](json& d) { FirstModuleLevel(d)["tcb"].erase("isvsvn"); },
       "missing field \"isvsvn\""},
      {"module isvsvn 65536", [](json& d) { FirstModuleLevel(d)["tcb"]["isvsvn"] = 65536; }, "\"isvsvn\" is out of range"},
      // Intel lists only UpToDate, OutOfDate and Revoked for module levels.
      {"module level SWHardeningNeeded", [](json& d) { FirstModuleLevel(d)["tcbStatus"] = "SWHardeningNeeded"; },
       "unknown tcbStatus \"SWHardeningNeeded\""},
      {"module without id", [](json& d) { d["tdxModuleIdentities"][0].erase("id"); }, "missing field \"id\""},
      {"module mrsigner of 32 bytes", [](json& d) { d["tdxModule"]["mrsigner"] = std::string(64, '0'); },
       "\"mrsigner\" must be 48 bytes"},
  };
  ExpectEachRefused(GoodTcbInfo(), cases, [](const std::string& text) { return ParseTcbInfo(text).status(); });
}

TEST(QeIdentityParser, RefusesEachDefectInsideTheDocument) {
  auto level = [](json& d) -> json& { return d["tcbLevels"][0]; };
  const std::vector<Case> cases = {
      {"level without isvsvn", [&](json& d) { level(d)["tcb"].erase("isvsvn"); }, "missing field \"isvsvn\""},
      {"level without tcb", [&](json& d) { level(d).erase("tcb"); }, "missing field \"tcb\""},
      {"isvsvn 65536", [&](json& d) { level(d)["tcb"]["isvsvn"] = 65536; }, "\"isvsvn\" is out of range"},
      {"negative isvsvn", [&](json& d) { level(d)["tcb"]["isvsvn"] = -1; }, "\"isvsvn\" is out of range"},
      {"isvsvn as text", [&](json& d) { level(d)["tcb"]["isvsvn"] = "4"; }, "\"isvsvn\" is not an integer"},
      {"unknown tcbStatus", [&](json& d) { level(d)["tcbStatus"] = "Fantastic"; }, "unknown tcbStatus"},
      // Intel lists only UpToDate, OutOfDate and Revoked for enclave identity levels.
      {"ConfigurationNeeded", [&](json& d) { level(d)["tcbStatus"] = "ConfigurationNeeded"; },
       "unknown tcbStatus \"ConfigurationNeeded\""},
      {"SWHardeningNeeded", [&](json& d) { level(d)["tcbStatus"] = "SWHardeningNeeded"; },
       "unknown tcbStatus \"SWHardeningNeeded\""},
      {"no tcbDate", [&](json& d) { level(d).erase("tcbDate"); }, "missing field \"tcbDate\""},
      {"tcbDate April 31", [&](json& d) { level(d)["tcbDate"] = "2024-04-31T00:00:00Z"; }, "\"tcbDate\": time names"},
      {"isvprodid 65536", [](json& d) { d["isvprodid"] = 65536; }, "\"isvprodid\" is out of range"},
      {"miscselect of 3 bytes", [](json& d) { d["miscselect"] = "000000"; }, "\"miscselect\" must be 4 bytes"},
      {"mrsigner of 31 bytes", [](json& d) { d["mrsigner"] = std::string(62, 'd'); }, "\"mrsigner\" must be 32 bytes"},
      {"attributesMask not hex", [](json& d) { d["attributesMask"] = std::string(32, 'g'); },
       "\"attributesMask\" is not hex"},
      {"issueDate hour 24", [](json& d) { d["issueDate"] = "2025-06-19T24:00:00Z"; }, "\"issueDate\": time names"},
      {"no tcbLevels", [](json& d) { d.erase("tcbLevels"); }, "missing field \"tcbLevels\""},
  };
  ExpectEachRefused(GoodQeIdentity(), cases, [](const std::string& text) { return ParseQeIdentity(text).status(); });
}

// Stricter parsing must not refuse Intel's own data.
TEST(Samples, RealCollateralStillParses) {
  for (const char* path : {"tdx_quote_collateral.json", "tdx_quote_outdated_collateral.json"}) {
    CAI_SAMPLE_OR_SKIP(text, path);
    absl::StatusOr<Collateral> c = ParseCollateral(text);
    ASSERT_TRUE(c.ok()) << path << ": " << c.status();
    EXPECT_EQ(c->tcb_info.id, "TDX");
    for (const TcbLevel& level : c->tcb_info.levels) EXPECT_NE(level.tdx_components, (std::array<uint8_t, 16>{}));
  }
}

}  // namespace
}  // namespace cai
