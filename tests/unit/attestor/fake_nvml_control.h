#pragma once

// Drives the test double of libnvidia-ml (fake_nvml_driver.cc) from tests. The test keeps the
// library loaded, so its state survives providers loading and unloading it.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

namespace cai::fake_nvml {

inline const char* FakeNvmlPath() { return CAI_FAKE_NVML_PATH; }

struct FakeNvmlSetup {
  unsigned int gpu_count = 1;
  unsigned int environment = 2;  // PROD
  unsigned int cc_feature = 1;
  unsigned int arch = 9;  // HOPPER
  int failing_gpu = -1;
  bool wrong_nonce = false;

  FakeNvmlSetup& Gpus(unsigned int n) { gpu_count = n; return *this; }
  FakeNvmlSetup& Environment(unsigned int e) { environment = e; return *this; }
  FakeNvmlSetup& CcFeature(unsigned int c) { cc_feature = c; return *this; }
  FakeNvmlSetup& Arch(unsigned int a) { arch = a; return *this; }
  FakeNvmlSetup& FailingGpu(int index) { failing_gpu = index; return *this; }
  FakeNvmlSetup& WrongNonce() { wrong_nonce = true; return *this; }
};

inline void* FakeNvml() {
  static void* handle = dlopen(CAI_FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(handle, nullptr) << dlerror();
  return handle;
}

inline void ConfigureFakeNvml(const FakeNvmlSetup& setup) {
  using Fn = void (*)(unsigned int, unsigned int, unsigned int, unsigned int, int, bool);
  auto configure = reinterpret_cast<Fn>(dlsym(FakeNvml(), "CaiFakeNvmlConfigure"));
  ASSERT_NE(configure, nullptr);
  configure(setup.gpu_count, setup.environment, setup.cc_feature, setup.arch, setup.failing_gpu, setup.wrong_nonce);
}

inline int FakeNvmlCalls(const char* counter) {
  auto fn = reinterpret_cast<int (*)()>(dlsym(FakeNvml(), counter));
  return fn != nullptr ? fn() : -1;
}

}  // namespace cai::fake_nvml
