#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/cai/checklist.h"

namespace cai::cli {

// What one `cai verify` command established: the checks, facts for --json, and a text summary.
struct VerifyReport {
  Checklist checklist;
  nlohmann::json extra = nlohmann::json::object();  // keys added to the --json document
  std::vector<std::string> summary;                 // lines printed before the result line
};

// The report as `cai verify` prints it: the --json document, or `title`, the checklist, the
// summary and "result: PASS|FAIL". Never throws on text taken from the input.
std::string RenderReport(const VerifyReport& report, const std::string& title, bool as_json);

}  // namespace cai::cli
