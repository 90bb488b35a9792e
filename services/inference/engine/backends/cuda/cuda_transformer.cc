#include "services/inference/engine/backends/cuda/cuda_transformer.h"

#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "services/inference/engine/backends/cuda/cuda_status.h"
#include "services/inference/engine/hf_layer_weights.h"

namespace cai::inference::cuda {
namespace {

constexpr size_t kCublasWorkspaceBytes = 32u << 20;

absl::Status CublasStatus(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": cuBLAS status ", static_cast<int>(status)));
}

}  // namespace

// Reads tensors by their Hugging Face names, checks their shapes and copies them to the device;
// the first error sticks (the CPU engine's loader, with device uploads). Without a checkpoint it
// makes random BF16 matrices on the device and unit norms instead.
class CudaTransformer::Loader {
 public:
  Loader(const Checkpoint* checkpoint, uint64_t seed, CudaTransformer& model)
      : checkpoint_(checkpoint), seed_(seed), model_(model) {}

  const absl::Status& status() const { return status_; }

  // BF16 stays BF16; F32 stays F32; F16 is widened to F32 (as the CPU engine).
  DeviceMatrix Matrix(const std::string& name, int64_t rows, int64_t cols) {
    if (checkpoint_ == nullptr) return RandomMatrix(rows, cols);
    const Tensor* t = Find(name, {rows, cols});
    if (t == nullptr) return {};
    DeviceMatrix m{t->dtype == DType::kBF16 ? DType::kBF16 : DType::kF32, nullptr, rows, cols};
    if (t->dtype == DType::kF16) {
      std::vector<float> values(static_cast<size_t>(t->num_elements));
      ConvertToF32(t->dtype, t->data.data(), values.size(), values.data());
      m.data = Upload(values.data(), values.size() * sizeof(float));
    } else {
      m.data = Upload(t->data.data(), t->data.size());
    }
    model_.weight_bytes_ += rows * cols * static_cast<int64_t>(DTypeSize(m.dtype));
    return m;
  }

  // A norm weight in F32 plus `offset` (Gemma stores w and multiplies by 1 + w).
  DeviceBuffer<float> Vector(const std::string& name, int64_t n, float offset) {
    if (checkpoint_ == nullptr) return UploadFloats(std::vector<float>(static_cast<size_t>(n), 1.0f));
    const Tensor* t = Find(name, {n});
    if (t == nullptr) return {};
    std::vector<float> values(static_cast<size_t>(n));
    ConvertToF32(t->dtype, t->data.data(), values.size(), values.data());
    for (float& v : values) v += offset;
    return UploadFloats(values);
  }

  DeviceBuffer<float> UploadFloats(const std::vector<float>& values) {
    if (!status_.ok()) return {};
    absl::StatusOr<DeviceBuffer<float>> buffer = DeviceBuffer<float>::Allocate(values.size());
    if (buffer.ok()) {
      status_ = CudaStatus(cudaMemcpy(buffer->get(), values.data(), buffer->bytes(), cudaMemcpyHostToDevice),
                           "upload");
    } else {
      status_ = buffer.status();
    }
    return status_.ok() ? *std::move(buffer) : DeviceBuffer<float>();
  }

  // One matrix of the parts' rows, in order, with the parts' memory released: the decode then
  // reads Q, K and V (or gate and up) in one mat-vec launch instead of three (or two), and a BF16
  // GEMM converts its activations once. After an earlier error: an empty matrix.
  DeviceMatrix StackRows(std::initializer_list<DeviceMatrix*> parts) {
    const DeviceMatrix& first = **parts.begin();
    if (!status_.ok()) return {};
    if (first.data == nullptr) {
      status_ = absl::InternalError("cuda: a projection to stack was not loaded");
      return {};
    }
    DeviceMatrix stacked{first.dtype, nullptr, 0, first.cols};
    for (const DeviceMatrix* part : parts) {
      if (part->dtype != first.dtype || part->cols != first.cols) {
        status_ = absl::UnimplementedError("cuda: Q/K/V (or gate/up) projections of different dtypes or widths");
        return {};
      }
      stacked.rows += part->rows;
    }
    const size_t row_bytes = static_cast<size_t>(first.cols) * DTypeSize(first.dtype);
    absl::StatusOr<DeviceBuffer<uint8_t>> buffer = DeviceBuffer<uint8_t>::Allocate(stacked.rows * row_bytes);
    if (!buffer.ok()) {
      status_ = buffer.status();
      return {};
    }
    size_t offset = 0;
    for (const DeviceMatrix* part : parts) {
      const size_t bytes = static_cast<size_t>(part->rows) * row_bytes;
      // On the legacy stream, after the random fills that may have made the part.
      status_ = CudaStatus(cudaMemcpy(buffer->get() + offset, part->data, bytes, cudaMemcpyDeviceToDevice), "stack");
      if (!status_.ok()) return {};
      offset += bytes;
    }
    // A device-to-device cudaMemcpy may return before it is done: the parts are freed after it.
    status_ = CudaStatus(cudaDeviceSynchronize(), "stack");
    if (!status_.ok()) return {};
    for (DeviceMatrix* part : parts) {
      Release(part->data);
      *part = {};
    }
    stacked.data = buffer->get();
    model_.weight_storage_.push_back(*std::move(buffer));
    return stacked;
  }

