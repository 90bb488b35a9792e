#include "services/inference/engine/tokenizer/pre_tokenizer.h"

namespace cai::inference {
namespace {

// Splits after every occurrence of `delimiter` (HF SplitDelimiterBehavior::MergedWithPrevious).
void SplitMergedWithPrevious(std::string_view text, std::string_view delimiter,
                             std::vector<std::string_view>* out) {
  size_t start = 0;
  for (size_t hit; (hit = text.find(delimiter, start)) != std::string_view::npos;) {
    out->push_back(text.substr(start, hit + delimiter.size() - start));
    start = hit + delimiter.size();
  }
  if (start < text.size()) out->push_back(text.substr(start));
}

// Splits before every occurrence of `delimiter` (MergedWithNext).
void SplitMergedWithNext(std::string_view text, std::string_view delimiter,
                         std::vector<std::string_view>* out) {
  size_t start = 0;
  for (size_t hit = text.find(delimiter, delimiter.size()); hit != std::string_view::npos;
       hit = text.find(delimiter, hit + delimiter.size())) {
    if (hit > start) out->push_back(text.substr(start, hit - start));
    start = hit;
  }
  if (start < text.size()) out->push_back(text.substr(start));
}

}  // namespace

void PreTokenizer::Split(std::string_view text, bool at_input_start, std::string* storage,
                         std::vector<std::string_view>* pieces) const {
  std::vector<std::string_view> current, next;
  if (metaspace_) {
    // HF Metaspace: every " " becomes the replacement, then a prefix unless one is there.
    storage->clear();
    for (char c : text) {
      if (c == ' ') {
        storage->append(metaspace_->replacement);
      } else {
        storage->push_back(c);
      }
    }
    bool prepend = metaspace_->prepend == Prepend::kAlways ||
                   (metaspace_->prepend == Prepend::kFirst && at_input_start);
    if (prepend && !storage->starts_with(metaspace_->replacement)) {
      storage->insert(0, metaspace_->replacement);
    }
    if (metaspace_->split) {
      SplitMergedWithNext(*storage, metaspace_->replacement, &current);
    } else if (!storage->empty()) {
      current.push_back(*storage);
    }
  } else if (!text.empty()) {
    current.push_back(text);
  }
  for (const Step& step : steps_) {
    next.clear();
    for (std::string_view piece : current) {
      if (step.regex) {
        step.regex->Split(piece, &next);
      } else {
        SplitMergedWithPrevious(piece, step.delimiter, &next);
      }
    }
    current.swap(next);
  }
  pieces->insert(pieces->end(), current.begin(), current.end());
}

}  // namespace cai::inference
