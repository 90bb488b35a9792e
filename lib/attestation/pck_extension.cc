#include "lib/attestation/pck_extension.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"

namespace cai {
namespace {

constexpr size_t kMaxExtensionSize = 4096;

struct SeqFree {
  void operator()(ASN1_SEQUENCE_ANY* p) const { sk_ASN1_TYPE_pop_free(p, ASN1_TYPE_free); }
};
using SeqPtr = std::unique_ptr<ASN1_SEQUENCE_ANY, SeqFree>;

// A DER SEQUENCE's elements. OpenSSL parses, the caller checks types.
absl::StatusOr<SeqPtr> ParseSequence(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  SeqPtr seq(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, static_cast<long>(der.size())));
  if (!seq || p != der.data() + der.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError("SGX extension: malformed DER SEQUENCE");
  }
  return seq;
}

std::span<const uint8_t> Bytes(const ASN1_STRING* s) {
  return {ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s))};
}

std::string OidText(const ASN1_OBJECT* oid) {
  char buf[80];
  int n = OBJ_obj2txt(buf, sizeof(buf), oid, 1);
  return n > 0 && static_cast<size_t>(n) < sizeof(buf) ? std::string(buf, static_cast<size_t>(n)) : "";
}

struct TypeFree {
  void operator()(ASN1_TYPE* p) const { ASN1_TYPE_free(p); }
};

// One {OID, value} pair of the extension (or of its TCB sub-sequence); owns the value.
struct Entry {
  std::string oid;
  std::unique_ptr<ASN1_TYPE, TypeFree> value;
};

// Each OID may appear once: Intel's structure names every field once, and with a repeated one the
// value read would depend on which copy a parser keeps. OIDs are compared by their DER content,
// so two long unknown OIDs that OidText cannot print are still told apart.
absl::StatusOr<std::vector<Entry>> Entries(const ASN1_SEQUENCE_ANY* seq) {
  std::vector<Entry> out;
  std::set<std::string> seen;
  for (int i = 0; i < sk_ASN1_TYPE_num(seq); ++i) {
    const ASN1_TYPE* item = sk_ASN1_TYPE_value(seq, i);
    if (item->type != V_ASN1_SEQUENCE) return absl::InvalidArgumentError("SGX extension: entry is not a SEQUENCE");
    // The inner SEQUENCE is kept as DER; parse it into {OID, value}.
    absl::StatusOr<SeqPtr> pair = ParseSequence(Bytes(item->value.sequence));
    if (!pair.ok()) return pair.status();
    if (sk_ASN1_TYPE_num(pair->get()) != 2 || sk_ASN1_TYPE_value(pair->get(), 0)->type != V_ASN1_OBJECT) {
      return absl::InvalidArgumentError("SGX extension: entry is not {OID, value}");
    }
    const ASN1_OBJECT* oid = sk_ASN1_TYPE_value(pair->get(), 0)->value.object;
    const std::string oid_der(reinterpret_cast<const char*>(OBJ_get0_data(oid)), OBJ_length(oid));
    if (!seen.insert(oid_der).second) {
      return absl::InvalidArgumentError(absl::StrCat("SGX extension: OID ", OidText(oid), " appears twice"));
    }
    // Move the value out of the pair so it outlives it.
    std::unique_ptr<ASN1_TYPE, TypeFree> value(sk_ASN1_TYPE_delete(pair->get(), 1));
    out.push_back({OidText(oid), std::move(value)});
  }
  return out;
}

