// The SGX extension of a PCK certificate is outside bytes, parsed even when the chain fails:
// a valid encoding round-trips, and each named defect is refused with its reason.
#include "lib/attestation/pck_extension.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace cai {
namespace {

PckExtension Sample() {
  PckExtension ext;
  ext.ppid.assign(16, 0xaa);
  for (size_t i = 0; i < 16; ++i) ext.component_svns[i] = static_cast<uint8_t>(i + 1);
  ext.pce_svn = 13;
  ext.cpu_svn.fill(0x42);
  ext.pce_id = {0x00, 0x00};
  ext.fmspc = {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00};
  ext.sgx_type = 0;
  return ext;
}

// DER of the OID 1.2.840.113741.1.13.1.<suffix> (suffix bytes already base-128).
std::vector<uint8_t> Oid(std::vector<uint8_t> suffix) {
  std::vector<uint8_t> body = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
  body.insert(body.end(), suffix.begin(), suffix.end());
  std::vector<uint8_t> out = {0x06, static_cast<uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// `der` with the first occurrence of `from` replaced by `to` (same length, so every enclosing
// DER length stays right).
std::vector<uint8_t> Patched(std::vector<uint8_t> der, const std::vector<uint8_t>& from, const std::vector<uint8_t>& to) {
  auto at = std::search(der.begin(), der.end(), from.begin(), from.end());
  EXPECT_NE(at, der.end()) << "pattern not found";
  if (at != der.end()) std::copy(to.begin(), to.end(), at);
  return der;
}

std::vector<uint8_t> Concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(PckExtension, RoundTrips) {
  absl::StatusOr<PckExtension> got = ParsePckExtensionDer(EncodePckExtensionDer(Sample()));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->ppid, Sample().ppid);
  EXPECT_EQ(got->component_svns, Sample().component_svns);
  EXPECT_EQ(got->pce_svn, 13);
  EXPECT_EQ(got->cpu_svn, Sample().cpu_svn);
  EXPECT_EQ(got->fmspc, Sample().fmspc);
  EXPECT_EQ(got->sgx_type, 0);
}

TEST(PckExtension, RefusesEachDefect) {
  const std::vector<uint8_t> good = EncodePckExtensionDer(Sample());
  struct Case {
    const char* name;
    std::vector<uint8_t> der;
    const char* message_part;
  };
  std::vector<uint8_t> truncated(good.begin(), good.end() - 1);
  const std::vector<Case> cases = {
      {"truncated", truncated, "malformed DER SEQUENCE"},
      {"trailing byte", Concat(good, {0x00}), "malformed DER SEQUENCE"},
      {"empty", {}, "malformed DER SEQUENCE"},
      {"too large", std::vector<uint8_t>(5000, 0x30), "too large"},
      // The FMSPC entry renamed to an unknown sub-OID: the FMSPC is missing.
      {"no FMSPC", Patched(good, Concat(Oid({0x04}), {0x04, 0x06}), Concat(Oid({0x09}), {0x04, 0x06})),
       "lacks the TCB, PCE-ID or FMSPC"},
      // The FMSPC as a UTF8String of the same length.
      {"FMSPC not octets", Patched(good, Concat(Oid({0x04}), {0x04, 0x06}), Concat(Oid({0x04}), {0x0c, 0x06})),
       "FMSPC must be a 6-byte OCTET STRING"},
      // TCB entry .2.17 (PCESVN) renamed to .2.19, which is ignored: the TCB is incomplete.
      {"no PCESVN", Patched(good, Oid({0x02, 0x11}), Oid({0x02, 0x13})), "TCB is incomplete"},
      // Component 1's SVN (INTEGER 1) made negative.
      {"negative SVN", Patched(good, Concat(Oid({0x02, 0x01}), {0x02, 0x01, 0x01}),
                               Concat(Oid({0x02, 0x01}), {0x02, 0x01, 0x81})),
       "SVN out of range"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PckExtension> got = ParsePckExtensionDer(c.der);
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_TRUE(absl::IsInvalidArgument(got.status())) << c.name << ": " << got.status();
    EXPECT_NE(got.status().message().find(c.message_part), std::string::npos) << c.name << ": " << got.status();
  }
}

// ---- Hand-built extensions, for structures EncodePckExtensionDer never writes ----

std::vector<uint8_t> Tlv(uint8_t tag, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out = {tag};
  if (body.size() < 128) {
    out.push_back(static_cast<uint8_t>(body.size()));
  } else {
    out.insert(out.end(), {0x82, static_cast<uint8_t>(body.size() >> 8), static_cast<uint8_t>(body.size())});
  }
  return Concat(out, body);
}

std::vector<uint8_t> Pair(std::vector<uint8_t> oid_suffix, const std::vector<uint8_t>& value) {
  return Tlv(0x30, Concat(Oid(std::move(oid_suffix)), value));
}

std::vector<uint8_t> Int(uint8_t v) { return v < 0x80 ? std::vector<uint8_t>{0x02, 0x01, v} : std::vector<uint8_t>{0x02, 0x02, 0x00, v}; }

// A complete extension (PPID, TCB, PCE-ID, FMSPC, SGX type) with `tcb_extra` appended inside the
// TCB and `extra` appended to the outer SEQUENCE.
std::vector<uint8_t> Extension(const std::vector<uint8_t>& tcb_extra, const std::vector<uint8_t>& extra) {
  std::vector<uint8_t> tcb;
  for (uint8_t i = 1; i <= 16; ++i) tcb = Concat(tcb, Pair({0x02, i}, Int(i)));
  tcb = Concat(tcb, Pair({0x02, 17}, Int(13)));
  tcb = Concat(tcb, Pair({0x02, 18}, Tlv(0x04, std::vector<uint8_t>(16, 0x42))));
  std::vector<uint8_t> body = Pair({0x01}, Tlv(0x04, std::vector<uint8_t>(16, 0xaa)));
  body = Concat(body, Pair({0x02}, Tlv(0x30, Concat(tcb, tcb_extra))));
  body = Concat(body, Pair({0x03}, Tlv(0x04, {0x00, 0x00})));
  body = Concat(body, Pair({0x04}, Tlv(0x04, {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00})));
  body = Concat(body, Pair({0x05}, {0x0a, 0x01, 0x00}));
  return Tlv(0x30, Concat(body, extra));
}

TEST(PckExtension, HandBuiltExtensionParses) {
  absl::StatusOr<PckExtension> got = ParsePckExtensionDer(Extension({}, {}));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->component_svns, Sample().component_svns);
  EXPECT_EQ(got->fmspc, Sample().fmspc);
  // Unknown entries (.6 platformInstanceID, an unknown TCB entry .2.19) are ignored once each.
  EXPECT_TRUE(ParsePckExtensionDer(Extension(Pair({0x02, 19}, Int(1)), Pair({0x06}, Tlv(0x04, {1})))).ok());
}

// A repeated field makes the value depend on which copy a parser keeps (before: the last one won),
// so the extension is refused whether the copies agree or not.
TEST(PckExtension, RefusesRepeatedOids) {
  struct Case {
    const char* name;
    std::vector<uint8_t> der;
  };
  const std::vector<Case> cases = {
      {"second FMSPC", Extension({}, Pair({0x04}, Tlv(0x04, {0x00, 0x90, 0x6f, 0x00, 0x00, 0x00})))},
      {"same FMSPC twice", Extension({}, Pair({0x04}, Tlv(0x04, {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00})))},
      {"second PCE-ID", Extension({}, Pair({0x03}, Tlv(0x04, {0x00, 0x01})))},
      {"second TCB", Extension({}, Pair({0x02}, Tlv(0x30, {})))},
      {"second SGX type", Extension({}, Pair({0x05}, {0x0a, 0x01, 0x01}))},
      {"unknown entry twice", Extension({}, Concat(Pair({0x06}, Tlv(0x04, {1})), Pair({0x06}, Tlv(0x04, {1}))))},
      {"TCB component 1 twice, raised", Extension(Pair({0x02, 0x01}, Int(200)), {})},
      {"TCB component 16 twice, same value", Extension(Pair({0x02, 16}, Int(16)), {})},
      {"PCESVN twice", Extension(Pair({0x02, 17}, Int(255)), {})},
      {"CPUSVN twice", Extension(Pair({0x02, 18}, Tlv(0x04, std::vector<uint8_t>(16, 0xff))), {})},
      {"unknown TCB entry twice", Extension(Concat(Pair({0x02, 19}, Int(1)), Pair({0x02, 19}, Int(1))), {})},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PckExtension> got = ParsePckExtensionDer(c.der);
    ASSERT_FALSE(got.ok()) << c.name << ": parsed";
    EXPECT_TRUE(absl::IsInvalidArgument(got.status())) << c.name << ": " << got.status();
    EXPECT_NE(got.status().message().find("appears twice"), std::string::npos) << c.name << ": " << got.status();
  }
}

}  // namespace
}  // namespace cai
