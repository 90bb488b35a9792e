// Choosing where the model runs (cai-inference --device): parsing, auto's fallback, the error
// when CUDA is asked for where it cannot run, and the CPU backend's limits.
#include "services/inference/engine/backend_factory.h"

#include <gtest/gtest.h>

#include "services/inference/engine/backends/cpu/cpu_backend.h"
#include "services/inference/engine/loaded_model.h"
#include "tests/unit/inference/test_model.h"
#include "tools/demo_model/demo_model.h"

namespace cai::inference {
namespace {

class BackendFactoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    ASSERT_TRUE(demo::WriteDemoModel(dir_->path(), {.seed = 5, .num_hidden_layers = 1}).ok());
  }
  static void TearDownTestSuite() { delete dir_; }
  static testing::TempDir* dir_;
};
testing::TempDir* BackendFactoryTest::dir_ = nullptr;

TEST(Device, Parses) {
  EXPECT_EQ(*ParseDevice("auto"), Device::kAuto);
  EXPECT_EQ(*ParseDevice("cpu"), Device::kCpu);
  EXPECT_EQ(*ParseDevice("cuda"), Device::kCuda);
  for (const char* bad : {"", "gpu", "CUDA", "cuda:0", "tpu"}) {
    absl::StatusOr<Device> device = ParseDevice(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(device.status())) << bad;
  }
  for (Device d : {Device::kAuto, Device::kCpu, Device::kCuda}) EXPECT_EQ(*ParseDevice(DeviceName(d)), d);
}

TEST(Device, AutoIsCudaExactlyWhenCudaIsUsable) {
  std::string why;
  const Device resolved = ResolveDevice(Device::kAuto, &why);
  if (CudaUsable().ok()) {
    EXPECT_EQ(resolved, Device::kCuda);
  } else {
    EXPECT_EQ(resolved, Device::kCpu);
    EXPECT_EQ(why, CudaUsable().message());
    EXPECT_FALSE(why.empty());
  }
  EXPECT_EQ(ResolveDevice(Device::kCpu), Device::kCpu);
  EXPECT_EQ(ResolveDevice(Device::kCuda), Device::kCuda);
}

TEST_F(BackendFactoryTest, CudaWhereItCannotRunIsAClearError) {
  absl::Status usable = CudaUsable();
  if (usable.ok()) GTEST_SKIP() << "CUDA is usable here; the gpu-labelled tests cover --device cuda";
  EXPECT_EQ(usable.code(), absl::StatusCode::kFailedPrecondition);
  if (CudaBackendBuilt()) {
    EXPECT_EQ(usable.message().substr(0, 16), "no CUDA device: ") << usable;
  } else {
    EXPECT_NE(usable.message().find("built without the CUDA backend"), absl::string_view::npos) << usable;
  }
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_->path(), {.device = Device::kCuda});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status(), usable);
}

TEST_F(BackendFactoryTest, AutoLoadsWhereverItCan) {
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_->path(), {.device = Device::kAuto});
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_NE((*model)->backend, nullptr);
  const bool cuda = CudaUsable().ok();
  EXPECT_EQ((*model)->backend->device_name(), cuda ? "cuda" : "cpu");
  EXPECT_EQ((*model)->model == nullptr, cuda);  // CPU weights only where the CPU runs the model
}

TEST_F(BackendFactoryTest, CpuBackendHonoursContextAndCacheSize) {
  absl::StatusOr<std::unique_ptr<LoadedModel>> model =
      LoadModelDir(dir_->path(), {.device = Device::kCpu, .cpu_threads = 1, .cpu_kv_cache_bytes = 8 << 20,
                                  .max_context = 100});
  ASSERT_TRUE(model.ok()) << model.status();
  const ForwardBackend& backend = *(*model)->backend;
  EXPECT_EQ(backend.device_name(), "cpu");
  EXPECT_EQ(backend.context_length(), 100);
  EXPECT_EQ(backend.num_kv_blocks(), (8 << 20) / (*model)->model->kv_block_bytes());
  // A larger max_context than the model's is the model's.
  CpuBackend wide(*(*model)->model, 1 << 20, int64_t{1} << 30);
  EXPECT_EQ(wide.context_length(), (*model)->config.max_position_embeddings);
  EXPECT_TRUE(absl::IsInvalidArgument(LoadModelDir(dir_->path(), {.max_context = -1}).status()));
}

TEST_F(BackendFactoryTest, DefaultCpuCacheIsTwoContextsWithinAQuarterOfMemory) {
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_->path(), 1);
  ASSERT_TRUE(model.ok()) << model.status();
  const TransformerModel& m = *(*model)->model;
  const int64_t two = 2 * KvBlocksFor(1000) * m.kv_block_bytes();
  EXPECT_EQ(CpuBackend::DefaultKvCacheBytes(m, 1000, int64_t{1} << 40), std::max<int64_t>(two, 64 << 20));
  EXPECT_EQ(CpuBackend::DefaultKvCacheBytes(m, 1 << 24, int64_t{8} << 30), int64_t{2} << 30);  // a quarter
  EXPECT_EQ(CpuBackend::DefaultKvCacheBytes(m, 16, 1 << 20), int64_t{64} << 20);                // the floor
}

}  // namespace
}  // namespace cai::inference
