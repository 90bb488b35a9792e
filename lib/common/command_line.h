#pragma once

#include <string_view>

namespace cai {

// absl::ParseCommandLine with a usage line, and `--help` / `--helpshort` listing the flags the
// binary defines in its own main.cc (absl's default looks for <program>.cc, which no cai binary
// has, and so listed none). `--helpfull` still lists absl's own flags too.
void ParseCommandLine(int argc, char** argv, std::string_view usage);

}  // namespace cai
