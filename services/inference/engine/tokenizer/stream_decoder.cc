#include "services/inference/engine/tokenizer/stream_decoder.h"

#include "services/inference/engine/tokenizer/utf8.h"

namespace cai::inference {

std::string StreamDecoder::Push(int32_t id) {
  if (skip_special_tokens_ && tokenizer_.IsSpecial(id)) return "";
  pending_ += tokenizer_.TokenBytes(id);
  std::string text;
  pending_.erase(0, AppendUtf8Lossy(pending_, /*final=*/false, &text));
  return StripLeading(std::move(text));
}

std::string StreamDecoder::Flush() {
  std::string text;
  AppendUtf8Lossy(pending_, /*final=*/true, &text);
  pending_.clear();
  return StripLeading(std::move(text));
}

std::string StreamDecoder::StripLeading(std::string text) {
  const std::string& content = tokenizer_.leading_strip().content;
  while (strip_left_ > 0 && !text.empty()) {
    if (!text.starts_with(content)) {
      strip_left_ = 0;
      break;
    }
    text.erase(0, content.size());
    --strip_left_;
  }
  if (!text.empty()) strip_left_ = 0;
  return text;
}

}  // namespace cai::inference