  std::optional<DType> DTypeOf(const std::string& name) const {
    if (checkpoint_ == nullptr) return DType::kBF16;
    absl::StatusOr<const Tensor*> t = checkpoint_->Get(name);
    return t.ok() ? std::optional<DType>((*t)->dtype) : std::nullopt;
  }

 private:
  const Tensor* Find(const std::string& name, const std::vector<int64_t>& shape) {
    if (!status_.ok()) return nullptr;
    absl::StatusOr<const Tensor*> t = checkpoint_->Get(name, shape);
    if (!t.ok()) {
      status_ = t.status();
      return nullptr;
    }
    return *t;
  }

  // Uniform in +-1/sqrt(cols), so activations keep their scale through the layers.
  DeviceMatrix RandomMatrix(int64_t rows, int64_t cols) {
    if (!status_.ok()) return {};
    absl::StatusOr<DeviceBuffer<uint8_t>> buffer = DeviceBuffer<uint8_t>::Allocate(rows * cols * 2);
    if (!buffer.ok()) {
      status_ = buffer.status();
      return {};
    }
    status_ = CudaStatus(LaunchFillRandomBf16(reinterpret_cast<uint16_t*>(buffer->get()), rows * cols,
                                              1.0f / std::sqrt(static_cast<float>(cols)), seed_++, nullptr),
                         "random weights");
    DeviceMatrix m{DType::kBF16, buffer->get(), rows, cols};
    model_.weight_storage_.push_back(*std::move(buffer));
    model_.weight_bytes_ += rows * cols * 2;
    return m;
  }

  const void* Upload(const void* src, size_t bytes) {
    if (!status_.ok()) return nullptr;
    absl::StatusOr<DeviceBuffer<uint8_t>> buffer = DeviceBuffer<uint8_t>::Allocate(bytes);
    if (!buffer.ok()) {
      status_ = buffer.status();
      return nullptr;
    }
    status_ = CudaStatus(cudaMemcpy(buffer->get(), src, bytes, cudaMemcpyHostToDevice), "upload");
    const void* data = buffer->get();
    model_.weight_storage_.push_back(*std::move(buffer));
    return data;
  }

  void Release(const void* data) {
    std::vector<DeviceBuffer<uint8_t>>& storage = model_.weight_storage_;
    auto it = std::find_if(storage.begin(), storage.end(), [&](const auto& b) { return b.get() == data; });
    if (it != storage.end()) storage.erase(it);
  }

  const Checkpoint* checkpoint_;
  uint64_t seed_;
  CudaTransformer& model_;
  absl::Status status_;
};

namespace {

// Room for a row per sequence, and at most a row per token (the rows are staged per token).
CudaEngineOptions ResolveLogitRows(CudaEngineOptions options) {
  const int wanted = options.max_logit_rows > 0 ? options.max_logit_rows : options.max_seqs + 64;
  options.max_logit_rows = std::min(std::max(wanted, options.max_seqs), options.max_batch_tokens);
  return options;
}

}  // namespace

CudaTransformer::CudaTransformer(const ModelConfig& config, const CudaEngineOptions& options)
    : config_(config), options_(ResolveLogitRows(options)) {}

CudaTransformer::~CudaTransformer() {
  cudaSetDevice(options_.device);
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  for (auto& [size, exec] : graphs_) cudaGraphExecDestroy(exec);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
  if (host_inputs_ != nullptr) cudaFreeHost(host_inputs_);
  if (host_logits_ != nullptr) cudaFreeHost(host_logits_);
}

absl::StatusOr<std::unique_ptr<CudaTransformer>> CudaTransformer::Load(const ModelConfig& config,
                                                                       const Checkpoint& checkpoint,
                                                                       const CudaEngineOptions& options) {
  return LoadFrom(config, &checkpoint, 0, options);
}

absl::StatusOr<std::unique_ptr<CudaTransformer>> CudaTransformer::LoadRandom(const ModelConfig& config, uint64_t seed,
                                                                             const CudaEngineOptions& options) {
  return LoadFrom(config, nullptr, seed, options);
}

