#include "services/inference/engine/tokenizer/normalizer.h"

namespace cai::inference {

std::string Normalizer::Apply(std::string_view text) const {
  std::string out(text);
  for (const Step& step : steps_) {
    if (out.empty()) break;  // every step maps "" to ""
    if (step.kind == Step::kPrepend) {
      out.insert(0, step.content);
      continue;
    }
    std::string replaced;
    replaced.reserve(out.size());
    size_t pos = 0;
    for (size_t hit; (hit = out.find(step.pattern, pos)) != std::string::npos;
         pos = hit + step.pattern.size()) {
      replaced.append(out, pos, hit - pos).append(step.content);
    }
    replaced.append(out, pos);
    out.swap(replaced);
  }
  return out;
}

}  // namespace cai::inference
