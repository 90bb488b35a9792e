#include "lib/attestation/tdx_quote.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/attestation/byte_io.h"

namespace cai {
namespace {

absl::Status QuoteTruncated(std::string_view section) { return Truncated("quote", section); }

template <size_t N>
void Take(std::span<const uint8_t> bytes, size_t offset, std::array<uint8_t, N>* out) {
  std::copy_n(bytes.begin() + offset, N, out->begin());
}

uint16_t LoadU16(std::span<const uint8_t> b, size_t offset) {
  return static_cast<uint16_t>(b[offset] | b[offset + 1] << 8);
}

uint32_t LoadU32(std::span<const uint8_t> b, size_t offset) {
  return static_cast<uint32_t>(b[offset]) | static_cast<uint32_t>(b[offset + 1]) << 8 |
         static_cast<uint32_t>(b[offset + 2]) << 16 | static_cast<uint32_t>(b[offset + 3]) << 24;
}

absl::StatusOr<TdxQuoteHeader> ParseHeader(ByteReader& r) {
  std::span<const uint8_t> h;
  if (!r.ReadBytes(kTdxHeaderSize, &h)) return QuoteTruncated("header");
  TdxQuoteHeader header;
  header.version = LoadU16(h, 0);
  header.att_key_type = LoadU16(h, 2);
  header.tee_type = LoadU32(h, 4);
  Take(h, 8, &header.reserved);
  Take(h, 12, &header.qe_vendor_id);
  Take(h, 28, &header.user_data);
  if (header.version != 4 && header.version != 5) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported quote version ", header.version));
  }
  if (header.att_key_type != kTdxAttestationKeyTypeEcdsaP256) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported attestation key type ", header.att_key_type));
  }
  if (header.tee_type != kTeeTypeTdx) {
    return absl::InvalidArgumentError(absl::StrCat("not a TDX quote: tee_type ", header.tee_type));
  }
  if (header.qe_vendor_id != kIntelQeVendorId) {
    return absl::InvalidArgumentError("QE vendor id is not Intel's");
  }
  return header;
}

// v4 quotes carry a TD 1.0 body; v5 quotes announce theirs in a 6-byte descriptor.
absl::StatusOr<TdxBodyType> ParseBodyType(ByteReader& r, uint16_t version) {
  if (version == 4) return TdxBodyType::kTd10;
  uint16_t type = 0;
  uint32_t size = 0;
  if (!r.ReadU16(&type) || !r.ReadU32(&size)) return QuoteTruncated("body descriptor");
  size_t expected = 0;
  if (type == static_cast<uint16_t>(TdxBodyType::kTd10)) expected = kTdReportBody10Size;
  if (type == static_cast<uint16_t>(TdxBodyType::kTd15)) expected = kTdReportBody15Size;
  if (expected == 0) return absl::InvalidArgumentError(absl::StrCat("unsupported body type ", type));
  if (size != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("body type ", type, " must be ", expected, " bytes, descriptor says ", size));
  }
  return static_cast<TdxBodyType>(type);
}

absl::StatusOr<TdReportBody> ParseBody(ByteReader& r, TdxBodyType type) {
  size_t size = type == TdxBodyType::kTd15 ? kTdReportBody15Size : kTdReportBody10Size;
  std::span<const uint8_t> b;
  if (!r.ReadBytes(size, &b)) return QuoteTruncated("report body");
  TdReportBody body;
  body.type = type;
  Take(b, 0, &body.tee_tcb_svn);
  Take(b, 16, &body.mr_seam);
  Take(b, 64, &body.mr_signer_seam);
  Take(b, 112, &body.seam_attributes);
  Take(b, 120, &body.td_attributes);
  Take(b, 128, &body.xfam);
  Take(b, 136, &body.mr_td);
  Take(b, 184, &body.mr_config_id);
  Take(b, 232, &body.mr_owner);
  Take(b, 280, &body.mr_owner_config);
  for (size_t i = 0; i < 4; ++i) Take(b, 328 + 48 * i, &body.rtmr[i]);
  Take(b, 520, &body.report_data);
  if (type == TdxBodyType::kTd15) {
    Take(b, 584, &body.tee_tcb_svn2);
    Take(b, 600, &body.mr_servicetd);
  }
  return body;
}

QeReport ParseQeReport(std::span<const uint8_t> b) {
  QeReport report;
  Take(b, 0, &report.raw);
  Take(b, 0, &report.cpu_svn);
  report.misc_select = LoadU32(b, 16);
  Take(b, 48, &report.attributes);
  Take(b, 64, &report.mr_enclave);
  Take(b, 128, &report.mr_signer);
  report.isv_prod_id = LoadU16(b, 256);
  report.isv_svn = LoadU16(b, 258);
  Take(b, 320, &report.report_data);
  return report;
}