absl::StatusOr<std::unique_ptr<CudaTransformer>> CudaTransformer::LoadFrom(const ModelConfig& config,
                                                                           const Checkpoint* checkpoint, uint64_t seed,
                                                                           const CudaEngineOptions& options) {
  // What the engine cannot run is said first, with or without a GPU.
  if (!ValidHeadDim(config.head_dim)) {
    return absl::UnimplementedError(absl::StrCat("cuda: head_dim ", config.head_dim,
                                                 " is not a multiple of 8 up to ", kMaxHeadDim));
  }
  if (config.num_key_value_heads <= 0 || config.num_attention_heads % config.num_key_value_heads != 0) {
    return absl::InvalidArgumentError("cuda: attention heads are not a multiple of the key/value heads");
  }
  if (options.max_batch_tokens < 1 || options.max_batch_tokens > 65535 || options.max_seqs < 1 ||
      options.max_seqs > 65535 || options.max_logit_rows < 0 || options.max_context < 1 ||
      !(options.kv_cache_fraction > 0 && options.kv_cache_fraction <= 1) ||
      options.gemm_min_tokens < 1 || options.decode_partitions < 1 ||
      options.decode_partitions > kMaxDecodePartitions) {
    return absl::InvalidArgumentError("cuda: engine options out of range");
  }
  CAI_RETURN_IF_ERROR(CheckCudaDevice());
  cuda::SetProgrammaticLaunch(options.programmatic_launch);  // before any graph is captured
  CAI_CUDA_RETURN_IF_ERROR(cudaSetDevice(options.device));

  std::unique_ptr<CudaTransformer> model(new CudaTransformer(config, options));
  CAI_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&model->stream_, cudaStreamNonBlocking));
  CAI_RETURN_IF_ERROR(CublasStatus(cublasCreate(&model->cublas_), "cublasCreate"));
  CAI_RETURN_IF_ERROR(CublasStatus(cublasSetStream(model->cublas_, model->stream_), "cublasSetStream"));

  const bool gemma = config.family == ModelFamily::kGemma2;
  const int64_t d = config.hidden_size;
  const float norm_offset = gemma ? 1.0f : 0.0f;  // Gemma's (1 + w) norms
  Loader load(checkpoint, seed, *model);

  model->embed_ = load.Matrix("model.embed_tokens.weight", config.vocab_size, d);
  model->embed_scale_ = EmbeddingScale(config, load.DTypeOf("model.embed_tokens.weight") == DType::kBF16);
  model->layers_.resize(config.num_hidden_layers);
  for (int i = 0; i < config.num_hidden_layers; ++i) {
    Layer& layer = model->layers_[i];
    LoadHfLayerWeights(config, i, load, layer);
    // Families that ship the fused matrices (Phi-3) have them loaded already.
    if (layer.wqkv.data == nullptr) layer.wqkv = load.StackRows({&layer.wq, &layer.wk, &layer.wv});
    if (layer.w_gate_up.data == nullptr) layer.w_gate_up = load.StackRows({&layer.w_gate, &layer.w_up});
  }
  model->final_norm_ = load.Vector("model.norm.weight", d, norm_offset);
  model->lm_head_ = config.tie_word_embeddings ? model->embed_
                                               : load.Matrix("lm_head.weight", config.vocab_size, d);
  std::vector<float> inv_freq;
  for (double f : RopeInverseFrequencies(config)) inv_freq.push_back(static_cast<float>(f));
  model->inv_freq_ = load.UploadFloats(inv_freq);
  if (!load.status().ok()) return load.status();
  CAI_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());  // random fills ran on the default stream
  model->decode_weight_bytes_ =
      model->weight_bytes_ - (config.tie_word_embeddings ? 0 : model->embed_.rows * model->embed_.cols *
                                                                   static_cast<int64_t>(DTypeSize(model->embed_.dtype)));

  const double pre_attn_scalar = config.query_pre_attn_scalar > 0 ? config.query_pre_attn_scalar : double(config.head_dim);
  model->attention_ = AttentionShape{config.num_attention_heads, config.num_key_value_heads, config.head_dim,
                                     static_cast<float>(1.0 / std::sqrt(pre_attn_scalar)),
                                     static_cast<float>(config.attn_logit_softcapping), 0};
  model->kv_dtype_ = options.kv_dtype.value_or(model->embed_.dtype == DType::kBF16 ? DType::kBF16 : DType::kF32);
  if (model->kv_dtype_ == DType::kF16) return absl::InvalidArgumentError("cuda: the KV cache is F32 or BF16");
  CAI_RETURN_IF_ERROR(model->Allocate());
  return model;
}

