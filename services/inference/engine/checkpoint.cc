#include "services/inference/engine/checkpoint.h"

#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/read_file.h"

namespace cai::inference {
namespace {

constexpr size_t kMaxIndexBytes = 64 << 20;

// Shard names come from a file we did not write: keep them inside the model directory.
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name.size() < 256 && name.find('/') == std::string::npos &&
         name != "." && name != "..";
}

}  // namespace

absl::StatusOr<SafetensorsIndex> ParseSafetensorsIndex(std::string_view json_text) {
  SafetensorsIndex index;
  try {
    const nlohmann::json json = nlohmann::json::parse(json_text);
    if (!json.is_object() || !json.contains("weight_map")) return absl::InvalidArgumentError("no weight_map");
    const nlohmann::json& map = json["weight_map"];
    if (!map.is_object()) return absl::InvalidArgumentError("weight_map is not an object");
    absl::flat_hash_set<std::string> seen;
    for (const auto& [tensor, shard] : map.items()) {
      if (!shard.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat("the shard of '", tensor, "' is not a string"));
      }
      const std::string& file = shard.get_ref<const std::string&>();
      if (!IsPlainFileName(file)) {
        return absl::InvalidArgumentError(absl::StrCat("names shard '", file, "' outside the model directory"));
      }
      if (seen.insert(file).second) index.shards.push_back(file);
      if (index.shards.size() > kMaxShards) {
        return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxShards, " shards"));
      }
      index.weight_map.emplace_back(tensor, file);
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  if (index.weight_map.empty()) return absl::InvalidArgumentError("maps no tensors");
  return index;
}

absl::StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& dir) {
  std::filesystem::path root(dir);
  std::vector<std::string> shard_names;
  std::vector<std::pair<std::string, std::string>> weight_map;  // tensor -> shard
  std::filesystem::path index_path = root / "model.safetensors.index.json";
  if (std::filesystem::exists(index_path)) {
    absl::StatusOr<std::string> text = ReadFileUpTo(index_path.string(), kMaxIndexBytes);
    if (!text.ok()) return text.status();
    absl::StatusOr<SafetensorsIndex> index = ParseSafetensorsIndex(*text);
    if (!index.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(index_path.string(), ": ", index.status().message()));
    }
    shard_names = std::move(index->shards);
    weight_map = std::move(index->weight_map);
  } else {
    shard_names.push_back("model.safetensors");
  }

  auto checkpoint = std::make_unique<Checkpoint>();
  absl::flat_hash_map<std::string, const SafetensorsFile*> by_name;
  for (const std::string& shard : shard_names) {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open((root / shard).string());
    if (!file.ok()) return file.status();
    by_name[shard] = file->get();
    checkpoint->files_.push_back(*std::move(file));
  }
  if (weight_map.empty()) {
    for (const auto& [name, tensor] : checkpoint->files_[0]->tensors()) checkpoint->tensors_[name] = &tensor;
  } else {
    for (const auto& [name, shard] : weight_map) {
      const Tensor* tensor = by_name[shard]->Find(name);
      if (tensor == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("index maps '", name, "' to ", shard, ", which lacks it"));
      }
      checkpoint->tensors_[name] = tensor;
    }
  }
  return checkpoint;
}

std::unique_ptr<Checkpoint> Checkpoint::FromFile(std::unique_ptr<SafetensorsFile> file) {
  auto checkpoint = std::make_unique<Checkpoint>();
  for (const auto& [name, tensor] : file->tensors()) checkpoint->tensors_[name] = &tensor;
  checkpoint->files_.push_back(std::move(file));
  return checkpoint;
}

absl::StatusOr<const Tensor*> Checkpoint::Get(std::string_view name) const {
  std::string key(name);  // this abseil's string_view is not std::string_view
  auto it = tensors_.find(key);
  if (it == tensors_.end()) return absl::NotFoundError(absl::StrCat("checkpoint has no tensor '", key, "'"));
  return it->second;
}

absl::StatusOr<const Tensor*> Checkpoint::Get(std::string_view name, const std::vector<int64_t>& shape) const {
  absl::StatusOr<const Tensor*> t = Get(name);
  if (t.ok() && (*t)->shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", std::string(name), "' has shape [",
                                                   absl::StrJoin((*t)->shape, ", "), "], expected [",
                                                   absl::StrJoin(shape, ", "), "]"));
  }
  return t;
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, tensor] : tensors_) total += tensor->data.size();
  return total;
}

void Checkpoint::ReadIntoMemory(const std::function<void(uint64_t done, uint64_t total)>& progress) const {
  const uint64_t total = total_bytes();
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uint64_t done = 0;
  for (const auto& [name, tensor] : tensors_) {
    const uint8_t* begin = tensor->data.data();
    const size_t size = tensor->data.size();
    if (size > 0) {
      // Ask the kernel to read ahead, then touch one byte per page.
      uintptr_t aligned = reinterpret_cast<uintptr_t>(begin) & ~(page - 1);
      madvise(reinterpret_cast<void*>(aligned), size + (reinterpret_cast<uintptr_t>(begin) - aligned), MADV_WILLNEED);
      volatile uint8_t sink = 0;
      for (size_t offset = 0; offset < size; offset += page) sink = sink + begin[offset];
      sink = sink + begin[size - 1];
    }
    done += size;
    progress(done, total);
  }
}

}  // namespace cai::inference
