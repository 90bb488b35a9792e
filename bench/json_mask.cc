// JSON mode's cost per token at a Llama 3-sized vocabulary (128256): JsonTokenMask::Allow, the walk
// of the vocabulary's byte trie that finds the tokens that may come next, in the states a JSON
// answer spends its tokens in, without a schema (JSON mode), with one (structured outputs) and in a
// tool call. Reference, measured in the same run: the host sampler's draw at
// Llama 3.1's defaults (temperature 0.6, top_p 0.9) on a row of the same size, which every
// host-drawn token pays anyway; JSON mode adds the mask (and a copy of the row) to it.
//
// The vocabulary is synthetic, since no 128k tokenizer ships with the repository: the 256 bytes,
// numbers, JSON punctuation runs, then pseudo-words of 2 to 12 letters with and without a leading
// space until the size is reached. Random letters share fewer prefixes than a real vocabulary's
// words do, so its trie is larger than a real one's and the figures err on the slow side.
//
//   build/bin/cai-bench-json-mask [--vocab 128256] [--calls 50]
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/stats.h"
#include "services/inference/engine/json_token_mask.h"
#include "services/inference/engine/sampler.h"
#include "services/inference/engine/tokenizer/byte_level.h"

ABSL_FLAG(int, vocab, 128256, "vocabulary size");
ABSL_FLAG(int, calls, 50, "mask computations per state");