absl::Status CudaTransformer::Allocate() {
  const ModelConfig& c = config_;
  const size_t t = static_cast<size_t>(options_.max_batch_tokens), seqs = static_cast<size_t>(options_.max_seqs);
  const size_t logit_rows = static_cast<size_t>(options_.max_logit_rows);
  const size_t d = c.hidden_size, ffn = c.intermediate_size, hd = c.head_dim;
  const size_t q_dim = c.num_attention_heads * hd, kv_dim = c.num_key_value_heads * hd;
  const int context = std::min(c.max_position_embeddings, options_.max_context);
  max_blocks_per_seq_ = (context + kKvBlockSize - 1) / kKvBlockSize;

  auto allocate = [](auto& buffer, size_t count) -> absl::Status {
    absl::StatusOr<std::remove_reference_t<decltype(buffer)>> b =
        std::remove_reference_t<decltype(buffer)>::Allocate(count);
    if (!b.ok()) return b.status();
    buffer = *std::move(b);
    return absl::OkStatus();
  };
  const size_t rows = std::max(t, seqs);
  for (auto [buffer, count] : {std::pair{&x_, t * d}, {&xn_, t * d}, {&proj_, t * d}, {&qkv_, t * (q_dim + 2 * kv_dim)},
                               {&att_, t * q_dim}, {&gate_up_, t * 2 * ffn}, {&act_, t * ffn},
                               {&logit_rows_, logit_rows * d}, {&logits_, logit_rows * c.vocab_size}}) {
    CAI_RETURN_IF_ERROR(allocate(*buffer, count));
  }
  CAI_RETURN_IF_ERROR(allocate(bf16_x_, rows * std::max({d, q_dim, ffn})));
  if (options_.decode_partitions > 1) {
    const size_t floats =
        PagedAttentionScratchFloats(options_.max_seqs, c.num_attention_heads, c.head_dim, options_.decode_partitions);
    CAI_RETURN_IF_ERROR(allocate(attention_partials_, floats));
  }
  decode_partitions_ = options_.decode_partitions;
  CAI_CUDA_RETURN_IF_ERROR(PrepareAttention(c.head_dim));
  const size_t input_ints = kTablesOffset * t + seqs * max_blocks_per_seq_;
  CAI_RETURN_IF_ERROR(allocate(inputs_, input_ints));
  CAI_RETURN_IF_ERROR(allocate(sampling_params_, logit_rows));
  CAI_RETURN_IF_ERROR(allocate(sampled_, logit_rows));
  CAI_RETURN_IF_ERROR(allocate(cublas_workspace_, kCublasWorkspaceBytes));
  CAI_RETURN_IF_ERROR(
      CublasStatus(cublasSetWorkspace(cublas_, cublas_workspace_.get(), kCublasWorkspaceBytes), "cublasSetWorkspace"));
  CAI_CUDA_RETURN_IF_ERROR(cudaMallocHost(reinterpret_cast<void**>(&host_inputs_), input_ints * sizeof(int32_t)));
  CAI_CUDA_RETURN_IF_ERROR(
      cudaMallocHost(reinterpret_cast<void**>(&host_logits_), logit_rows * c.vocab_size * sizeof(float)));

  // The KV cache takes its share of what is left.
  size_t free_bytes = 0, total_bytes = 0;
  CAI_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total_bytes));
  const int64_t block_bytes = int64_t{c.num_hidden_layers} * 2 * kKvBlockSize * static_cast<int64_t>(kv_dim) *
                              static_cast<int64_t>(DTypeSize(kv_dtype_));
  num_kv_blocks_ = static_cast<int64_t>(static_cast<double>(free_bytes) * options_.kv_cache_fraction) / block_bytes;
  if (options_.max_kv_blocks > 0) num_kv_blocks_ = std::min(num_kv_blocks_, options_.max_kv_blocks);
  // Slots (block * 16 + offset) are int32 on the device.
  num_kv_blocks_ = std::min<int64_t>(num_kv_blocks_, std::numeric_limits<int32_t>::max() / kKvBlockSize);
  if (num_kv_blocks_ < 1) {
    return absl::ResourceExhaustedError(absl::StrCat("cuda: no room for the KV cache (", free_bytes,
                                                     " bytes free after ", weight_bytes_, " bytes of weights)"));
  }
  CAI_RETURN_IF_ERROR(allocate(kv_cache_, static_cast<size_t>(num_kv_blocks_ * block_bytes)));
  // Never-written slots then hold zeros rather than whatever the memory held (NaN patterns). On the
  // engine's stream and waited for: a plain cudaMemset runs on the legacy stream, which the
  // non-blocking stream_ does not wait for, so a first step could have its KV writes zeroed.
  CAI_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(kv_cache_.get(), 0, kv_cache_.bytes(), stream_));
  CAI_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  return absl::OkStatus();
}

