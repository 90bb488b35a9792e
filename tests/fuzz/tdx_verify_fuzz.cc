// The whole offline TDX path on arbitrary bytes: ParseTdxQuote, ParseCollateral and VerifyTdxQuote
// (PCK chain and CRLs, PCK extension, signatures, collateral signatures and windows, QE identity,
// TCB levels, TDX module, TD attributes).
//
// Input: a quote followed by its collateral JSON, which is how `cat quote collateral.json` lays
// them out. The quote ends where its own sizes say (header, body, u32 signature data size,
// signature data) plus any zero padding, which the parser accepts as part of the quote; the rest,
// when not empty, is the collateral. So a raw quote sample is a seed without collateral.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/attestation/byte_io.h"
#include "lib/attestation/collateral.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/attestation/tdx_verify.h"
#include "lib/attestation/trust_anchors.h"

namespace {

// The start of the real tdx_quote sample's collateral window (reference), inside the validity of
// the real samples' PCK certificates.
constexpr int64_t kNowWithoutCollateral = 1750329147;

// Where the quote ends. Any size that does not fit makes the whole input the quote (which the
// parser then refuses).
size_t QuoteEnd(std::span<const uint8_t> in) {
  cai::ByteReader r(in);
  uint16_t version = 0, body_type = 0;
  uint32_t body_size = cai::kTdReportBody10Size, signature_size = 0;
  std::span<const uint8_t> skipped;
  if (!r.ReadU16(&version) || !r.ReadBytes(cai::kTdxHeaderSize - 2, &skipped)) return in.size();
  // v5 has a 6-byte body descriptor {u16 type, u32 size} after the header; v4 a TD 1.0 body.
  if (version == 5 && (!r.ReadU16(&body_type) || !r.ReadU32(&body_size))) return in.size();
  if (!r.ReadBytes(body_size, &skipped) || !r.ReadU32(&signature_size) || !r.ReadBytes(signature_size, &skipped)) {
    return in.size();
  }
  size_t end = r.offset();
  while (end < in.size() && in[end] == 0) ++end;
  return end;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  const size_t quote_end = QuoteEnd(in);
  absl::StatusOr<cai::TdxQuote> quote = cai::ParseTdxQuote(in.first(quote_end));
  std::optional<cai::Collateral> collateral;
  if (quote_end < size) {
    absl::StatusOr<cai::Collateral> parsed =
        cai::ParseCollateral(std::string_view(reinterpret_cast<const char*>(data + quote_end), size - quote_end));
    if (!parsed.ok()) return 0;
    collateral = std::move(*parsed);
  }
  if (!quote.ok()) return 0;

  cai::TdxVerifyOptions options;
  // Never the clock, so a run is reproducible. With collateral: the later of its two issue dates,
  // as dcap-qvl's tests derive it, which lies inside the window of both real samples and of the
  // simulated seeds (written at some other time).
  options.now = collateral ? std::max(collateral->tcb_info.issue_date, collateral->qe_identity.issue_date)
                           : kNowWithoutCollateral;
  // The fuzzer looks for memory and UB errors, not forgeries: trusting the root the input carries
  // lets the simulated seeds, signed under a root made when they were written, reach the
  // collateral policy too. Intel's root stays pinned for the real samples.
  absl::StatusOr<std::vector<cai::X509Ptr>> chain = cai::ParsePemCertificates(quote->pck_chain_pem, 4);
  if (chain.ok() && !chain->empty()) options.root_pins.push_back(cai::CertificateSha256(chain->back().get()));
  (void)cai::VerifyTdxQuote(*quote, collateral, options);
  return 0;
}
