#include "lib/attestation/collateral.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "lib/attestation/trust_anchors.h"
#include "lib/common/hex.h"

namespace cai {
namespace {

using nlohmann::json;

constexpr size_t kMaxLevels = 256;
constexpr size_t kMaxAdvisories = 512;
constexpr size_t kMaxModuleIdentities = 64;

// Thrown inside this file only, turned into InvalidArgument at each public function.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json& Field(const json& obj, const char* key) {
  if (!obj.is_object()) throw FormatError("expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end()) throw FormatError(absl::StrCat("missing field \"", key, "\""));
  return *it;
}

std::string String(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  if (!v.is_string()) throw FormatError(absl::StrCat("field \"", key, "\" is not a string"));
  return v.get<std::string>();
}

int64_t Integer(const json& obj, const char* key, int64_t min, int64_t max) {
  const json& v = Field(obj, key);
  if (!v.is_number_integer()) throw FormatError(absl::StrCat("field \"", key, "\" is not an integer"));
  int64_t value = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                      ? max + 1
                      : v.get<int64_t>();
  if (value < min || value > max) throw FormatError(absl::StrCat("field \"", key, "\" is out of range"));
  return value;
}

std::vector<uint8_t> Hex(const json& obj, const char* key) {
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(String(obj, key));
  if (!bytes.ok()) throw FormatError(absl::StrCat("field \"", key, "\" is not hex"));
  return *bytes;
}

template <size_t N>
std::array<uint8_t, N> HexArray(const json& obj, const char* key) {
  std::vector<uint8_t> bytes = Hex(obj, key);
  if (bytes.size() != N) throw FormatError(absl::StrCat("field \"", key, "\" must be ", N, " bytes"));
  std::array<uint8_t, N> out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

uint32_t HexU32BigEndian(const json& obj, const char* key) {
  std::array<uint8_t, 4> b = HexArray<4>(obj, key);
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | b[3];
}

int64_t Time(const json& obj, const char* key) {
  absl::StatusOr<int64_t> t = ParseIsoTime(String(obj, key));
  if (!t.ok()) throw FormatError(absl::StrCat("field \"", key, "\": ", t.status().message()));
  return *t;
}

int DaysInMonth(int year, int month) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

const json& Array(const json& obj, const char* key, size_t max) {
  const json& v = Field(obj, key);
  if (!v.is_array()) throw FormatError(absl::StrCat("field \"", key, "\" is not an array"));
  if (v.size() > max) throw FormatError(absl::StrCat("field \"", key, "\" has too many entries"));
  return v;
}

// Which statuses Intel's PCS documents for a level: a platform level of the TCB info may carry any
// of the seven, a QE identity or TDX module level only UpToDate, OutOfDate or Revoked. A status
// outside its list is not Intel's data, so it is refused rather than ranked.
enum class LevelKind { kPlatform, kIsv };

TcbStatus Status(const json& level, LevelKind kind) {
  const std::string name = String(level, "tcbStatus");
  std::optional<TcbStatus> status = ParseTcbStatus(name);
  const bool allowed = status && (kind == LevelKind::kPlatform || *status == TcbStatus::kUpToDate ||
                                  *status == TcbStatus::kOutOfDate || *status == TcbStatus::kRevoked);
  if (!allowed) throw FormatError(absl::StrCat("unknown tcbStatus \"", name, "\""));
  return *status;
}

// tcbDate is only reported, but it has the same YYYY-MM-DDThh:mm:ssZ form as every Intel time.
std::string Date(const json& obj, const char* key) {
  (void)Time(obj, key);
  return String(obj, key);
}

std::vector<std::string> Advisories(const json& level) {
  std::vector<std::string> ids;
  if (!level.contains("advisoryIDs")) return ids;
  for (const json& id : Array(level, "advisoryIDs", kMaxAdvisories)) {
    if (!id.is_string()) throw FormatError("advisoryIDs holds a non-string");
    ids.push_back(id.get<std::string>());
  }
  return ids;
}

std::array<uint8_t, 16> Components(const json& tcb, const char* key) {
  const json& list = Array(tcb, key, 16);
  if (list.size() != 16) throw FormatError(absl::StrCat("field \"", key, "\" must have 16 entries"));
  std::array<uint8_t, 16> svns{};
  for (size_t i = 0; i < 16; ++i) svns[i] = static_cast<uint8_t>(Integer(list[i], "svn", 0, 255));
  return svns;
}

std::vector<IsvTcbLevel> IsvLevels(const json& obj) {
  std::vector<IsvTcbLevel> levels;
  for (const json& l : Array(obj, "tcbLevels", kMaxLevels)) {
    IsvTcbLevel level;
    level.isv_svn = static_cast<uint16_t>(Integer(Field(l, "tcb"), "isvsvn", 0, 65535));
    level.tcb_date = Date(l, "tcbDate");
    level.status = Status(l, LevelKind::kIsv);
    level.advisory_ids = Advisories(l);
    levels.push_back(std::move(level));
  }
  return levels;
}

TdxModuleIdentity ModuleIdentity(const json& obj, bool with_levels) {
  TdxModuleIdentity m;
  if (with_levels) m.id = String(obj, "id");
  m.mr_signer = HexArray<48>(obj, "mrsigner");
  m.attributes = HexArray<8>(obj, "attributes");
  m.attributes_mask = HexArray<8>(obj, "attributesMask");
  if (with_levels) m.levels = IsvLevels(obj);
  return m;
}

json ParseJson(std::string_view text, const char* what) {
  if (text.size() > kCollateralMaxSize) throw FormatError(absl::StrCat(what, " is too large"));
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) throw FormatError(absl::StrCat(what, " is not a JSON object"));
  return doc;
}

