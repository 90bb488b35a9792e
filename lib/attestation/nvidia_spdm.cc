#include "lib/attestation/nvidia_spdm.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/attestation/byte_io.h"
#include "lib/attestation/ec_crypto.h"

namespace cai {
namespace {

constexpr uint8_t kDmtfSpec = 1;

absl::Status ReportTruncated(std::string_view section) { return Truncated("SPDM report", section); }

absl::Status ParseRequest(ByteReader& r, SpdmReport& report) {
  uint8_t version = 0, code = 0;
  if (!r.ReadU8(&version) || !r.ReadU8(&code) || !r.ReadU8(&report.request_param1) ||
      !r.ReadU8(&report.request_param2) || !r.ReadArray(&report.request_nonce) ||
      !r.ReadU8(&report.slot_id)) {
    return ReportTruncated("request");
  }
  if (version != kSpdmVersion11 || code != kSpdmGetMeasurements) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "request is not an SPDM 1.1 GET_MEASUREMENTS (version 0x%02x, code 0x%02x)", version, code));
  }
  return absl::OkStatus();
}

absl::Status ParseBlock(ByteReader& r, SpdmMeasurementBlock& block) {
  uint16_t size = 0;
  std::span<const uint8_t> measurement;
  if (!r.ReadU8(&block.index) || !r.ReadU8(&block.spec) || !r.ReadU16(&size) ||
      !r.ReadBytes(size, &measurement)) {
    return ReportTruncated("measurement block");
  }
  if (block.spec != kDmtfSpec) {
    block.value.assign(measurement.begin(), measurement.end());
    return absl::OkStatus();
  }
  ByteReader m(measurement);
  uint16_t value_size = 0;
  std::span<const uint8_t> value;
  if (!m.ReadU8(&block.value_type) || !m.ReadU16(&value_size) || !m.ReadBytes(value_size, &value) ||
      m.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("measurement block ", block.index, " has an inconsistent DMTF value size"));
  }
  block.value.assign(value.begin(), value.end());
  return absl::OkStatus();
}

absl::Status ParseMeasurementRecord(ByteReader& r, SpdmReport& report) {
  uint8_t count = 0;
  uint32_t record_size = 0;
  std::span<const uint8_t> record;
  if (!r.ReadU8(&count) || !r.ReadU24(&record_size)) return ReportTruncated("response header");
  if (!r.ReadBytes(record_size, &record)) return ReportTruncated("measurement record");
  ByteReader rec(record);
  report.blocks.resize(count);
  for (SpdmMeasurementBlock& block : report.blocks) {
    if (absl::Status s = ParseBlock(rec, block); !s.ok()) return s;
  }
  if (rec.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(rec.remaining(), " unexpected bytes after ", count, " measurement blocks"));
  }
  return absl::OkStatus();
}

absl::Status ParseOpaqueFields(std::span<const uint8_t> data, std::vector<SpdmOpaqueField>& fields) {
  ByteReader r(data);
  while (r.remaining() > 0) {
    SpdmOpaqueField field;
    uint16_t size = 0;
    std::span<const uint8_t> value;
    if (!r.ReadU16(&field.type) || !r.ReadU16(&size) || !r.ReadBytes(size, &value)) {
      return ReportTruncated("opaque data field");
    }
    field.value.assign(value.begin(), value.end());
    fields.push_back(std::move(field));
  }
  return absl::OkStatus();
}

absl::Status ParseResponse(ByteReader& r, SpdmReport& report) {
  uint8_t version = 0, code = 0;
  if (!r.ReadU8(&version) || !r.ReadU8(&code) || !r.ReadU8(&report.response_param1) ||
      !r.ReadU8(&report.response_param2)) {
    return ReportTruncated("response header");
  }
  if (version != kSpdmVersion11 || code != kSpdmMeasurements) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "response is not an SPDM 1.1 MEASUREMENTS (version 0x%02x, code 0x%02x)", version, code));
  }
  if (absl::Status s = ParseMeasurementRecord(r, report); !s.ok()) return s;
  if (!r.ReadArray(&report.responder_nonce)) return ReportTruncated("responder nonce");
  uint16_t opaque_size = 0;
  std::span<const uint8_t> opaque;
  if (!r.ReadU16(&opaque_size) || !r.ReadBytes(opaque_size, &opaque)) {
    return ReportTruncated("opaque data");
  }
  report.opaque_data.assign(opaque.begin(), opaque.end());
  if (absl::Status s = ParseOpaqueFields(opaque, report.opaque_fields); !s.ok()) return s;
  if (!r.ReadArray(&report.signature)) return ReportTruncated("signature");
  if (r.remaining() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(r.remaining(), " unexpected bytes after the signature"));
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<std::span<const uint8_t>> SpdmReport::FindOpaque(uint16_t type) const {
  for (const SpdmOpaqueField& field : opaque_fields) {
    if (field.type == type) return std::span<const uint8_t>(field.value);
  }
  return std::nullopt;
}

std::string SpdmReport::DriverVersion() const {
  std::optional<std::span<const uint8_t>> v = FindOpaque(kSpdmOpaqueDriverVersion);
  if (!v) return "";
  std::string out(v->begin(), v->end());
  return out.substr(0, out.find('\0'));
}

std::string SpdmReport::VbiosVersion() const {
  std::optional<std::span<const uint8_t>> v = FindOpaque(kSpdmOpaqueVbiosVersion);
  if (!v || v->size() < 5) return "";
  const std::span<const uint8_t> b = *v;
  return absl::StrFormat("%02x.%02x.%02x.%02x.%02x", b[3], b[2], b[1], b[0], b[4]);
}

absl::StatusOr<SpdmReport> ParseSpdmReport(std::span<const uint8_t> bytes) {
  if (bytes.size() > kSpdmReportMaxSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("SPDM report is larger than ", kSpdmReportMaxSize, " bytes"));
  }
  SpdmReport report;
  ByteReader r(bytes);
  if (absl::Status s = ParseRequest(r, report); !s.ok()) return s;
  if (absl::Status s = ParseResponse(r, report); !s.ok()) return s;
  report.signed_bytes.assign(bytes.begin(), bytes.end() - kSpdmSignatureSize);
  return report;
}

absl::Status VerifySpdmSignature(const SpdmReport& report, std::string_view certificate_chain_pem) {
  absl::StatusOr<EvpPkeyPtr> key = LeafPublicKey(certificate_chain_pem);
  if (!key.ok()) return key.status();
  if (!VerifyEcdsaRaw(key->get(), EVP_sha384(), report.signed_bytes, report.signature).ok()) {
    return absl::InvalidArgumentError("SPDM report signature does not verify with the leaf key");
  }
  return absl::OkStatus();
}

absl::Status CheckSpdmNonce(const SpdmReport& report, std::span<const uint8_t> expected_nonce) {
  if (!std::equal(report.request_nonce.begin(), report.request_nonce.end(), expected_nonce.begin(),
                  expected_nonce.end())) {
    return absl::InvalidArgumentError("SPDM request nonce does not match the expected nonce");
  }
  return absl::OkStatus();
}

}  // namespace cai