absl::Status CudaTransformer::SetDecodePartitions(int partitions) {
  if (partitions < 1 || partitions > options_.decode_partitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuda: decode partitions 1..", options_.decode_partitions, " (the engine's option)"));
  }
  if (partitions == decode_partitions_) return absl::OkStatus();
  CAI_RETURN_IF_ERROR(DropGraphs());
  decode_partitions_ = partitions;
  return absl::OkStatus();
}

absl::Status CudaTransformer::SetProgrammaticLaunch(bool on) {
  CAI_RETURN_IF_ERROR(DropGraphs());
  cuda::SetProgrammaticLaunch(on);
  return absl::OkStatus();
}

absl::Status CudaTransformer::DropGraphs() {
  CAI_CUDA_RETURN_IF_ERROR(cudaSetDevice(options_.device));
  CAI_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  for (auto& [size, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
  return absl::OkStatus();
}

absl::Status CudaTransformer::Project(float* out, int out_stride, const float* x, int num_tokens,
                                      const DeviceMatrix& w) {
  if (UsesMatVec(num_tokens)) {
    return CudaStatus(LaunchMatVec(out, out_stride, x, num_tokens, w, stream_), "mat-vec");
  }
  // out^T [rows, tokens] = W [rows, cols] x^T, in cuBLAS's column-major terms.
  const float alpha = 1, beta = 0;
  const int rows = static_cast<int>(w.rows), cols = static_cast<int>(w.cols);
  const void* b = x;
  cudaDataType_t type = CUDA_R_32F;
  if (w.dtype == DType::kBF16) {
    CAI_CUDA_RETURN_IF_ERROR(LaunchToBf16(bf16_x_.get(), x, int64_t{num_tokens} * cols, stream_));
    b = bf16_x_.get();
    type = CUDA_R_16BF;
  }
  return CublasStatus(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, rows, num_tokens, cols, &alpha, w.data, type,
                                   cols, b, type, cols, &beta, out, CUDA_R_32F, out_stride, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT),
                      "cublasGemmEx");
}

absl::Status CudaTransformer::Enqueue(int n, int num_logits, int num_decodes, int num_tiles) {
  const ModelConfig& c = config_;
  const int t_cap = options_.max_batch_tokens;
  const int d = c.hidden_size, ffn = c.intermediate_size, hd = c.head_dim;
  const int q_dim = c.num_attention_heads * hd, kv_dim = c.num_key_value_heads * hd, qkv_dim = q_dim + 2 * kv_dim;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const int32_t* tokens = inputs_.get();
  const int32_t* positions = tokens + t_cap;
  const int32_t* seq_ids = tokens + 2 * t_cap;
  const int32_t* slots = tokens + 3 * t_cap;
  const int32_t* logit_rows = tokens + 4 * t_cap;
  const int32_t* decodes = tokens + 5 * t_cap;
  const int32_t* tiles = tokens + 6 * t_cap;
  const int32_t* tables = tokens + kTablesOffset * t_cap;
  const size_t layer_bytes = static_cast<size_t>(num_kv_blocks_) * kKvBlockSize * kv_dim * DTypeSize(kv_dtype_);

  CAI_CUDA_RETURN_IF_ERROR(LaunchEmbed(x_.get(), tokens, n, embed_, embed_scale_, stream_));
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    // The previous layer's MLP output joins the residual here, fused with this layer's norm.
    const float* delta = l == 0 ? nullptr : proj_.get();
    const float* delta_weight = l == 0 ? nullptr : layers_[l - 1].post_ffn_norm.get();
    CAI_CUDA_RETURN_IF_ERROR(
        LaunchAddRmsNorm(x_.get(), delta, delta_weight, xn_.get(), layer.attn_norm.get(), n, d, eps, stream_));
    CAI_RETURN_IF_ERROR(Project(qkv_.get(), qkv_dim, xn_.get(), n, layer.wqkv));
    uint8_t* layer_cache = kv_cache_.get() + 2 * l * layer_bytes;
    const PagedKv cache{kv_dtype_, layer_cache, layer_cache + layer_bytes, c.num_key_value_heads, hd};
    CAI_CUDA_RETURN_IF_ERROR(LaunchRopeKvWrite(qkv_.get(), qkv_dim, c.num_attention_heads, positions, inv_freq_.get(),
                                               cache, slots, n, stream_));
    AttentionShape shape = attention_;
    shape.window = layer.sliding ? *c.sliding_window : 0;
    // Decodes on the paged kernel, prefill runs in query tiles (attention_plan.h).
    const AttentionBatch batch{qkv_.get(), qkv_dim, att_.get(), q_dim, seq_ids, positions, tables,
                               max_blocks_per_seq_, num_decodes, decodes};
    // Split-K for the decodes when the scratch holds them (one decode per sequence, as the scheduler
    // sends them); the choice depends only on num_decodes, so decode graphs stay valid.
    DecodeSplit split;
    if (decode_partitions_ > 1 && num_decodes <= options_.max_seqs) {
      split = {decode_partitions_, attention_partials_.get()};
    }
    CAI_CUDA_RETURN_IF_ERROR(LaunchPagedAttention(cache, batch, shape, stream_, split));
    if (options_.tensor_core_attention && TensorCoreAttentionFits(cache)) {
      CAI_CUDA_RETURN_IF_ERROR(LaunchTensorCoreTiledAttention(cache, batch, tiles, num_tiles, shape, stream_));
    } else {
      CAI_CUDA_RETURN_IF_ERROR(LaunchTiledAttention(cache, batch, tiles, num_tiles, shape, stream_));
    }
    CAI_RETURN_IF_ERROR(Project(proj_.get(), d, att_.get(), n, layer.wo));
    CAI_CUDA_RETURN_IF_ERROR(LaunchAddRmsNorm(x_.get(), proj_.get(), layer.post_attn_norm.get(), xn_.get(),
                                              layer.ffn_norm.get(), n, d, eps, stream_));
    if (UsesMatVec(n)) {  // gating fused into the mat-vec pass
      CAI_CUDA_RETURN_IF_ERROR(LaunchGatedMatVec(act_.get(), ffn, xn_.get(), n, layer.w_gate_up, c.activation, stream_));
    } else {
      CAI_RETURN_IF_ERROR(Project(gate_up_.get(), 2 * ffn, xn_.get(), n, layer.w_gate_up));
      CAI_CUDA_RETURN_IF_ERROR(LaunchGatedActivation(act_.get(), gate_up_.get(), n, ffn, c.activation, stream_));
    }
    CAI_RETURN_IF_ERROR(Project(proj_.get(), d, act_.get(), n, layer.w_down));
  }
  CAI_CUDA_RETURN_IF_ERROR(LaunchAddRmsNorm(x_.get(), proj_.get(), layers_.back().post_ffn_norm.get(), xn_.get(),
                                            final_norm_.get(), n, d, eps, stream_));
  CAI_CUDA_RETURN_IF_ERROR(LaunchGatherRows(logit_rows_.get(), xn_.get(), logit_rows, num_logits, d, stream_));
  CAI_RETURN_IF_ERROR(Project(logits_.get(), c.vocab_size, logit_rows_.get(), num_logits, lm_head_));
  if (c.final_logit_softcapping > 0) {
    CAI_CUDA_RETURN_IF_ERROR(LaunchSoftcap(logits_.get(), int64_t{num_logits} * c.vocab_size,
                                           static_cast<float>(c.final_logit_softcapping), stream_));
  }
  return absl::OkStatus();
}

absl::Status CudaTransformer::Run(const ForwardBatch& batch) {
  // A step that failed midway may have left the copy of its inputs in flight: it must end before
  // the pinned host inputs are rewritten.
  CAI_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  const ModelConfig& c = config_;
  const size_t n = batch.tokens.size(), m = batch.logit_tokens.size();
  const size_t t_cap = static_cast<size_t>(options_.max_batch_tokens), mb = static_cast<size_t>(max_blocks_per_seq_);
  if (n == 0 || n > t_cap) return absl::InvalidArgumentError(absl::StrCat("cuda forward: ", n, " tokens (1..", t_cap, ")"));
  if (batch.positions.size() != n || batch.seq_ids.size() != n) {
    return absl::InvalidArgumentError("cuda forward: positions and seq_ids need one entry per token");
  }
  if (batch.block_tables.empty() || batch.block_tables.size() % mb != 0 ||
      batch.block_tables.size() / mb > static_cast<size_t>(options_.max_seqs)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuda forward: block_tables must be 1..", options_.max_seqs, " rows of ", mb, " entries"));
  }
  // At most one logit row per token: the rows are staged in a region of max_batch_tokens entries.
  if (m == 0 || m > std::min<size_t>(n, options_.max_logit_rows)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuda forward: 1..", std::min<size_t>(n, options_.max_logit_rows), " logit rows"));
  }
  const size_t num_seqs = batch.block_tables.size() / mb;
  const int64_t context = std::min<int64_t>(c.max_position_embeddings, static_cast<int64_t>(mb) * kKvBlockSize);
  std::vector<int32_t> last_position(num_seqs, -1);
  int32_t* host = host_inputs_;
  for (size_t i = 0; i < n; ++i) {
    const int32_t token = batch.tokens[i], pos = batch.positions[i], seq = batch.seq_ids[i];
    if (token < 0 || token >= c.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("cuda forward: token id ", token, " is outside the vocabulary"));
    }
    if (pos < 0 || pos >= context) {
      return absl::OutOfRangeError(absl::StrCat("cuda forward: position ", pos, " is outside the context of ", context));
    }
    if (seq < 0 || static_cast<size_t>(seq) >= num_seqs) {
      return absl::InvalidArgumentError(absl::StrCat("cuda forward: sequence ", seq, " has no block table"));
    }
    last_position[seq] = std::max(last_position[seq], pos);
    host[i] = token;
    host[t_cap + i] = pos;
    host[2 * t_cap + i] = seq;
    host[3 * t_cap + i] = batch.block_tables[seq * mb + pos / kKvBlockSize] * kKvBlockSize + pos % kKvBlockSize;
  }
  // Every block a token reads (0..its position) must be a real one.
  for (size_t s = 0; s < num_seqs; ++s) {
    for (int32_t b = 0; last_position[s] >= 0 && b <= last_position[s] / kKvBlockSize; ++b) {
      const int32_t block = batch.block_tables[s * mb + b];
      if (block < 0 || block >= num_kv_blocks_) {
        return absl::InvalidArgumentError(absl::StrCat("cuda forward: block ", block, " of sequence ", s,
                                                       " is outside the cache of ", num_kv_blocks_, " blocks"));
      }
    }
  }
  for (size_t i = 0; i < m; ++i) {
    if (batch.logit_tokens[i] < 0 || static_cast<size_t>(batch.logit_tokens[i]) >= n) {
      return absl::InvalidArgumentError("cuda forward: a logit row names no token of the batch");
    }
    host[4 * t_cap + i] = batch.logit_tokens[i];
  }
  PlanAttention(batch.seq_ids, batch.positions, plan_);
  std::copy(plan_.decode_tokens.begin(), plan_.decode_tokens.end(), host + 5 * t_cap);
  std::copy(plan_.tiles.begin(), plan_.tiles.end(), host + 6 * t_cap);
  std::memcpy(host + kTablesOffset * t_cap, batch.block_tables.data(), batch.block_tables.size_bytes());
  CAI_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(inputs_.get(), host,
                                           (kTablesOffset * t_cap + batch.block_tables.size()) * sizeof(int32_t),
                                           cudaMemcpyHostToDevice, stream_));

  // Decode steps (as many logit rows as tokens) replay a graph per batch size: the inputs sit at
  // fixed device addresses, so only their contents change between steps.
  const int tokens = static_cast<int>(n), logit_rows = static_cast<int>(m);
  const int decodes = static_cast<int>(plan_.decode_tokens.size()), tiles = static_cast<int>(plan_.tiles.size() / 2);
  // A graph fixes its launch shapes, so only steps of decodes alone (every token its own sequence's
  // only one) replay one; their shape is set by the batch size.
  if (!options_.cuda_graphs || n != m || tiles != 0) return Enqueue(tokens, logit_rows, decodes, tiles);
  auto it = graphs_.find(tokens);
  if (it == graphs_.end()) {
    CAI_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    absl::Status enqueued = Enqueue(tokens, logit_rows, decodes, tiles);
    cudaGraph_t graph = nullptr;
    cudaError_t ended = cudaStreamEndCapture(stream_, &graph);
    if (!enqueued.ok() || ended != cudaSuccess) {
      if (graph != nullptr) cudaGraphDestroy(graph);
      return enqueued.ok() ? CudaStatus(ended, "cudaStreamEndCapture") : enqueued;
    }
    cudaGraphExec_t exec = nullptr;
    cudaError_t instantiated = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    CAI_CUDA_RETURN_IF_ERROR(instantiated);
    it = graphs_.emplace(tokens, exec).first;
  }
  CAI_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(it->second, stream_));
  return absl::OkStatus();
}