TcbInfo TcbInfoFrom(std::string_view text) {
  json doc = ParseJson(text, "tcbInfo");
  TcbInfo info;
  info.id = String(doc, "id");
  const bool tdx = info.id == "TDX";
  info.version = static_cast<int>(Integer(doc, "version", 0, 1000));
  info.issue_date = Time(doc, "issueDate");
  info.next_update = Time(doc, "nextUpdate");
  info.fmspc = HexArray<6>(doc, "fmspc");
  info.pce_id = HexArray<2>(doc, "pceId");
  info.tcb_type = static_cast<int>(Integer(doc, "tcbType", 0, 1000));
  info.tcb_evaluation_data_number = static_cast<int>(Integer(doc, "tcbEvaluationDataNumber", 0, INT32_MAX));
  if (doc.contains("tdxModule")) info.tdx_module = ModuleIdentity(doc["tdxModule"], false);
  if (doc.contains("tdxModuleIdentities")) {
    for (const json& m : Array(doc, "tdxModuleIdentities", kMaxModuleIdentities)) {
      info.tdx_module_identities.push_back(ModuleIdentity(m, true));
    }
  }
  for (const json& l : Array(doc, "tcbLevels", kMaxLevels)) {
    const json& tcb = Field(l, "tcb");
    TcbLevel level;
    level.sgx_components = Components(tcb, "sgxtcbcomponents");
    level.pce_svn = static_cast<uint16_t>(Integer(tcb, "pcesvn", 0, 65535));
    // A TDX level without tdxtcbcomponents would compare as all zeros and so match any
    // TEE_TCB_SVN. Intel's TDX TCB info always carries all 16 (reference B5 and both real
    // samples), so for id "TDX" the field is required.
    if (tdx || tcb.contains("tdxtcbcomponents")) level.tdx_components = Components(tcb, "tdxtcbcomponents");
    level.tcb_date = Date(l, "tcbDate");
    level.status = Status(l, LevelKind::kPlatform);
    level.advisory_ids = Advisories(l);
    info.levels.push_back(std::move(level));
  }
  return info;
}

QeIdentity QeIdentityFrom(std::string_view text) {
  json doc = ParseJson(text, "enclaveIdentity");
  QeIdentity qe;
  qe.id = String(doc, "id");
  qe.version = static_cast<int>(Integer(doc, "version", 0, 1000));
  qe.issue_date = Time(doc, "issueDate");
  qe.next_update = Time(doc, "nextUpdate");
  qe.tcb_evaluation_data_number = static_cast<int>(Integer(doc, "tcbEvaluationDataNumber", 0, INT32_MAX));
  qe.misc_select = HexU32BigEndian(doc, "miscselect");
  qe.misc_select_mask = HexU32BigEndian(doc, "miscselectMask");
  qe.attributes = HexArray<16>(doc, "attributes");
  qe.attributes_mask = HexArray<16>(doc, "attributesMask");
  qe.mr_signer = HexArray<32>(doc, "mrsigner");
  qe.isv_prod_id = static_cast<uint16_t>(Integer(doc, "isvprodid", 0, 65535));
  qe.levels = IsvLevels(doc);
  return qe;
}

