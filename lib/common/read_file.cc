#include "lib/common/read_file.h"

#include <fstream>

#include "absl/strings/str_cat.h"

namespace cai {

absl::StatusOr<std::string> ReadFileUpTo(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  // Chunks up to one byte past the limit tell "at the limit" from "over it".
  std::string text;
  char chunk[1 << 16];
  while (text.size() <= max_bytes && in.read(chunk, sizeof chunk).gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
  }
  return text;
}

}  // namespace cai