// Both entry points make the engine's device current first: the calling thread may have another
// one (the runtime's current device is per thread), and NoteLoss synchronises the current one.
absl::Status CudaTransformer::Forward(const ForwardBatch& batch, std::span<float> logits) {
  if (!lost_.ok()) return lost_;
  absl::Status step = CudaStatus(cudaSetDevice(options_.device), "cudaSetDevice");
  return NoteLoss(step.ok() ? RunForward(batch, logits) : step);
}

absl::Status CudaTransformer::ForwardDraw(const ForwardBatch& batch, std::span<const DeviceDraw* const> draws,
                                         std::span<float> logits, std::span<int32_t> tokens) {
  if (!lost_.ok()) return lost_;
  absl::Status step = CudaStatus(cudaSetDevice(options_.device), "cudaSetDevice");
  return NoteLoss(step.ok() ? RunDraw(batch, draws, logits, tokens) : step);
}

absl::Status CudaTransformer::NoteLoss(absl::Status step) {
  if (step.ok()) return step;
  // A sticky error is returned by every call from then on, this synchronisation too; any other
  // failure (a bad batch, a launch refused) leaves the context usable.
  if (const cudaError_t now = cudaDeviceSynchronize(); IsStickyCudaError(now)) {
    lost_ = absl::UnavailableError(absl::StrCat("cuda: the GPU context is lost (", cudaGetErrorString(now),
                                                ", in a step that failed with: ", step.message(),
                                                "); no later step can run: the process must restart"));
    return lost_;
  }
  return step;
}

