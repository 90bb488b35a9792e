// A command-line bridge for the Hugging Face conformance test (test_hf_tokenizers.py):
//   tokenizer_tool train CORPUS_FILE NUM_MERGES OUT_JSON   trains with the Llama 3 specials
//   tokenizer_tool encode TOKENIZER_JSON ALLOW_SPECIAL     reads a JSON array of strings on
//                                                          stdin, prints a JSON array of id lists
//   tokenizer_tool render                                  reads a JSON array of Llama 3 chats
//     ({"messages": [{"role", "content", "tool_calls": [{"name", "arguments": JSON text}]}],
//     "tools": [{"name", "description"?, "parameters": JSON text}]}) on stdin, prints a JSON
//     array of their prompts (with the generation prompt), or {"error": message} for each refused
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "services/inference/engine/tokenizer/bpe_trainer.h"
#include "services/inference/engine/tokenizer/chat_template.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "tokenizer_tool: %s\n", message.c_str());
  return 1;
}

int Train(const char* corpus_path, const char* merges, const char* out_path) {
  std::ifstream in(corpus_path, std::ios::binary);
  std::string corpus((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto json = cai::inference::TrainByteLevelBpeTokenizerJson(
      corpus, std::atoi(merges),
      {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
       "<|eot_id|>"});
  if (!json.ok()) return Fail(json.status().ToString());
  std::ofstream(out_path, std::ios::binary) << *json;
  return 0;
}

int Encode(const char* tokenizer_path, const char* allow_special) {
  auto tokenizer = cai::inference::Tokenizer::FromFile(tokenizer_path);
  if (!tokenizer.ok()) return Fail(tokenizer.status().ToString());
  nlohmann::json texts = nlohmann::json::parse(std::cin, nullptr, /*allow_exceptions=*/false);
  if (!texts.is_array()) return Fail("stdin is not a JSON array");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& text : texts) {
    if (!text.is_string()) return Fail("stdin holds a non-string");
    out.push_back((*tokenizer)->Encode(text.get<std::string>(), std::string(allow_special) == "1"));
  }
  std::cout << out.dump() << "\n";
  return 0;
}

int Render() {
  using cai::inference::ChatMessage;
  using cai::inference::ChatTool;
  nlohmann::json chats = nlohmann::json::parse(std::cin, nullptr, /*allow_exceptions=*/false);
  if (!chats.is_array()) return Fail("stdin is not a JSON array");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& chat : chats) {
    std::vector<ChatMessage> messages;
    for (const auto& m : chat.at("messages")) {
      ChatMessage message{.role = m.at("role"), .content = m.value("content", "")};
      for (const auto& call : m.value("tool_calls", nlohmann::json::array())) {
        message.tool_calls.push_back({.name = call.at("name"), .arguments = call.at("arguments")});
      }
      messages.push_back(std::move(message));
    }
    std::vector<ChatTool> tools;
    for (const auto& tool : chat.value("tools", nlohmann::json::array())) {
      tools.push_back({.name = tool.at("name"),
                       .description = tool.contains("description") ? std::optional<std::string>(tool.at("description"))
                                                                   : std::nullopt,
                       .parameters = tool.at("parameters")});
    }
    auto rendered = cai::inference::RenderChat(cai::inference::ChatTemplateKind::kLlama3, messages,
                                               /*add_generation_prompt=*/true, tools);
    if (rendered.ok()) {
      out.push_back(rendered->Text());
    } else {
      out.push_back({{"error", std::string(rendered.status().message())}});
    }
  }
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "train" && argc == 5) return Train(argv[2], argv[3], argv[4]);
  if (command == "encode" && argc == 4) return Encode(argv[2], argv[3]);
  if (command == "render" && argc == 2) return Render();
  return Fail("usage: train CORPUS NUM_MERGES OUT_JSON | encode TOKENIZER_JSON 0|1 | render");
}
