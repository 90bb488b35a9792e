#include "services/inference/engine/tokenizer/split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace cai::inference {
namespace {

constexpr size_t kMaxPatternBytes = 4096;
// Bounds the work of one match so that a hostile pattern from a tokenizer.json cannot stall
// the engine through catastrophic backtracking.
constexpr uint32_t kMatchLimit = 1'000'000;

pcre2_code* Code(void* p) { return static_cast<pcre2_code*>(p); }

struct MatchDataDeleter {
  void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<SplitRegex>> SplitRegex::Compile(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("pre-tokenizer regex longer than ", kMaxPatternBytes, " bytes"));
  }
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                                   &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return absl::InvalidArgumentError(absl::StrCat("pre-tokenizer regex does not compile at offset ",
                                                   offset, ": ",
                                                   reinterpret_cast<const char*>(message)));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort; the interpreter is the fallback
  return std::unique_ptr<SplitRegex>(new SplitRegex(code));
}

SplitRegex::~SplitRegex() { pcre2_code_free(Code(code_)); }

void SplitRegex::Split(std::string_view text, std::vector<std::string_view>* out) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(Code(code_), nullptr));
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context(
      pcre2_match_context_create(nullptr));
  if (!match || !context) {
    if (!text.empty()) out->push_back(text);
    return;
  }
  pcre2_set_match_limit(context.get(), kMatchLimit);

  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap_start = 0;  // start of the text not yet emitted
  size_t search = 0;
  while (search <= text.size()) {
    int rc = pcre2_match(Code(code_), subject, text.size(), search, 0, match.get(), context.get());
    if (rc < 0) break;  // no match, or the engine gave up: the rest is one piece
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    size_t begin = ovector[0], end = ovector[1];
    if (begin < gap_start || end < begin) break;  // \K tricks; never in a sane pattern
    if (end > begin) {
      if (begin > gap_start) out->push_back(text.substr(gap_start, begin - gap_start));
      out->push_back(text.substr(begin, end - begin));
      gap_start = end;
      search = end;
    } else {
      search = end + 1;  // an empty match: step past it so the loop ends
    }
  }
  if (gap_start < text.size()) out->push_back(text.substr(gap_start));
}

}  // namespace cai::inference
