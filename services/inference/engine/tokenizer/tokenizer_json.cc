// Tokenizer::FromJson: builds a Tokenizer from a Hugging Face tokenizer.json, section by
// section; every unsupported construct is named in an Unimplemented error.
#include <algorithm>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/inference/engine/tokenizer/absl_compat.h"
#include "services/inference/engine/tokenizer/byte_level.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {
namespace {

using Json = nlohmann::json;

// Field helpers that never throw: a missing key and JSON null both read as "absent".
const Json* Field(const Json& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

absl::StatusOr<bool> BoolField(const Json& object, std::string_view key, bool absent,
                               std::string_view where) {
  const Json* value = Field(object, key);
  if (value == nullptr) return absent;
  if (!value->is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(where), ".", ToAbsl(key), " is not a boolean"));
  }
  return value->get<bool>();
}

const std::string* StringField(const Json& object, std::string_view key) {
  const Json* value = Field(object, key);
  return value != nullptr && value->is_string() ? &value->get_ref<const std::string&>() : nullptr;
}

std::string TypeOf(const Json& object) {
  const std::string* type = object.is_object() ? StringField(object, "type") : nullptr;
  return type != nullptr ? *type : "<no type>";
}

// The steps of a component that may be a "Sequence" of them (under `list_key`).
absl::StatusOr<std::vector<const Json*>> Steps(const Json& component, std::string_view list_key,
                                               std::string_view what) {
  std::vector<const Json*> steps;
  if (TypeOf(component) != "Sequence") {
    steps.push_back(&component);
    return steps;
  }
  const Json* list = Field(component, list_key);
  if (list == nullptr || !list->is_array() || list->size() > 8) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), " Sequence needs 0..8 ", ToAbsl(list_key)));
  }
  for (const Json& step : *list) steps.push_back(&step);
  return steps;
}

// A literal {"String": ...} pattern (HF Replace and Split); nullptr for anything else.
const std::string* StringPattern(const Json& step) {
  const Json* pattern = Field(step, "pattern");
  return pattern != nullptr && pattern->is_object() ? StringField(*pattern, "String") : nullptr;
}

// HF BPE's byte-fallback spelling of a byte: format!("<{b:#04X}>"), e.g. "<0x0A>".
std::string ByteFallbackToken(uint8_t b) {
  constexpr char kHex[] = "0123456789ABCDEF";
  return {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
}

bool UsesByteLevel(const Json* pre) {
  if (pre == nullptr) return false;
  absl::StatusOr<std::vector<const Json*>> steps = Steps(*pre, "pretokenizers", "pre_tokenizer");
  if (!steps.ok()) return false;
  return std::any_of(steps->begin(), steps->end(),
                     [](const Json* step) { return TypeOf(*step) == "ByteLevel"; });
}

// HF ByteFallback reads a token as a byte when it is exactly "<0x" two hex digits ">".
std::optional<uint8_t> ByteFallbackValue(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token[5] != '>') return std::nullopt;
  int value = 0;
  for (char c : token.substr(3, 2)) {
    int digit = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + digit;
  }
  return static_cast<uint8_t>(value);
}

}  // namespace

class Tokenizer::Parser {
 public:
  explicit Parser(Tokenizer* t) : t_(*t) {}

  absl::Status Parse(const Json& root) {
    if (!root.is_object()) return absl::InvalidArgumentError("tokenizer.json is not an object");
    const Json* model = Field(root, "model");
    if (model == nullptr) return absl::InvalidArgumentError("tokenizer.json has no model");
    // Ids are dense, so none can reach the number of entries; checking early bounds memory.
    const Json* vocab = model->is_object() ? Field(*model, "vocab") : nullptr;
    const Json* added = Field(root, "added_tokens");
    id_limit_ = (vocab != nullptr ? vocab->size() : 0) + (added != nullptr ? added->size() : 0);
    t_.byte_level_ = UsesByteLevel(Field(root, "pre_tokenizer"));
    if (absl::Status s = ParseNormalizer(Field(root, "normalizer")); !s.ok()) return s;
    if (absl::Status s = ParseModel(*model); !s.ok()) return s;
    if (absl::Status s = ParseAddedTokens(added); !s.ok()) return s;
    if (absl::Status s = ParsePreTokenizer(Field(root, "pre_tokenizer")); !s.ok()) return s;
    if (absl::Status s = ParseDecoder(Field(root, "decoder")); !s.ok()) return s;
    return Finish();
  }

