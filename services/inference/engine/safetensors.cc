#include "services/inference/engine/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace cai::inference {
namespace {

using nlohmann::json;

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("safetensors: ", what));
}

// Parses the header JSON, rejecting duplicate keys at any depth (nlohmann would keep the last).
absl::StatusOr<json> ParseHeaderJson(std::string_view text) {
  std::vector<absl::flat_hash_set<std::string>> keys;
  bool duplicate = false;
  json::parser_callback_t on_event = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.empty() && parsed.is_string() &&
        !keys.back().insert(parsed.get<std::string>()).second) {
      duplicate = true;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    return Invalid(absl::StrCat("header is not valid JSON: ", e.what()));
  }
  if (duplicate) return Invalid("header has a duplicate key");
  if (!header.is_object()) return Invalid("header is not a JSON object");
  return header;
}

struct Range {
  uint64_t begin, end;
  const std::string* name;
};

absl::StatusOr<Tensor> ParseEntry(const std::string& name, const json& entry,
                                  std::span<const uint8_t> buffer, Range* range) {
  auto fail = [&](absl::string_view why) { return Invalid(absl::StrCat("tensor '", name, "': ", why)); };
  if (!entry.is_object()) return fail("entry is not an object");
  auto dtype_it = entry.find("dtype");
  auto shape_it = entry.find("shape");
  auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end() || !dtype_it->is_string()) return fail("missing string 'dtype'");
  if (shape_it == entry.end() || !shape_it->is_array()) return fail("missing array 'shape'");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    return fail("'data_offsets' must be [BEGIN, END]");
  }
  std::string dtype_name = dtype_it->get<std::string>();
  std::optional<DType> dtype = ParseDType(dtype_name);
  if (!dtype) {
    return absl::UnimplementedError(absl::StrCat("safetensors: tensor '", name, "' has dtype ",
                                                 dtype_name.substr(0, 32),
                                                 ", only F32, F16 and BF16 are supported"));
  }
  if (shape_it->size() > kMaxTensorRank) return fail("rank above 8");

  Tensor tensor;
  tensor.dtype = *dtype;
  uint64_t elements = 1;
  for (const json& dim : *shape_it) {
    if (!dim.is_number_unsigned()) return fail("shape entries must be non-negative integers");
    uint64_t d = dim.get<uint64_t>();
    if (d > (1ull << 62) || __builtin_mul_overflow(elements, d, &elements) || elements > (1ull << 62)) {
      return fail("shape overflows");
    }
    tensor.shape.push_back(static_cast<int64_t>(d));
  }
  for (const json& offset : *offsets_it) {
    if (!offset.is_number_unsigned()) return fail("data_offsets must be non-negative integers");
  }
  uint64_t begin = (*offsets_it)[0].get<uint64_t>();
  uint64_t end = (*offsets_it)[1].get<uint64_t>();
  if (end < begin) return fail("data_offsets END is before BEGIN");
  if (end > buffer.size()) {
    return fail(absl::StrCat("data_offsets END ", end, " is past the data buffer (", buffer.size(),
                             " bytes)"));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(elements, DTypeSize(*dtype), &bytes) || bytes != end - begin) {
    return fail(absl::StrCat("shape needs ", elements, " elements of ", dtype_name, " but ",
                             end - begin, " bytes are given"));
  }
  tensor.num_elements = static_cast<int64_t>(elements);
  tensor.data = buffer.subspan(begin, end - begin);
  *range = Range{begin, end, &name};
  return tensor;
}

}  // namespace

absl::StatusOr<TensorMap> ParseSafetensors(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8) return Invalid(absl::StrCat("file of ", bytes.size(), " bytes is truncated"));
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > kMaxSafetensorsHeaderBytes) {
    return Invalid(absl::StrCat("header of ", header_size, " bytes is above the limit of ",
                                kMaxSafetensorsHeaderBytes));
  }
  if (header_size > bytes.size() - 8) {
    return Invalid(absl::StrCat("header of ", header_size, " bytes is truncated (file has ",
                                bytes.size(), " bytes)"));
  }
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), header_size);
  if (text.empty() || text[0] != '{') return Invalid("header must start with '{'");
  absl::StatusOr<json> header = ParseHeaderJson(text);
  if (!header.ok()) return header.status();
  if (header->size() > kMaxSafetensorsTensors) return Invalid("too many tensors");

  std::span<const uint8_t> buffer = bytes.subspan(8 + header_size);
  TensorMap tensors;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header->items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Invalid("__metadata__ is not an object");
      continue;
    }
    Range range;
    absl::StatusOr<Tensor> tensor = ParseEntry(name, entry, buffer, &range);
    if (!tensor.ok()) return tensor.status();
    auto [it, inserted] = tensors.emplace(name, *std::move(tensor));
    range.name = &it->first;
    ranges.push_back(range);
  }
  // Two tensors must never share bytes: a writer that aliases them is broken or hostile.
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      return Invalid(absl::StrCat("tensors '", *ranges[i - 1].name, "' and '", *ranges[i].name,
                                  "' overlap"));
    }
  }
  return tensors;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  if (st.st_size > 0) {
    void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int err = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("cannot mmap ", path, ": ", std::strerror(err)));
    }
    file->map_ = map;
    file->map_size_ = static_cast<size_t>(st.st_size);
  }
  close(fd);
  std::span<const uint8_t> bytes(static_cast<const uint8_t*>(file->map_), file->map_size_);
  absl::StatusOr<TensorMap> tensors = ParseSafetensors(bytes);
  if (!tensors.ok()) {
    return absl::Status(tensors.status().code(), absl::StrCat(path, ": ", tensors.status().message()));
  }
  file->tensors_ = *std::move(tensors);
  return file;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::FromBytes(std::string bytes) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->owned_ = std::move(bytes);
  std::span<const uint8_t> view(reinterpret_cast<const uint8_t*>(file->owned_.data()), file->owned_.size());
  absl::StatusOr<TensorMap> tensors = ParseSafetensors(view);
  if (!tensors.ok()) return tensors.status();
  file->tensors_ = *std::move(tensors);
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) munmap(map_, map_size_);
}

const Tensor* SafetensorsFile::Find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace cai::inference
