#pragma once

// Providers backed by lib/attestation's SimulatedTdx / SimulatedGpu: real layouts and real
// signatures under keys made at start. For development only; they prove nothing.
#include <memory>

#include "absl/status/statusor.h"
#include "services/attestor/providers.h"

namespace cai {

absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> MakeSimulatedTdxProvider();
// `gpu_count` simulated Hopper GPUs, each with its own keys and chain.
absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> MakeSimulatedGpuProvider(int gpu_count = 1);

}  // namespace cai
