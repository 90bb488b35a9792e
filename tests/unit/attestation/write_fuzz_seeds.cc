// Writes simulated evidence as fuzz seeds: write_fuzz_seeds <repo>/tests/fuzz/corpus
// (run by hand when the formats change; the output is committed).
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "lib/attestation/simulated_gpu.h"
#include "lib/attestation/simulated_tdx.h"

namespace {

bool Write(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::filesystem::path dir = argv[1];
  auto tdx = cai::SimulatedTdx::Create();
  auto gpu = cai::SimulatedGpu::Create();
  if (!tdx.ok() || !gpu.ok()) return 1;
  std::array<uint8_t, 64> report_data{};
  std::array<uint8_t, 32> nonce{};
  for (size_t i = 0; i < report_data.size(); ++i) report_data[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0xa0 + i);
  auto quote = (*tdx)->Quote(report_data);
  auto report = (*gpu)->AttestationReport(nonce);
  if (!quote.ok() || !report.ok()) return 1;
  // The same quote as v5 with a TD 1.0 body descriptor, so the fuzzer starts on both paths.
  std::vector<uint8_t> v5 = *quote;
  v5[0] = 5;
  const std::vector<uint8_t> descriptor = {2, 0, 0x48, 0x02, 0, 0};
  v5.insert(v5.begin() + 48, descriptor.begin(), descriptor.end());
  bool ok = Write(dir / "tdx_quote_fuzz" / "simulated_v4.bin", *quote) &&
            Write(dir / "tdx_quote_fuzz" / "simulated_v5_td10.bin", v5) &&
            Write(dir / "spdm_report_fuzz" / "simulated_hopper.bin", *report);
  return ok ? 0 : 1;
}
