#pragma once

#include <string>
#include <vector>

namespace cai::cli {

// `cai verify quote|gpu|service ...`: prints a checklist (or --json) and returns 0 when no check
// failed, 1 when one did, 2 on a usage error.
int RunVerify(const std::vector<std::string>& args);

}  // namespace cai::cli
