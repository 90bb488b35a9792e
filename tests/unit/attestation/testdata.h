#pragma once

// Locates the real attestation samples: $CAI_ATTESTATION_TESTDATA, else
// <repo>/../shared/testdata/attestation. They are never copied into the repo.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cai::testing {

// The file's bytes, or nullopt when the sample directory or the file is absent.
std::optional<std::string> ReadAttestationSample(const std::string& relative_path);

// Hex text (optionally "0x"-prefixed, surrounding whitespace ignored) decoded.
std::vector<uint8_t> DecodeHexSample(const std::string& text);

}  // namespace cai::testing

// Skips the test, naming the upstream sample, when it is not available.
#define CAI_SAMPLE_OR_SKIP(var, path)                                                 \
  std::optional<std::string> var##_opt = ::cai::testing::ReadAttestationSample(path); \
  if (!var##_opt)                                                                     \
    GTEST_SKIP() << "attestation sample " << path                                     \
                 << " not found (set CAI_ATTESTATION_TESTDATA to the directory "      \
                    "holding shared/testdata/attestation: dcap-qvl sample/ and "      \
                    "nvtrust/attestation-sdk samples)";                               \
  const std::string& var = *var##_opt
