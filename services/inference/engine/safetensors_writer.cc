#include "services/inference/engine/safetensors_writer.h"

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace cai::inference {

void SafetensorsWriter::Add(std::string name, DType dtype, std::vector<int64_t> shape,
                            std::span<const float> values) {
  std::string bytes(values.size() * DTypeSize(dtype), '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::kF32) {
      std::memcpy(&bytes[4 * i], &values[i], 4);
    } else if (dtype == DType::kBF16) {
      uint16_t bits = F32ToBf16(values[i]);
      bytes[2 * i] = static_cast<char>(bits & 0xff);
      bytes[2 * i + 1] = static_cast<char>(bits >> 8);
    } else {
      // F16 output is only needed by tests, which write F16 through AddRaw.
      std::memset(&bytes[2 * i], 0, 2);
    }
  }
  entries_.push_back({std::move(name), std::string(DTypeName(dtype)), std::move(shape), std::move(bytes)});
}

void SafetensorsWriter::AddRaw(std::string name, std::string dtype, std::vector<int64_t> shape,
                               std::string bytes) {
  entries_.push_back({std::move(name), std::move(dtype), std::move(shape), std::move(bytes)});
}

std::string SafetensorsWriter::Serialize() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  size_t offset = 0;
  for (const Entry& e : entries_) {
    header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += text;
  for (const Entry& e : entries_) out += e.bytes;
  return out;
}

absl::Status SafetensorsWriter::WriteFile(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string bytes = Serialize();
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace cai::inference