 private:
  absl::Status ParseNormalizer(const Json* normalizer) {
    if (normalizer == nullptr) return absl::OkStatus();
    absl::StatusOr<std::vector<const Json*>> steps = Steps(*normalizer, "normalizers", "normalizer");
    if (!steps.ok()) return steps.status();
    for (const Json* step : *steps) {
      std::string type = TypeOf(*step);
      if (type == "Replace") {
        const std::string* pattern = StringPattern(*step);
        const std::string* content = StringField(*step, "content");
        if (pattern == nullptr || pattern->empty() || content == nullptr) {
          return absl::UnimplementedError(
              "normalizer Replace is supported only with a non-empty {\"String\": ...} pattern");
        }
        t_.normalizer_.AddReplace(*pattern, *content);
      } else if (type == "Prepend") {
        const std::string* prepend = StringField(*step, "prepend");
        if (prepend == nullptr) return absl::InvalidArgumentError("normalizer Prepend has no prepend");
        t_.normalizer_.AddPrepend(*prepend);
      } else {
        return absl::UnimplementedError(absl::StrCat("normalizer \"", type, "\" is not supported"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseModel(const Json& model) {
    if (!model.is_object()) return absl::InvalidArgumentError("model is not an object");
    std::string type = TypeOf(model);
    if (type != "BPE") {
      return absl::UnimplementedError(
          absl::StrCat("model type \"", type, "\" is not supported (only BPE)"));
    }
    absl::StatusOr<bool> byte_fallback = BoolField(model, "byte_fallback", false, "model");
    absl::StatusOr<bool> fuse_unk = BoolField(model, "fuse_unk", false, "model");
    absl::StatusOr<bool> ignore_merges = BoolField(model, "ignore_merges", false, "model");
    for (const auto* flag : {&byte_fallback, &fuse_unk, &ignore_merges}) {
      if (!flag->ok()) return flag->status();
    }
    if (*byte_fallback && t_.byte_level_) {
      return absl::UnimplementedError("BPE byte_fallback with a ByteLevel pre_tokenizer is not supported");
    }
    t_.byte_fallback_ = *byte_fallback;
    t_.fuse_unk_ = *fuse_unk;
    t_.ignore_merges_ = *ignore_merges;
    if (const Json* dropout = Field(model, "dropout");
        dropout != nullptr && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
      return absl::UnimplementedError("BPE dropout is not supported");
    }
    for (std::string_view key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      const Json* affix = Field(model, key);
      if (affix != nullptr && !(affix->is_string() && affix->get<std::string>().empty())) {
        return absl::UnimplementedError(absl::StrCat("BPE ", ToAbsl(key), " is not supported"));
      }
    }

    const Json* vocab = Field(model, "vocab");
    if (vocab == nullptr || !vocab->is_object()) {
      return absl::InvalidArgumentError("model.vocab is missing or not an object");
    }
    if (vocab->size() > kMaxVocabSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.vocab has more than ", kMaxVocabSize, " entries"));
    }
    for (const auto& [token, id_json] : vocab->items()) {
      std::optional<std::string> key = ModelKey(token);
      if (!key || key->empty() || key->size() > kMaxTokenBytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "vocab entry \"", token, "\" is not a ", t_.byte_level_ ? "byte-level " : "", "token"));
      }
      absl::StatusOr<int32_t> id = AssignId(id_json, absl::StrCat("vocab entry \"", token, "\""));
      if (!id.ok()) return id.status();
      spelling_[*id] = token;
      t_.vocab_.emplace(*std::move(key), *id);
    }
    for (int b = 0; b < 256; ++b) {
      std::string key = t_.byte_level_ ? std::string(1, static_cast<char>(b))
                                       : ByteFallbackToken(static_cast<uint8_t>(b));
      auto it = t_.vocab_.find(key);
      if (it == t_.vocab_.end() && t_.byte_level_) {
        return absl::InvalidArgumentError(
            absl::StrCat("vocab lacks the byte-level token for byte ", b));
      }
      t_.byte_ids_[b] = it == t_.vocab_.end() ? -1 : it->second;
    }
    const std::string* unk = StringField(model, "unk_token");
    if (unk != nullptr && !t_.byte_level_) {  // byte-level BPE never needs one
      auto it = t_.vocab_.find(*unk);
      if (it == t_.vocab_.end()) {
        return absl::InvalidArgumentError(absl::StrCat("unk_token \"", *unk, "\" is not in the vocab"));
      }
      t_.unk_id_ = it->second;
    }
    return ParseMerges(Field(model, "merges"));
  }

  absl::Status ParseMerges(const Json* merges) {
    if (merges == nullptr) return absl::OkStatus();
    if (!merges->is_array()) return absl::InvalidArgumentError("model.merges is not an array");
    if (merges->size() > kMaxMerges) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.merges has more than ", kMaxMerges, " entries"));
    }
    for (size_t i = 0; i < merges->size(); ++i) {
      const Json& merge = (*merges)[i];
      std::string left, right;
      if (merge.is_string()) {  // "a b"
        const std::string& s = merge.get_ref<const std::string&>();
        size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
          return absl::InvalidArgumentError(absl::StrCat("merge ", i, " is not \"a b\""));
        }
        left = s.substr(0, space);
        right = s.substr(space + 1);
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                 merge[1].is_string()) {  // ["a", "b"]
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      } else {
        return absl::InvalidArgumentError(absl::StrCat("merge ", i, " is malformed"));
      }
      std::optional<int32_t> left_id = VocabId(left), right_id = VocabId(right);
      if (!left_id || !right_id) {
        return absl::InvalidArgumentError(
            absl::StrCat("merge ", i, " (", left, " ", right, ") uses a token not in the vocab"));
      }
      std::optional<int32_t> merged_id = VocabId(left + right);
      if (!merged_id) {
        return absl::InvalidArgumentError(
            absl::StrCat("merge ", i, " (", left, " ", right, ") makes a token not in the vocab"));
      }
      t_.merges_.Add(*left_id, *right_id, *merged_id);
    }
    return absl::OkStatus();
  }

  absl::Status ParseAddedTokens(const Json* added) {
    if (added == nullptr) return absl::OkStatus();
    if (!added->is_array()) return absl::InvalidArgumentError("added_tokens is not an array");
    if (added->size() > kMaxAddedTokens) {
      return absl::InvalidArgumentError(
          absl::StrCat("more than ", kMaxAddedTokens, " added_tokens"));
    }
    for (const Json& entry : *added) {
      const std::string* content = entry.is_object() ? StringField(entry, "content") : nullptr;
      if (content == nullptr || content->empty() || content->size() > kMaxTokenBytes) {
        return absl::InvalidArgumentError("an added token has no valid content");
      }
      AddedToken token{*content, 0, false, false, false, false};
      std::string where = absl::StrCat("added token \"", token.content, "\"");
      absl::StatusOr<bool> special = BoolField(entry, "special", false, where);
      if (!special.ok()) return special.status();
      absl::StatusOr<bool> lstrip = BoolField(entry, "lstrip", false, where);
      absl::StatusOr<bool> rstrip = BoolField(entry, "rstrip", false, where);
      absl::StatusOr<bool> single_word = BoolField(entry, "single_word", false, where);
      absl::StatusOr<bool> normalized = BoolField(entry, "normalized", !*special, where);
      for (const auto* flag : {&lstrip, &rstrip, &single_word, &normalized}) {
        if (!flag->ok()) return flag->status();
      }
      if (*single_word) return absl::UnimplementedError(where + ": single_word is not supported");
      token.special = *special;
      token.lstrip = *lstrip;
      token.rstrip = *rstrip;
      // Without a normalizer both passes see the same text, so one pass is exact.
      token.normalized = *normalized && !t_.normalizer_.empty();
      if (token.normalized && token.special) {
        // Special-token ranges are positions in the input, not in the normalized text.
        return absl::UnimplementedError(
            where + ": a special token with normalized: true under a normalizer is not supported");
      }

      const Json* id_json = Field(entry, "id");
      if (id_json == nullptr) return absl::InvalidArgumentError(where + " has no id");
      // An added token may repeat a vocab entry of the same spelling (GPT-2's <|endoftext|>).
      std::optional<int32_t> existing = VocabId(token.content);
      if (existing && id_json->is_number_integer() && id_json->get<int64_t>() == *existing) {
        token.id = *existing;
      } else {
        absl::StatusOr<int32_t> id = AssignId(*id_json, where);
        if (!id.ok()) return id.status();
        token.id = *id;
        spelling_[token.id] = token.content;
        is_added_[token.id] = true;
      }
      if (!t_.added_by_content_.emplace(token.content, token.id).second) {
        return absl::InvalidArgumentError(where + " appears twice");
      }
      t_.added_.push_back(std::move(token));
    }
    return absl::OkStatus();
  }

  absl::Status ParsePreTokenizer(const Json* pre) {
    if (pre == nullptr) {
      if (t_.byte_level_) return absl::InvalidArgumentError("byte-level BPE needs a ByteLevel pre_tokenizer");
      return absl::OkStatus();  // BPE over each whole stretch
    }
    absl::StatusOr<std::vector<const Json*>> steps = Steps(*pre, "pretokenizers", "pre_tokenizer");
    if (!steps.ok()) return steps.status();
    if (t_.byte_level_ && TypeOf(*steps->back()) != "ByteLevel") {
      return absl::UnimplementedError("the pre_tokenizer must end with ByteLevel");
    }
    for (size_t i = 0; i < steps->size(); ++i) {
      const Json& step = *(*steps)[i];
      std::string type = TypeOf(step);
      absl::Status status;
      if (type == "ByteLevel" && i + 1 == steps->size()) {
        status = ParseByteLevel(step);
      } else if (type == "Split") {
        status = ParseSplit(step);
      } else if (type == "Metaspace" && i == 0 && !t_.byte_level_) {
        status = ParseMetaspace(step);
      } else {
        status = absl::UnimplementedError(
            absl::StrCat("pre_tokenizer \"", type, "\" is not supported here"));
      }
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status ParseByteLevel(const Json& step) {
    absl::StatusOr<bool> prefix = BoolField(step, "add_prefix_space", false, "ByteLevel");
    absl::StatusOr<bool> use_regex = BoolField(step, "use_regex", true, "ByteLevel");
    if (!prefix.ok()) return prefix.status();
    if (!use_regex.ok()) return use_regex.status();
    if (*prefix) return absl::UnimplementedError("ByteLevel add_prefix_space is not supported");
    return *use_regex ? AddRegex(kGpt2SplitPattern) : absl::OkStatus();
  }

  absl::Status ParseSplit(const Json& step) {
    absl::StatusOr<bool> invert = BoolField(step, "invert", false, "Split");
    if (!invert.ok()) return invert.status();
    if (*invert) return absl::UnimplementedError("Split with invert: true is not supported");
    const std::string* behavior = StringField(step, "behavior");
    std::string_view how = behavior != nullptr ? std::string_view(*behavior) : "";
    if (const std::string* literal = StringPattern(step)) {
      if (how != "MergedWithPrevious" || literal->empty()) {
        return absl::UnimplementedError(
            "Split with a String pattern is supported only with behavior \"MergedWithPrevious\"");
      }
      t_.pre_tokenizer_.AddMergedWithPrevious(*literal);
      return absl::OkStatus();
    }
    const Json* pattern = Field(step, "pattern");
    const std::string* regex = pattern != nullptr && pattern->is_object() ? StringField(*pattern, "Regex") : nullptr;
    if (regex == nullptr) {
      return absl::UnimplementedError("Split is supported only with a {\"Regex\": ...} or {\"String\": ...} pattern");
    }
    if (how != "Isolated") {
      return absl::UnimplementedError("Split with a Regex pattern is supported only with behavior \"Isolated\"");
    }
    return AddRegex(*regex);
  }

  absl::Status ParseMetaspace(const Json& step) {
    const std::string* replacement = StringField(step, "replacement");
    if (replacement == nullptr || replacement->empty()) {
      return absl::InvalidArgumentError("Metaspace has no replacement");
    }
    absl::StatusOr<bool> split = BoolField(step, "split", true, "Metaspace");
    if (!split.ok()) return split.status();
    // Older files say add_prefix_space instead of prepend_scheme.
    PreTokenizer::Prepend prepend = PreTokenizer::Prepend::kAlways;
    if (const std::string* scheme = StringField(step, "prepend_scheme")) {
      if (*scheme == "first") {
        prepend = PreTokenizer::Prepend::kFirst;
      } else if (*scheme == "never") {
        prepend = PreTokenizer::Prepend::kNever;
      } else if (*scheme != "always") {
        return absl::UnimplementedError(absl::StrCat("Metaspace prepend_scheme \"", *scheme, "\" is not supported"));
      }
    } else {
      absl::StatusOr<bool> add_prefix = BoolField(step, "add_prefix_space", true, "Metaspace");
      if (!add_prefix.ok()) return add_prefix.status();
      if (!*add_prefix) prepend = PreTokenizer::Prepend::kNever;
    }
    t_.pre_tokenizer_.SetMetaspace(*replacement, prepend, *split);
    return absl::OkStatus();
  }

  absl::Status AddRegex(std::string_view pattern) {
    absl::StatusOr<std::unique_ptr<SplitRegex>> regex = SplitRegex::Compile(pattern);
    if (!regex.ok()) return regex.status();
    t_.pre_tokenizer_.AddRegex(*std::move(regex));
    return absl::OkStatus();
  }

  // Byte-level: the ByteLevel decoder. SentencePiece: Replace* -> ByteFallback? -> Fuse? ->
  // Strip(left)?, the order of HF's Llama/Gemma converters; others would act per token.
  absl::Status ParseDecoder(const Json* decoder) {
    std::string type = decoder == nullptr ? "<none>" : TypeOf(*decoder);
    if (t_.byte_level_) {
      if (type != "ByteLevel") {
        return absl::UnimplementedError(
            absl::StrCat("decoder \"", type, "\" is not supported with byte-level BPE (only ByteLevel)"));
      }
      return absl::OkStatus();
    }
    if (decoder == nullptr) {
      return absl::UnimplementedError("a SentencePiece-style tokenizer without a decoder is not supported");
    }
    absl::StatusOr<std::vector<const Json*>> steps = Steps(*decoder, "decoders", "decoder");
    if (!steps.ok()) return steps.status();
    enum Stage { kReplace, kByteFallback, kFuse, kStrip } stage = kReplace;
    for (const Json* step : *steps) {
      std::string step_type = TypeOf(*step);
      if (step_type == "Replace" && stage == kReplace) {
        const std::string* pattern = StringPattern(*step);
        const std::string* content = StringField(*step, "content");
        if (pattern == nullptr || pattern->empty() || content == nullptr) {
          return absl::UnimplementedError("decoder Replace is supported only with a {\"String\": ...} pattern");
        }
        decode_replace_.AddReplace(*pattern, *content);
      } else if (step_type == "ByteFallback" && stage < kByteFallback) {
        stage = kByteFallback;
        decode_byte_fallback_ = true;
      } else if (step_type == "Fuse" && stage < kFuse) {
        stage = kFuse;
      } else if (step_type == "Strip" && stage == kFuse) {
        stage = kStrip;
        absl::Status s = ParseStrip(*step);
        if (!s.ok()) return s;
      } else {
        return absl::UnimplementedError(absl::StrCat(
            "decoder \"", step_type, "\" is not supported here (supported: Replace, ByteFallback, "
            "Fuse, Strip, in that order)"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseStrip(const Json& step) {
    const std::string* content = StringField(step, "content");
    const Json* start = Field(step, "start");
    const Json* stop = Field(step, "stop");
    if (content == nullptr || content->empty() || start == nullptr || !start->is_number_unsigned() ||
        start->get<uint64_t>() > 16) {
      return absl::InvalidArgumentError("decoder Strip needs content and a start of at most 16");
    }
    if (stop != nullptr && !(stop->is_number_integer() && stop->get<int64_t>() == 0)) {
      return absl::UnimplementedError("decoder Strip with stop > 0 is not supported");
    }
    t_.leading_strip_ = {*content, static_cast<int>(start->get<uint64_t>())};
    return absl::OkStatus();
  }

  // Ids must be dense so that vocab_size() is exact and every id has a spelling.
  absl::Status Finish() {
    for (size_t id = 0; id < assigned_.size(); ++id) {
      if (!assigned_[id]) {
        return absl::InvalidArgumentError(absl::StrCat("token id ", id, " is not assigned"));
      }
    }
    size_t n = assigned_.size();
    t_.token_bytes_.resize(n);
    t_.byte_token_.assign(n, false);
    for (size_t id = 0; id < n; ++id) {
      if (t_.byte_level_ && !is_added_[id]) {
        t_.token_bytes_[id] = *ByteLevelDecode(spelling_[id]);
      } else if (t_.byte_level_) {
        t_.token_bytes_[id] = spelling_[id];
      } else if (std::optional<uint8_t> byte = ByteFallbackValue(spelling_[id]);
                 byte && decode_byte_fallback_) {
        t_.token_bytes_[id] = std::string(1, static_cast<char>(*byte));
        t_.byte_token_[id] = true;
      } else {
        t_.token_bytes_[id] = decode_replace_.Apply(spelling_[id]);
      }
    }
    t_.special_.assign(n, false);
    for (const AddedToken& token : t_.added_) {
      if (token.special) t_.special_[token.id] = true;
      AddedIndex& index = token.normalized ? t_.normalized_added_ : t_.raw_added_;
      index[static_cast<uint8_t>(token.content[0])].push_back(&token);
    }
    for (AddedIndex* index : {&t_.raw_added_, &t_.normalized_added_}) {
      for (auto& list : *index) {
        std::sort(list.begin(), list.end(), [](const AddedToken* a, const AddedToken* b) {
          return a->content.size() != b->content.size() ? a->content.size() > b->content.size()
                                                        : a->id < b->id;
        });
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int32_t> AssignId(const Json& id_json, std::string_view where) {
    size_t limit = std::min(id_limit_, kMaxVocabSize + kMaxAddedTokens);
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 ||
        id_json.get<int64_t>() >= static_cast<int64_t>(limit)) {
      return absl::InvalidArgumentError(absl::StrCat(
          ToAbsl(where), " has an id out of range (ids are dense and below ", limit, ")"));
    }
    size_t id = id_json.get<size_t>();
    if (id >= assigned_.size()) {
      assigned_.resize(id + 1, false);
      is_added_.resize(id + 1, false);
      spelling_.resize(id + 1);
    }
    if (assigned_[id]) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(where), " reuses id ", id));
    }
    assigned_[id] = true;
    return static_cast<int32_t>(id);
  }

  // The vocab_ key of a token as tokenizer.json spells it.
  std::optional<std::string> ModelKey(std::string_view token) const {
    if (t_.byte_level_) return ByteLevelDecode(token);
    return std::string(token);
  }

  std::optional<int32_t> VocabId(std::string_view token) const {
    std::optional<std::string> key = ModelKey(token);
    if (!key) return std::nullopt;
    auto it = t_.vocab_.find(*key);
    return it == t_.vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
  }

  Tokenizer& t_;
  size_t id_limit_ = 0;
  std::vector<bool> assigned_;
  std::vector<bool> is_added_;         // by id: an added token outside the model vocab
  std::vector<std::string> spelling_;  // by id: as tokenizer.json spells it
  Normalizer decode_replace_;          // the decoder's Replace steps
  bool decode_byte_fallback_ = false;
};

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view tokenizer_json) {
  if (tokenizer_json.size() > kMaxTokenizerJsonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.json is larger than ", kMaxTokenizerJsonBytes, " bytes"));
  }
  Json root = Json::parse(tokenizer_json.begin(), tokenizer_json.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("tokenizer.json is not valid JSON");
  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  try {
    if (absl::Status s = Parser(tokenizer.get()).Parse(root); !s.ok()) return s;
  } catch (const Json::exception& e) {  // a type we did not check; never expected
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", e.what()));
  }
  return tokenizer;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::filesystem::path& path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", path.string(), ": ", ec.message()));
  if (size > kMaxTokenizerJsonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), " is larger than ", kMaxTokenizerJsonBytes, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  std::string json(static_cast<size_t>(size), '\0');
  if (!in.read(json.data(), static_cast<std::streamsize>(size))) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  }
  return FromJson(json);
}

}  // namespace cai::inference