absl::Status OctetsInto(const ASN1_TYPE* value, std::span<uint8_t> out, const char* what) {
  if (value->type != V_ASN1_OCTET_STRING || static_cast<size_t>(ASN1_STRING_length(value->value.octet_string)) != out.size()) {
    return absl::InvalidArgumentError(absl::StrCat("SGX extension: ", what, " must be a ", out.size(), "-byte OCTET STRING"));
  }
  std::span<const uint8_t> b = Bytes(value->value.octet_string);
  std::copy(b.begin(), b.end(), out.begin());
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SmallInteger(const ASN1_TYPE* value, int type, int64_t max) {
  if (value->type != type) return absl::InvalidArgumentError("SGX extension: SVN is not an INTEGER");
  int64_t v = 0;
  int ok = type == V_ASN1_INTEGER ? ASN1_INTEGER_get_int64(&v, value->value.integer)
                                  : ASN1_ENUMERATED_get_int64(&v, value->value.enumerated);
  ERR_clear_error();
  if (ok != 1 || v < 0 || v > max) return absl::InvalidArgumentError("SGX extension: SVN out of range");
  return v;
}

absl::Status ParseTcb(const ASN1_TYPE* value, PckExtension& ext) {
  if (value->type != V_ASN1_SEQUENCE) return absl::InvalidArgumentError("SGX extension: TCB is not a SEQUENCE");
  absl::StatusOr<SeqPtr> seq = ParseSequence(Bytes(value->value.sequence));
  if (!seq.ok()) return seq.status();
  absl::StatusOr<std::vector<Entry>> entries = Entries(seq->get());
  if (!entries.ok()) return entries.status();
  const std::string prefix = absl::StrCat(kSgxExtensionOid, ".2.");
  uint32_t seen = 0;  // bit i-1 for sub-OID .2.i
  for (const Entry& e : *entries) {
    if (!e.oid.starts_with(prefix)) continue;
    int index = 0;
    for (char c : e.oid.substr(prefix.size())) {
      if (c < '0' || c > '9' || index > 100) { index = -1; break; }
      index = index * 10 + (c - '0');
    }
    if (index >= 1 && index <= 16) {
      absl::StatusOr<int64_t> svn = SmallInteger(e.value.get(), V_ASN1_INTEGER, 255);
      if (!svn.ok()) return svn.status();
      ext.component_svns[static_cast<size_t>(index - 1)] = static_cast<uint8_t>(*svn);
    } else if (index == 17) {
      absl::StatusOr<int64_t> svn = SmallInteger(e.value.get(), V_ASN1_INTEGER, 65535);
      if (!svn.ok()) return svn.status();
      ext.pce_svn = static_cast<uint16_t>(*svn);
    } else if (index == 18) {
      if (absl::Status s = OctetsInto(e.value.get(), ext.cpu_svn, "CPUSVN"); !s.ok()) return s;
    } else {
      continue;
    }
    seen |= 1u << (index - 1);
  }
  if (seen != (1u << 18) - 1) return absl::InvalidArgumentError("SGX extension: TCB is incomplete");
  return absl::OkStatus();
}

// Minimal DER writer for EncodePckExtensionDer.
void Tlv(std::vector<uint8_t>& out, uint8_t tag, const std::vector<uint8_t>& body) {
  out.push_back(tag);
  if (body.size() < 128) {
    out.push_back(static_cast<uint8_t>(body.size()));
  } else if (body.size() < 256) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(body.size()));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(body.size() >> 8));
    out.push_back(static_cast<uint8_t>(body.size()));
  }
  out.insert(out.end(), body.begin(), body.end());
}

std::vector<uint8_t> Oid(const std::string& text) {
  ASN1_OBJECT* obj = OBJ_txt2obj(text.c_str(), 1);
  unsigned char* der = nullptr;
  int len = obj ? i2d_ASN1_OBJECT(obj, &der) : 0;
  std::vector<uint8_t> out(der, der + (len > 0 ? len : 0));
  OPENSSL_free(der);
  ASN1_OBJECT_free(obj);
  return out;
}

std::vector<uint8_t> Integer(uint32_t v) {
  std::vector<uint8_t> body;
  do {
    body.insert(body.begin(), static_cast<uint8_t>(v));
    v >>= 8;
  } while (v != 0);
  if (body.front() & 0x80) body.insert(body.begin(), 0);
  std::vector<uint8_t> out;
  Tlv(out, 0x02, body);
  return out;
}

std::vector<uint8_t> Pair(const std::string& oid, const std::vector<uint8_t>& value) {
  std::vector<uint8_t> body = Oid(oid);
  body.insert(body.end(), value.begin(), value.end());
  std::vector<uint8_t> out;
  Tlv(out, 0x30, body);
  return out;
}

std::vector<uint8_t> Octets(std::span<const uint8_t> b) {
  std::vector<uint8_t> out;
  Tlv(out, 0x04, std::vector<uint8_t>(b.begin(), b.end()));
  return out;
}

}  // namespace

