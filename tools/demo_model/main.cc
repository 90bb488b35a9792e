// cai-demo-model: writes a tiny random-weight Llama 3 model directory for tests and demos.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "lib/common/command_line.h"
#include "tools/demo_model/demo_model.h"

ABSL_FLAG(std::string, out, "", "directory to write the model into (required); its basename is the model id");
ABSL_FLAG(uint64_t, seed, 1, "seed of the random weights (same seed, same files)");
ABSL_FLAG(int, layers, 4, "number of decoder layers");

int main(int argc, char** argv) {
  cai::ParseCommandLine(argc, argv,
                       "writes a tiny random-weight Llama 3 model directory.\n"
                       "Usage: cai-demo-model --out DIR [--seed N]");
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::fprintf(stderr, "cai-demo-model: --out is required\n");
    return 2;
  }
  int layers = absl::GetFlag(FLAGS_layers);
  if (layers < 1 || layers > 64) {
    std::fprintf(stderr, "cai-demo-model: --layers must be in [1, 64]\n");
    return 2;
  }
  cai::demo::DemoModelOptions options;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.num_hidden_layers = layers;
  absl::Status status = cai::demo::WriteDemoModel(out, options);
  if (!status.ok()) {
    std::fprintf(stderr, "cai-demo-model: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("wrote demo model to %s (random weights: its output is meaningless text)\n", out.c_str());
  return 0;
}