absl::Status CudaTransformer::RunForward(const ForwardBatch& batch, std::span<float> logits) {
  const size_t vocab = static_cast<size_t>(config_.vocab_size), bytes = batch.logit_tokens.size() * vocab * 4;
  if (logits.size() != batch.logit_tokens.size() * vocab) {
    return absl::InvalidArgumentError("cuda forward: logits buffer is not logit rows x vocab_size floats");
  }
  CAI_RETURN_IF_ERROR(Run(batch));
  CAI_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(host_logits_, logits_.get(), bytes, cudaMemcpyDeviceToHost, stream_));
  CAI_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  std::memcpy(logits.data(), host_logits_, bytes);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> CudaTransformer::ForwardSample(const ForwardBatch& batch,
                                                                    std::span<const DeviceSamplingParams> params) {
  if (params.size() != batch.logit_tokens.size()) {
    return absl::InvalidArgumentError("cuda forward: one sampling params entry per logit row");
  }
  std::vector<DeviceDraw> draws;
  draws.reserve(params.size());
  for (const DeviceSamplingParams& p : params) {
    draws.push_back({.temperature = p.temperature, .top_p = p.top_p, .top_k = p.top_k, .min_p = p.min_p,
                     .seed = p.seed, .step = p.step, .adjustments = {}});
  }
  std::vector<const DeviceDraw*> every_row;
  for (const DeviceDraw& d : draws) every_row.push_back(&d);
  std::vector<int32_t> tokens(params.size());
  if (absl::Status s = ForwardDraw(batch, every_row, {}, tokens); !s.ok()) return s;
  return tokens;
}

