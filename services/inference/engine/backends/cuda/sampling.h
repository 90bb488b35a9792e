#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

// Token selection on the device (sampling.cu): one block per row of logits.
namespace cai::inference::cuda {

// Per row. Order as the CPU Sampler (vLLM v1): temperature -> min_p -> top_k -> top_p -> draw.
// Logit bias and penalties are applied to the logits before (LaunchApplyLogitEdits).
struct DeviceSamplingParams {
  float temperature = 1.0f;  // 0: greedy
  int32_t top_k = 0;         // 0: off; ties at the k-th weight are all kept
  float top_p = 1.0f;
  float min_p = 0.0f;
  uint64_t seed = 0;  // Philox key; `step` picks the number in its stream, so a draw is reproducible
  uint64_t step = 0;
};

// One logit changed before a draw: logits[row][id] = (logit + bias) - penalty, the CPU Sampler's
// order (logit_bias, then presence and frequency penalties).
struct LogitEdit {
  int32_t row = 0;
  int32_t id = 0;
  float bias = 0.0f;
  float penalty = 0.0f;
};

// Applies `count` edits (device memory) to `logits` (rows of `vocab`); (row, id) pairs are unique.
cudaError_t LaunchApplyLogitEdits(float* logits, int vocab, const LogitEdit* edits, int count, cudaStream_t stream);

// What the kernel decided for a row that it sampled (not for a greedy one), for tests: its keep
// threshold on the weights, and how many weights top-p gathered into shared memory (-1: none, the
// passes read the row).
struct SampleTrace {
  float threshold = 0.0f;
  int32_t gathered = 0;
};

// out[r] = a token drawn from row r under params[r] (device memory, rows entries); `trace`, when
// given (device memory, rows entries), receives each sampled row's SampleTrace.
cudaError_t LaunchSample(int32_t* out, const float* logits, const DeviceSamplingParams* params, int rows, int vocab,
                         cudaStream_t stream, SampleTrace* trace = nullptr);

}  // namespace cai::inference::cuda