// Certification data type 6: QE report, its signature, QE auth data, then a type-5 PCK chain.
absl::Status ParseQeCertificationData(std::span<const uint8_t> data, TdxQuote& quote) {
  ByteReader r(data);
  std::span<const uint8_t> qe_report;
  if (!r.ReadBytes(kSgxReportSize, &qe_report)) return QuoteTruncated("QE report");
  quote.qe_report = ParseQeReport(qe_report);
  if (!r.ReadArray(&quote.qe_report_signature)) return QuoteTruncated("QE report signature");
  uint16_t auth_size = 0;
  std::span<const uint8_t> auth;
  if (!r.ReadU16(&auth_size) || !r.ReadBytes(auth_size, &auth)) {
    return QuoteTruncated("QE authentication data");
  }
  quote.qe_auth_data.assign(auth.begin(), auth.end());
  uint32_t chain_size = 0;
  if (!r.ReadU16(&quote.inner_cert_data_type) || !r.ReadU32(&chain_size)) {
    return QuoteTruncated("PCK certificate chain header");
  }
  if (quote.inner_cert_data_type != kCertDataPckChain) {
    return absl::InvalidArgumentError(
        absl::StrCat("inner certification data type ", quote.inner_cert_data_type, " is not supported"));
  }
  std::span<const uint8_t> chain;
  if (!r.ReadBytes(chain_size, &chain)) return QuoteTruncated("PCK certificate chain");
  if (r.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(r.remaining(), " unexpected bytes after the PCK certificate chain"));
  }
  std::string_view pem(reinterpret_cast<const char*>(chain.data()), chain.size());
  while (!pem.empty() && pem.back() == '\0') pem.remove_suffix(1);  // C strings in real quotes
  if (pem.empty()) return absl::InvalidArgumentError("PCK certificate chain is empty");
  quote.pck_chain_pem.assign(pem);
  return absl::OkStatus();
}

absl::Status ParseSignatureData(std::span<const uint8_t> data, TdxQuote& quote) {
  ByteReader r(data);
  if (!r.ReadArray(&quote.signature)) return QuoteTruncated("quote signature");
  if (!r.ReadArray(&quote.attestation_key)) return QuoteTruncated("attestation key");
  uint32_t cert_size = 0;
  if (!r.ReadU16(&quote.cert_data_type) || !r.ReadU32(&cert_size)) {
    return QuoteTruncated("certification data header");
  }
  if (quote.cert_data_type != kCertDataQeReport) {
    return absl::InvalidArgumentError(
        absl::StrCat("certification data type ", quote.cert_data_type, " is not supported"));
  }
  std::span<const uint8_t> cert_data;
  if (!r.ReadBytes(cert_size, &cert_data)) return QuoteTruncated("certification data");
  if (absl::Status s = ParseQeCertificationData(cert_data, quote); !s.ok()) return s;
  if (r.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(r.remaining(), " unexpected bytes after the certification data"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TdxQuote> ParseTdxQuote(std::span<const uint8_t> bytes) {
  if (bytes.size() > kTdxQuoteMaxSize) {
    return absl::InvalidArgumentError(absl::StrCat("quote is larger than ", kTdxQuoteMaxSize, " bytes"));
  }
  ByteReader r(bytes);
  TdxQuote quote;
  absl::StatusOr<TdxQuoteHeader> header = ParseHeader(r);
  if (!header.ok()) return header.status();
  quote.header = *header;
  absl::StatusOr<TdxBodyType> type = ParseBodyType(r, header->version);
  if (!type.ok()) return type.status();
  absl::StatusOr<TdReportBody> body = ParseBody(r, *type);
  if (!body.ok()) return body.status();
  quote.body = *body;
  quote.signed_bytes.assign(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(r.offset()));

  std::span<const uint8_t> signature_data;
  if (!r.ReadU32(&quote.signature_data_size)) return QuoteTruncated("signature data length");
  if (!r.ReadBytes(quote.signature_data_size, &signature_data)) return QuoteTruncated("signature data");
  std::span<const uint8_t> rest = r.Rest();
  if (std::any_of(rest.begin(), rest.end(), [](uint8_t b) { return b != 0; })) {
    return absl::InvalidArgumentError("non-zero bytes after the signature data");
  }
  if (absl::Status s = ParseSignatureData(signature_data, quote); !s.ok()) return s;
  return quote;
}

}  // namespace cai
