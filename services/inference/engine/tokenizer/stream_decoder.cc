#include "services/inference/engine/tokenizer/stream_decoder.h"

#include "services/inference/engine/tokenizer/utf8.h"

namespace cai::inference {

std::string StreamDecoder::Push(int32_t id) {
  if (skip_special_tokens_ && tokenizer_.IsSpecial(id)) return "";
  pending_ += tokenizer_.TokenBytes(id);
  std::string text;
  pending_.erase(0, AppendUtf8Lossy(pending_, /*final=*/false, &text));
  return text;
}

std::string StreamDecoder::Flush() {
  std::string text;
  AppendUtf8Lossy(pending_, /*final=*/true, &text);
  pending_.clear();
  return text;
}

}  // namespace cai::inference
