// Runs a libFuzzer target over every file of its seed corpus, and over deterministic mutations
// of each (truncations and byte flips), without libFuzzer: the regression half of fuzzing, for
// compilers without -fsanitize=fuzzer. Exits non-zero if the corpus is missing or empty.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  size_t files = 0, runs = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[1], ec)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    LLVMFuzzerTestOneInput(data.data(), data.size());
    ++runs;
    // Every prefix length at a coarse stride, and single-byte flips at a coarse stride.
    size_t stride = data.size() / 64 + 1;
    for (size_t n = 0; n < data.size(); n += stride, ++runs) {
      std::vector<uint8_t> prefix(data.begin(), data.begin() + n);
      LLVMFuzzerTestOneInput(prefix.data(), prefix.size());
    }
    for (size_t i = 0; i < data.size(); i += stride, ++runs) {
      std::vector<uint8_t> flipped = data;
      flipped[i] ^= 0xff;
      LLVMFuzzerTestOneInput(flipped.data(), flipped.size());
    }
  }
  if (ec || files == 0) {
    std::fprintf(stderr, "no seed inputs in %s\n", argv[1]);
    return 1;
  }
  std::printf("replayed %zu seed files, %zu inputs\n", files, runs);
  return 0;
}
