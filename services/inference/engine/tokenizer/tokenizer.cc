#include "services/inference/engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/inference/engine/tokenizer/absl_compat.h"
#include "services/inference/engine/tokenizer/byte_level.h"
#include "services/inference/engine/tokenizer/utf8.h"

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

std::string TypeOf(const Json& object) {
  const Json* type = Field(object, "type");
  return type != nullptr && type->is_string() ? type->get<std::string>() : "<no type>";
}

// The text before trailing whitespace / the length of leading whitespace (added-token strip).
std::string_view TrimTrailingWhitespace(std::string_view s) {
  size_t pos = 0, keep = 0;
  while (pos < s.size()) {
    if (!IsUnicodeWhitespace(NextCodePoint(s, &pos))) keep = pos;
  }
  return s.substr(0, keep);
}

size_t LeadingWhitespaceBytes(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    if (!IsUnicodeWhitespace(NextCodePoint(s, &next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

// Builds a Tokenizer section by section; every unsupported construct is named in the error.
class Tokenizer::Parser {
 public:
  explicit Parser(Tokenizer* t) : t_(*t) {}

  absl::Status Parse(const Json& root) {
    if (!root.is_object()) return absl::InvalidArgumentError("tokenizer.json is not an object");
    if (const Json* normalizer = Field(root, "normalizer")) {
      return absl::UnimplementedError(
          absl::StrCat("normalizer \"", TypeOf(*normalizer), "\" is not supported"));
    }
    const Json* model = Field(root, "model");
    if (model == nullptr) return absl::InvalidArgumentError("tokenizer.json has no model");
    // Ids are dense, so none can reach the number of entries; checking early bounds memory.
    const Json* vocab = model->is_object() ? Field(*model, "vocab") : nullptr;
    const Json* added = Field(root, "added_tokens");
    id_limit_ = (vocab != nullptr ? vocab->size() : 0) + (added != nullptr ? added->size() : 0);
    if (absl::Status s = ParseModel(*model); !s.ok()) return s;
    if (absl::Status s = ParseAddedTokens(Field(root, "added_tokens")); !s.ok()) return s;
    if (absl::Status s = ParsePreTokenizer(Field(root, "pre_tokenizer")); !s.ok()) return s;
    if (absl::Status s = ParseDecoder(Field(root, "decoder")); !s.ok()) return s;
    return Finish();
  }

 private:
  absl::Status ParseModel(const Json& model) {
    if (!model.is_object()) return absl::InvalidArgumentError("model is not an object");
    std::string type = TypeOf(model);
    if (type != "BPE") {
      return absl::UnimplementedError(
          absl::StrCat("model type \"", type, "\" is not supported (only byte-level BPE)"));
    }
    absl::StatusOr<bool> byte_fallback = BoolField(model, "byte_fallback", false, "model");
    if (!byte_fallback.ok()) return byte_fallback.status();
    if (*byte_fallback) {
      return absl::UnimplementedError(
          "BPE with byte_fallback (SentencePiece layout) is not supported yet");
    }
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
    absl::StatusOr<bool> ignore_merges = BoolField(model, "ignore_merges", false, "model");
    if (!ignore_merges.ok()) return ignore_merges.status();
    t_.ignore_merges_ = *ignore_merges;

    const Json* vocab = Field(model, "vocab");
    if (vocab == nullptr || !vocab->is_object()) {
      return absl::InvalidArgumentError("model.vocab is missing or not an object");
    }
    if (vocab->size() > kMaxVocabSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.vocab has more than ", kMaxVocabSize, " entries"));
    }
    for (const auto& [token, id_json] : vocab->items()) {
      std::optional<std::string> bytes = ByteLevelDecode(token);
      if (!bytes || bytes->empty() || bytes->size() > kMaxTokenBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("vocab entry \"", token, "\" is not a byte-level token"));
      }
      absl::StatusOr<int32_t> id = AssignId(id_json, absl::StrCat("vocab entry \"", token, "\""));
      if (!id.ok()) return id.status();
      t_.token_bytes_[*id] = *bytes;
      t_.vocab_.emplace(*std::move(bytes), *id);
    }
    for (int b = 0; b < 256; ++b) {
      auto it = t_.vocab_.find(std::string(1, static_cast<char>(b)));
      if (it == t_.vocab_.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("vocab lacks the byte-level token for byte ", b));
      }
      t_.byte_ids_[b] = it->second;
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
      const Json* content = entry.is_object() ? Field(entry, "content") : nullptr;
      if (content == nullptr || !content->is_string() || content->get_ref<const std::string&>().empty() ||
          content->get_ref<const std::string&>().size() > kMaxTokenBytes) {
        return absl::InvalidArgumentError("an added token has no valid content");
      }
      AddedToken token{content->get<std::string>(), 0, false, false, false};
      std::string where = absl::StrCat("added token \"", token.content, "\"");
      absl::StatusOr<bool> special = BoolField(entry, "special", false, where);
      absl::StatusOr<bool> lstrip = BoolField(entry, "lstrip", false, where);
      absl::StatusOr<bool> rstrip = BoolField(entry, "rstrip", false, where);
      absl::StatusOr<bool> single_word = BoolField(entry, "single_word", false, where);
      for (const auto* flag : {&special, &lstrip, &rstrip, &single_word}) {
        if (!flag->ok()) return flag->status();
      }
      if (*single_word) return absl::UnimplementedError(where + ": single_word is not supported");
      token.special = *special;
      token.lstrip = *lstrip;
      token.rstrip = *rstrip;

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
        t_.token_bytes_[token.id] = token.content;
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
      return absl::InvalidArgumentError("byte-level BPE needs a ByteLevel pre_tokenizer");
    }
    std::vector<const Json*> steps;
    if (TypeOf(*pre) == "Sequence") {
      const Json* list = Field(*pre, "pretokenizers");
      if (list == nullptr || !list->is_array() || list->size() > 8) {
        return absl::InvalidArgumentError("pre_tokenizer Sequence needs 1..8 pretokenizers");
      }
      for (const Json& step : *list) steps.push_back(&step);
    } else {
      steps.push_back(pre);
    }
    if (steps.empty() || TypeOf(*steps.back()) != "ByteLevel") {
      return absl::UnimplementedError("the pre_tokenizer must end with ByteLevel");
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      const Json& step = *steps[i];
      std::string type = TypeOf(step);
      if (type == "ByteLevel" && i + 1 == steps.size()) {
        if (absl::Status s = ParseByteLevel(step); !s.ok()) return s;
      } else if (type == "Split") {
        if (absl::Status s = ParseSplit(step); !s.ok()) return s;
      } else {
        return absl::UnimplementedError(
            absl::StrCat("pre_tokenizer \"", type, "\" is not supported here"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseByteLevel(const Json& step) {
    absl::StatusOr<bool> prefix = BoolField(step, "add_prefix_space", false, "ByteLevel");
    absl::StatusOr<bool> use_regex = BoolField(step, "use_regex", true, "ByteLevel");
    if (!prefix.ok()) return prefix.status();
    if (!use_regex.ok()) return use_regex.status();
    if (*prefix) return absl::UnimplementedError("ByteLevel add_prefix_space is not supported");
    return *use_regex ? AddSplit(kGpt2SplitPattern) : absl::OkStatus();
  }

  absl::Status ParseSplit(const Json& step) {
    const Json* pattern = Field(step, "pattern");
    const Json* regex = pattern != nullptr && pattern->is_object() ? Field(*pattern, "Regex") : nullptr;
    if (regex == nullptr || !regex->is_string()) {
      return absl::UnimplementedError("Split is supported only with a {\"Regex\": ...} pattern");
    }
    const Json* behavior = Field(step, "behavior");
    if (behavior == nullptr || !behavior->is_string() || behavior->get<std::string>() != "Isolated") {
      return absl::UnimplementedError("Split is supported only with behavior \"Isolated\"");
    }
    absl::StatusOr<bool> invert = BoolField(step, "invert", false, "Split");
    if (!invert.ok()) return invert.status();
    if (*invert) return absl::UnimplementedError("Split with invert: true is not supported");
    return AddSplit(regex->get_ref<const std::string&>());
  }

  absl::Status AddSplit(std::string_view pattern) {
    absl::StatusOr<std::unique_ptr<SplitRegex>> regex = SplitRegex::Compile(pattern);
    if (!regex.ok()) return regex.status();
    t_.splits_.push_back(*std::move(regex));
    return absl::OkStatus();
  }

  absl::Status ParseDecoder(const Json* decoder) {
    std::string type = decoder == nullptr ? "<none>" : TypeOf(*decoder);
    if (type != "ByteLevel") {
      return absl::UnimplementedError(
          absl::StrCat("decoder \"", type, "\" is not supported (only ByteLevel)"));
    }
    return absl::OkStatus();
  }

  // Ids must be dense so that vocab_size() is exact and every id has a spelling.
  absl::Status Finish() {
    for (size_t id = 0; id < assigned_.size(); ++id) {
      if (!assigned_[id]) {
        return absl::InvalidArgumentError(absl::StrCat("token id ", id, " is not assigned"));
      }
    }
    t_.special_.assign(t_.token_bytes_.size(), false);
    for (const AddedToken& token : t_.added_) {
      if (token.special) t_.special_[token.id] = true;
      t_.added_by_first_byte_[static_cast<uint8_t>(token.content[0])].push_back(&token);
    }
    for (auto& list : t_.added_by_first_byte_) {
      std::sort(list.begin(), list.end(), [](const AddedToken* a, const AddedToken* b) {
        return a->content.size() != b->content.size() ? a->content.size() > b->content.size()
                                                      : a->id < b->id;
      });
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int32_t> AssignId(const Json& id_json, std::string_view where) {
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 ||
        id_json.get<int64_t>() >= static_cast<int64_t>(std::min(id_limit_, kMaxVocabSize + kMaxAddedTokens))) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(where), " has an id out of range (ids are dense and below ",
                       std::min(id_limit_, kMaxVocabSize + kMaxAddedTokens), ")"));
    }
    size_t id = id_json.get<size_t>();
    if (id >= assigned_.size()) {
      assigned_.resize(id + 1, false);
      t_.token_bytes_.resize(id + 1);
    }
    if (assigned_[id]) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(where), " reuses id ", id));
    }
    assigned_[id] = true;
    return static_cast<int32_t>(id);
  }

  std::optional<int32_t> VocabId(std::string_view byte_level_token) const {
    std::optional<std::string> bytes = ByteLevelDecode(byte_level_token);
    if (!bytes) return std::nullopt;
    auto it = t_.vocab_.find(*bytes);
    return it == t_.vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
  }

  Tokenizer& t_;
  size_t id_limit_ = 0;
  std::vector<bool> assigned_;
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

std::optional<Tokenizer::Match> Tokenizer::FindAddedToken(std::string_view text, size_t from,
                                                          bool allow_special) const {
  if (added_.empty()) return std::nullopt;
  for (size_t i = from; i < text.size(); ++i) {
    for (const AddedToken* token : added_by_first_byte_[static_cast<uint8_t>(text[i])]) {
      if ((allow_special || !token->special) && text.substr(i).starts_with(token->content)) {
        return Match{i, i + token->content.size(), token};
      }
    }
  }
  return std::nullopt;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool allow_special) const {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (true) {
    std::optional<Match> match = FindAddedToken(text, pos, allow_special);
    std::string_view ordinary = text.substr(pos, (match ? match->begin : text.size()) - pos);
    if (match && match->token->lstrip) ordinary = TrimTrailingWhitespace(ordinary);
    EncodeOrdinary(ordinary, &ids);
    if (!match) break;
    ids.push_back(match->token->id);
    pos = match->end;
    if (match->token->rstrip) pos += LeadingWhitespaceBytes(text.substr(pos));
  }
  return ids;
}

void Tokenizer::EncodeOrdinary(std::string_view text, std::vector<int32_t>* out) const {
  if (text.empty()) return;
  std::vector<std::string_view> pieces{text}, next;
  for (const auto& split : splits_) {
    next.clear();
    for (std::string_view piece : pieces) split->Split(piece, &next);
    pieces.swap(next);
  }
  for (std::string_view piece : pieces) EncodePiece(piece, out);
}

void Tokenizer::EncodePiece(std::string_view piece, std::vector<int32_t>* out) const {
  if (ignore_merges_ || piece.size() == 1) {
    if (auto it = vocab_.find(ToAbsl(piece)); it != vocab_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(piece.size());
  for (char c : piece) symbols.push_back(byte_ids_[static_cast<uint8_t>(c)]);
  merges_.Apply(&symbols);
  out->insert(out->end(), symbols.begin(), symbols.end());
}

std::string Tokenizer::TokenBytes(int32_t id) const {
  return id >= 0 && id < vocab_size() ? token_bytes_[id] : std::string();
}

std::string Tokenizer::Decode(std::span<const int32_t> ids) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id >= 0 && id < vocab_size()) bytes += token_bytes_[id];
  }
  std::string text;
  AppendUtf8Lossy(bytes, /*final=*/true, &text);
  return text;
}

std::optional<int32_t> Tokenizer::TokenId(std::string_view token) const {
  if (auto it = added_by_content_.find(ToAbsl(token)); it != added_by_content_.end()) return it->second;
  std::optional<std::string> bytes = ByteLevelDecode(token);
  if (!bytes) return std::nullopt;
  auto it = vocab_.find(*bytes);
  return it == vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
}

}  // namespace cai::inference