absl::Status CudaTransformer::RunDraw(const ForwardBatch& batch, std::span<const DeviceDraw* const> draws,
                                     std::span<float> logits, std::span<int32_t> tokens) {
  const size_t rows = batch.logit_tokens.size(), vocab = static_cast<size_t>(config_.vocab_size);
  const bool every_row_drawn =
      std::all_of(draws.begin(), draws.end(), [](const DeviceDraw* d) { return d != nullptr; });
  if (draws.size() != rows || tokens.size() != rows ||
      (logits.size() != rows * vocab && !(logits.empty() && every_row_drawn))) {
    return absl::InvalidArgumentError(
        "cuda forward: draws and tokens need one entry per logit row, logits a row each (none if all are drawn)");
  }
  host_params_.assign(rows, DeviceSamplingParams{.temperature = 0});  // rows read on the host: unused
  host_edits_.clear();
  for (size_t r = 0; r < rows; ++r) {
    const DeviceDraw* d = draws[r];
    if (d == nullptr) continue;
    host_params_[r] = DeviceSamplingParams{.temperature = d->temperature, .top_k = d->top_k, .top_p = d->top_p,
                                           .min_p = d->min_p, .seed = d->seed, .step = d->step};
    for (const LogitAdjustment& a : d->adjustments) {
      if (a.id < 0 || static_cast<size_t>(a.id) >= vocab) {
        return absl::InvalidArgumentError("cuda forward: a logit adjustment names no token of the vocabulary");
      }
      host_edits_.push_back(LogitEdit{static_cast<int32_t>(r), a.id, a.bias, a.penalty});
    }
  }
  if (host_edits_.size() > logit_edits_.size()) {
    absl::StatusOr<DeviceBuffer<LogitEdit>> grown = DeviceBuffer<LogitEdit>::Allocate(host_edits_.size() * 2);
    if (!grown.ok()) return grown.status();
    logit_edits_ = *std::move(grown);
  }
  CAI_RETURN_IF_ERROR(Run(batch));
  const int num_rows = static_cast<int>(rows);
  // Rows for the host leave before the edits touch the device's rows.
  for (size_t r = 0; r < rows; ++r) {
    if (draws[r] != nullptr) continue;
    CAI_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(host_logits_ + r * vocab, logits_.get() + r * vocab, vocab * sizeof(float),
                                             cudaMemcpyDeviceToHost, stream_));
  }
  if (!host_edits_.empty()) {
    CAI_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(logit_edits_.get(), host_edits_.data(),
                                             host_edits_.size() * sizeof(LogitEdit), cudaMemcpyHostToDevice, stream_));
    CAI_CUDA_RETURN_IF_ERROR(LaunchApplyLogitEdits(logits_.get(), config_.vocab_size, logit_edits_.get(),
                                                   static_cast<int>(host_edits_.size()), stream_));
  }
  CAI_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(sampling_params_.get(), host_params_.data(),
                                           rows * sizeof(DeviceSamplingParams), cudaMemcpyHostToDevice, stream_));
  CAI_CUDA_RETURN_IF_ERROR(
      LaunchSample(sampled_.get(), logits_.get(), sampling_params_.get(), num_rows, config_.vocab_size, stream_));
  CAI_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(tokens.data(), sampled_.get(), rows * sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
  CAI_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  for (size_t r = 0; r < rows; ++r) {
    if (draws[r] == nullptr) std::memcpy(logits.data() + r * vocab, host_logits_ + r * vocab, vocab * sizeof(float));
  }
  return absl::OkStatus();
}

}  // namespace cai::inference::cuda
