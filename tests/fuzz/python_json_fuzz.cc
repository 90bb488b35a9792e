// Fuzzes the writer of Python's json.dumps (chat templates' `tojson`) over a client's JSON text: it
// must refuse or write any input without crashing. What it writes must hold the same value as the
// input, read as Python reads it (ordered_json: keys in order, a repeated key's last value at its
// first place), whether compact or indented, and writing that output again must give it back.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "services/inference/engine/tokenizer/python_json.h"

namespace {

nlohmann::ordered_json Read(std::string_view text) {
  return nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const std::optional<int> indent : {std::optional<int>(), std::optional<int>(4)}) {
    const absl::StatusOr<std::string> out = cai::inference::PythonJsonDumps(input, indent);
    if (!out.ok()) continue;
    const nlohmann::ordered_json value = Read(input), written = Read(*out);
    if (written.is_discarded() || !written.is_object() || written != value) std::abort();
    const absl::StatusOr<std::string> again = cai::inference::PythonJsonDumps(*out, indent);
    if (!again.ok() || *again != *out) std::abort();
  }
  return 0;
}