template <typename F>
auto Guard(const char* what, F&& parse) -> absl::StatusOr<decltype(parse())> {
  try {
    return parse();
  } catch (const FormatError& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace

const char* TcbStatusName(TcbStatus status) {
  switch (status) {
    case TcbStatus::kUpToDate: return "UpToDate";
    case TcbStatus::kSwHardeningNeeded: return "SWHardeningNeeded";
    case TcbStatus::kConfigurationNeeded: return "ConfigurationNeeded";
    case TcbStatus::kConfigurationAndSwHardeningNeeded: return "ConfigurationAndSWHardeningNeeded";
    case TcbStatus::kOutOfDate: return "OutOfDate";
    case TcbStatus::kOutOfDateConfigurationNeeded: return "OutOfDateConfigurationNeeded";
    case TcbStatus::kRevoked: return "Revoked";
  }
  return "?";
}

std::optional<TcbStatus> ParseTcbStatus(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(TcbStatus::kRevoked); ++i) {
    if (name == TcbStatusName(static_cast<TcbStatus>(i))) return static_cast<TcbStatus>(i);
  }
  return std::nullopt;
}

absl::StatusOr<int64_t> ParseIsoTime(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SSZ
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return absl::InvalidArgumentError("time is not of the form YYYY-MM-DDTHH:MM:SSZ");
  }
  auto number = [&](size_t at, size_t len, int* out) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  std::tm tm{};
  int year = 0, month = 0;
  if (!number(0, 4, &year) || !number(5, 2, &month) || !number(8, 2, &tm.tm_mday) ||
      !number(11, 2, &tm.tm_hour) || !number(14, 2, &tm.tm_min) || !number(17, 2, &tm.tm_sec)) {
    return absl::InvalidArgumentError("time has a non-digit field");
  }
  // timegm normalises silently (Feb 31 becomes Mar 3, second 60 the next minute), so every field
  // is range-checked first. Intel's times carry no leap second.
  if (month < 1 || month > 12 || tm.tm_mday < 1 || tm.tm_mday > DaysInMonth(year, month) || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 59) {
    return absl::InvalidArgumentError("time names a date or time of day that does not exist");
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  return static_cast<int64_t>(timegm(&tm));
}

absl::StatusOr<TcbInfo> ParseTcbInfo(std::string_view json_text) {
  return Guard("tcb_info", [&] { return TcbInfoFrom(json_text); });
}

absl::StatusOr<QeIdentity> ParseQeIdentity(std::string_view json_text) {
  return Guard("qe_identity", [&] { return QeIdentityFrom(json_text); });
}

absl::StatusOr<Collateral> ParseCollateral(std::string_view text) {
  return Guard("collateral", [&] {
    json doc = ParseJson(text, "collateral");
    Collateral c;
    c.pck_crl_issuer_chain = String(doc, "pck_crl_issuer_chain");
    c.root_ca_crl = Hex(doc, "root_ca_crl");
    c.pck_crl = Hex(doc, "pck_crl");
    c.tcb_info_issuer_chain = String(doc, "tcb_info_issuer_chain");
    c.tcb_info_json = String(doc, "tcb_info");
    c.tcb_info_signature = HexArray<64>(doc, "tcb_info_signature");
    c.qe_identity_issuer_chain = String(doc, "qe_identity_issuer_chain");
    c.qe_identity_json = String(doc, "qe_identity");
    c.qe_identity_signature = HexArray<64>(doc, "qe_identity_signature");
    if (doc.contains("pck_certificate_chain") && doc["pck_certificate_chain"].is_string()) {
      c.pck_certificate_chain = doc["pck_certificate_chain"].get<std::string>();
    }
    for (const auto* crl : {&c.root_ca_crl, &c.pck_crl}) {
      absl::StatusOr<X509CrlPtr> parsed = ParseCrlDer(*crl);
      if (!parsed.ok()) {
        throw FormatError(absl::StrCat(crl == &c.root_ca_crl ? "root_ca_crl" : "pck_crl", ": ",
                                       parsed.status().message()));
      }
    }
    c.tcb_info = TcbInfoFrom(c.tcb_info_json);
    c.qe_identity = QeIdentityFrom(c.qe_identity_json);
    return c;
  });
}

}  // namespace cai
