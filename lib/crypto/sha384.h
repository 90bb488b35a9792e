#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace cai {

// SHA-384: TDX measurement registers and event logs, NVIDIA SPDM.
using Sha384Digest = std::array<uint8_t, 48>;

Sha384Digest Sha384(std::span<const uint8_t> data);
Sha384Digest Sha384(std::string_view data);

}  // namespace cai
