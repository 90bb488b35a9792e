#include "services/inference/engine/tool_set.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/common/ascii.h"

namespace cai::inference {

absl::StatusOr<std::shared_ptr<const ToolSet>> ToolSet::Compile(const std::vector<Definition>& definitions) {
  if (definitions.size() > kMaxTools) {
    return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxTools, " tools"));
  }
  auto set = std::make_shared<ToolSet>();
  for (const Definition& definition : definitions) {
    const std::string& name = definition.name;
    if (!IsName(name, kMaxNameBytes)) {
      return absl::InvalidArgumentError(absl::StrCat("tool name '", name.substr(0, kMaxNameBytes), "' is not 1 to ",
                                                     kMaxNameBytes, " letters, digits, '_' or '-'"));
    }
    if (definition.parameters.empty()) {
      set->tools_.push_back({name, JsonSchema::EmptyObject()});
      continue;
    }
    absl::StatusOr<std::shared_ptr<const JsonSchema>> schema = JsonSchema::Parse(
        definition.parameters,
        definition.strict ? JsonSchema::ValueAssertions::kRefuse : JsonSchema::ValueAssertions::kIgnore);
    if (!schema.ok() && definition.strict) {
      return absl::InvalidArgumentError(absl::StrCat("tool '", name, "' parameters: ", schema.status().message()));
    }
    set->tools_.push_back({name, schema.ok() ? *std::move(schema) : JsonSchema::AnyObject()});
  }
  std::sort(set->tools_.begin(), set->tools_.end(), [](const Tool& a, const Tool& b) { return a.name < b.name; });
  for (size_t i = 1; i < set->tools_.size(); ++i) {
    if (set->tools_[i].name == set->tools_[i - 1].name) {
      return absl::InvalidArgumentError(absl::StrCat("tool '", set->tools_[i].name, "' is defined twice"));
    }
  }
  return set;
}

size_t ToolSet::Find(std::string_view name) const {
  auto it = std::lower_bound(tools_.begin(), tools_.end(), name,
                             [](const Tool& tool, std::string_view key) { return tool.name < key; });
  return it != tools_.end() && it->name == name ? static_cast<size_t>(it - tools_.begin()) : tools_.size();
}

}  // namespace cai::inference
