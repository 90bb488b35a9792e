#include "lib/common/command_line.h"

#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace cai {

void ParseCommandLine(int argc, char** argv, std::string_view usage) {
  absl::SetProgramUsageMessage(std::string(usage));
  absl::FlagsUsageConfig config;
  // Every cai binary defines its flags in its main.cc; absl's own flags live elsewhere.
  config.contains_helpshort_flags = [](absl::string_view file) { return absl::EndsWith(file, "/main.cc"); };
  config.contains_help_flags = config.contains_helpshort_flags;
  absl::SetFlagsUsageConfig(config);
  absl::ParseCommandLine(argc, argv);
}

}  // namespace cai
