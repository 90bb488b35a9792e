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

}  // namespace
}  // namespace cai