namespace {

using Clock = std::chrono::steady_clock;
using cai::inference::JsonPrefix;


// The token byte strings of the synthetic vocabulary, in id order.
std::vector<std::string> SyntheticVocabulary(int size) {
  std::vector<std::string> tokens;
  std::set<std::string> seen;
  auto add = [&](std::string token) {
    if (static_cast<int>(tokens.size()) < size && seen.insert(token).second) tokens.push_back(std::move(token));
  };
  for (int b = 0; b < 256; ++b) add(std::string(1, static_cast<char>(b)));
  for (int n = 0; n < 1000; ++n) add(std::to_string(n));
  const std::string punctuation = "{}[]\":, \n";
  for (char a : punctuation) {
    for (char b : punctuation) {
      add(std::string{a, b});
      for (char c : punctuation) add(std::string{a, b, c});
    }
  }
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> length(2, 12), letter(0, 25), spaced(0, 1);
  while (static_cast<int>(tokens.size()) < size) {
    std::string word = spaced(gen) ? " " : "";
    for (int i = length(gen); i > 0; --i) word += static_cast<char>('a' + letter(gen));
    add(word);
  }
  return tokens;
}

std::unique_ptr<cai::inference::Tokenizer> SyntheticTokenizer(int size) {
  nlohmann::json vocab = nlohmann::json::object();
  const std::vector<std::string> tokens = SyntheticVocabulary(size);
  for (size_t id = 0; id < tokens.size(); ++id) vocab[cai::inference::ByteLevelEncode(tokens[id])] = id;
  const nlohmann::json json = {
      {"version", "1.0"},
      {"added_tokens", nlohmann::json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  auto tokenizer = cai::inference::Tokenizer::FromJson(json.dump());
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "synthetic tokenizer: %s\n", tokenizer.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(tokenizer);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int vocab = absl::GetFlag(FLAGS_vocab), calls = absl::GetFlag(FLAGS_calls);
  std::printf("command: cai-bench-json-mask --vocab %d --calls %d\n", vocab, calls);
  const auto tokenizer = SyntheticTokenizer(vocab);
  const auto build_start = Clock::now();
  const cai::inference::JsonTokenMask mask(*tokenizer);
  const double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - build_start).count();
  std::printf("vocabulary: %d tokens, trie of %zu nodes, built in %.1f ms (once per model)\n",
              tokenizer->vocab_size(), mask.nodes(), build_ms);

  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 2.5f);
  std::vector<float> logits(static_cast<size_t>(tokenizer->vocab_size()));
  for (float& x : logits) x = normal(gen);
  cai::inference::Sampler sampler({.temperature = 0.6f, .top_p = 0.9f});
  volatile int32_t sink = 0;
  const double draw = cai::bench::MedianMicros(calls, [&](int) { sink = sampler.Sample(logits); });
  std::printf("reference: host draw at temperature 0.6, top_p 0.9: %.1f us/token\n", draw);

  struct State {
    const char* name;
    const char* text;  // fed to reach the state
  };
  const State states[] = {
      {"before the object", ""},
      {"after '{' (a key or '}')", "{"},
      {"in a key", "{\"na"},
      {"after ':' (any value)", "{\"name\":"},
      {"in a string value", "{\"name\": \"Ada Love"},
      {"in a string, mid-character", "{\"name\": \"Ad\xC3"},
      {"in a string, after '\\'", "{\"name\": \"Ada\\"},
      {"in a number", "{\"n\": 12"},
      {"after a value in an array", "{\"a\": [1, 2"},
  };
  std::vector<uint8_t> allowed(static_cast<size_t>(tokenizer->vocab_size()));
  auto measure = [&](const char* name, const auto& state) {
    int64_t count = 0;
    const double us = cai::bench::MedianMicros(calls, [&](int) {
      std::fill(allowed.begin(), allowed.end(), 0);
      count = mask.Allow(state, allowed);
    });
    std::printf("%-36s %7lld tokens allowed  %8.1f us/token = %5.2fx the draw\n", name,
                static_cast<long long>(count), us, us / draw);
  };
  // Each of `list`, reached by feeding its text to a fresh make().
  auto measure_states = [&](const auto& list, const auto& make) {
    for (const State& s : list) {
      auto state = make();
      if (!state.Feed(std::string_view(s.text))) return false;
      measure(s.name, state);
    }
    return true;
  };
  if (!measure_states(states, [] { return JsonPrefix(); })) return 1;

  // Structured outputs: the same walk over JsonSchemaPrefix, whose state is larger (~300 bytes
  // against ~40) and whose property names and enum values are matched against the schema's texts.
  const std::string schema_text = R"({"type": "object", "properties": {
      "name": {"type": "string"}, "age": {"type": "integer"}, "mood": {"enum": ["calm", "cross", "sleepy"]},
      "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8}, "extra": {}},
      "required": ["name", "age", "mood"], "additionalProperties": false})";
  auto schema = cai::inference::JsonSchema::Parse(schema_text);
  if (!schema.ok()) return 1;
  std::printf("schema: %s\n", "{name: string, age: integer, mood: enum of 3, tags: [string] (8 at most), extra: any}");
  const State schema_states[] = {
      {"schema: after '{' (a property name)", "{"},
      {"schema: in a property name", "{\"na"},
      {"schema: after ':' (an enum value)", "{\"mood\":"},
      {"schema: in a free string", "{\"name\": \"Ada Love"},
      {"schema: in an integer", "{\"age\": 12"},
      {"schema: after ':' (a free value)", "{\"extra\":"},
      {"schema: after an item", "{\"tags\": [\"a\""},
  };
  if (!measure_states(schema_states, [&] { return cai::inference::JsonSchemaPrefix(**schema); })) return 1;

  // Tool calls: ToolCallPrefix around the same schema, among 16 tools. The first token under
  // tool_choice auto is the costliest draw of a reply: a call may begin, and so may any text.
  std::vector<cai::inference::ToolSet::Definition> definitions;
  for (int i = 0; i < 16; ++i) definitions.push_back({.name = "tool_" + std::to_string(i), .parameters = ""});
  definitions.push_back({.name = "describe_person", .parameters = schema_text});
  auto tools = cai::inference::ToolSet::Compile(definitions);
  if (!tools.ok()) return 1;
  std::printf("tools: 16 without parameters, and describe_person with the schema above\n");
  {
    int64_t count = 0;
    const cai::inference::ToolCallPrefix state(**tools);
    const double us = cai::bench::MedianMicros(calls, [&](int) {
      std::fill(allowed.begin(), allowed.end(), 0);
      count = mask.Allow(state, allowed) + mask.AllowTextStart(allowed);
    });
    std::printf("%-36s %7lld tokens allowed  %8.1f us/token = %5.2fx the draw\n", "tool auto: the first token",
                static_cast<long long>(count), us, us / draw);
  }
  const State tool_states[] = {
      {"tool call: in the name", "{\"name\": \"to"},
      {"tool call: arguments' property name", "{\"name\": \"describe_person\", \"parameters\": {"},
      {"tool call: arguments' free string", "{\"name\": \"describe_person\", \"parameters\": {\"name\": \"Ada"},
  };
  if (!measure_states(tool_states, [&] { return cai::inference::ToolCallPrefix(**tools); })) return 1;

  // tool_choice auto with the schema as response_format: both readings while the bytes allow.
  const State either_states[] = {
      {"call or answer: the first token", ""},
      {"call or answer: after '{\"'", "{\""},
      {"call or answer: the answer's free string", "{\"name\": \"Ada"},
  };
  const auto either = [&] {
    return cai::inference::CallOrJsonPrefix(cai::inference::ToolCallPrefix(**tools),
                                            cai::inference::JsonSchemaPrefix(**schema));
  };
  return measure_states(either_states, either) ? 0 : 1;
}