absl::StatusOr<PckExtension> ParsePckExtensionDer(std::span<const uint8_t> der) {
  if (der.size() > kMaxExtensionSize) return absl::InvalidArgumentError("SGX extension is too large");
  absl::StatusOr<SeqPtr> seq = ParseSequence(der);
  if (!seq.ok()) return seq.status();
  absl::StatusOr<std::vector<Entry>> entries = Entries(seq->get());
  if (!entries.ok()) return entries.status();
  PckExtension ext;
  bool has_tcb = false, has_pce_id = false, has_fmspc = false;
  const std::string base = kSgxExtensionOid;
  for (const Entry& e : *entries) {
    absl::Status s;
    if (e.oid == base + ".1") {
      if (e.value->type != V_ASN1_OCTET_STRING) return absl::InvalidArgumentError("SGX extension: PPID is not an OCTET STRING");
      std::span<const uint8_t> b = Bytes(e.value->value.octet_string);
      ext.ppid.assign(b.begin(), b.end());
    } else if (e.oid == base + ".2") {
      s = ParseTcb(e.value.get(), ext);
      has_tcb = true;
    } else if (e.oid == base + ".3") {
      s = OctetsInto(e.value.get(), ext.pce_id, "PCE-ID");
      has_pce_id = true;
    } else if (e.oid == base + ".4") {
      s = OctetsInto(e.value.get(), ext.fmspc, "FMSPC");
      has_fmspc = true;
    } else if (e.oid == base + ".5") {
      absl::StatusOr<int64_t> type = SmallInteger(e.value.get(), V_ASN1_ENUMERATED, 255);
      if (!type.ok()) return type.status();
      ext.sgx_type = static_cast<int>(*type);
    }
    if (!s.ok()) return s;
  }
  if (!has_tcb || !has_pce_id || !has_fmspc) {
    return absl::InvalidArgumentError("SGX extension lacks the TCB, PCE-ID or FMSPC");
  }
  return ext;
}

absl::StatusOr<PckExtension> ParsePckExtension(X509* cert) {
  ASN1_OBJECT* oid = OBJ_txt2obj(kSgxExtensionOid, 1);
  int index = oid ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
  ASN1_OBJECT_free(oid);
  if (index < 0) return absl::InvalidArgumentError("PCK certificate has no SGX extension");
  if (X509_get_ext_by_OBJ(cert, X509_EXTENSION_get_object(X509_get_ext(cert, index)), index) >= 0) {
    return absl::InvalidArgumentError("PCK certificate has two SGX extensions");
  }
  return ParsePckExtensionDer(Bytes(X509_EXTENSION_get_data(X509_get_ext(cert, index))));
}

std::vector<uint8_t> EncodePckExtensionDer(const PckExtension& ext) {
  const std::string base = kSgxExtensionOid;
  std::vector<uint8_t> tcb_body;
  for (size_t i = 0; i < 16; ++i) {
    std::vector<uint8_t> p = Pair(absl::StrCat(base, ".2.", i + 1), Integer(ext.component_svns[i]));
    tcb_body.insert(tcb_body.end(), p.begin(), p.end());
  }
  for (const auto& p : {Pair(base + ".2.17", Integer(ext.pce_svn)), Pair(base + ".2.18", Octets(ext.cpu_svn))}) {
    tcb_body.insert(tcb_body.end(), p.begin(), p.end());
  }
  std::vector<uint8_t> tcb;
  Tlv(tcb, 0x30, tcb_body);
  std::vector<uint8_t> sgx_type;
  Tlv(sgx_type, 0x0a, {static_cast<uint8_t>(ext.sgx_type < 0 ? 0 : ext.sgx_type)});
  std::vector<uint8_t> body;
  for (const auto& p : {Pair(base + ".1", Octets(ext.ppid)), Pair(base + ".2", tcb), Pair(base + ".3", Octets(ext.pce_id)),
                        Pair(base + ".4", Octets(ext.fmspc)), Pair(base + ".5", sgx_type)}) {
    body.insert(body.end(), p.begin(), p.end());
  }
  std::vector<uint8_t> out;
  Tlv(out, 0x30, body);
  return out;
}

}  // namespace cai
