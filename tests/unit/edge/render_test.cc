#include "services/edge/openai/render.h"

#include <gtest/gtest.h>

#include "services/edge/openai/query.h"

namespace cai::openai {
namespace {

const ResponseHeader kHeader{.id = "chatcmpl-0123", .created = 1700000000, .model = "llama"};

TEST(Render, ChatCompletionBytes) {
  EXPECT_EQ(RenderCompletion(Api::kChat, kHeader, "Hi \"there\"\n", FinishReason::kStop, {7, 3}),
            R"({"id":"chatcmpl-0123","object":"chat.completion","created":1700000000,"model":"llama",)"
            R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\"\n"},)"
            R"("logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}})");
}

TEST(Render, TextCompletionBytes) {
  const ResponseHeader header{.id = "cmpl-1", .created = 5, .model = "m"};
  EXPECT_EQ(RenderCompletion(Api::kText, header, "é", FinishReason::kLength, {1, 2}),
            R"({"id":"cmpl-1","object":"text_completion","created":5,"model":"m",)"
            R"("choices":[{"index":0,"text":"é","logprobs":null,"finish_reason":"length"}],)"
            R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})");
}

TEST(Render, ChatStreamEventsWithUsage) {
  const std::string prefix = R"(data: {"id":"chatcmpl-0123","object":"chat.completion.chunk","created":1700000000,"model":"llama",)";
  EXPECT_EQ(RoleEvent(kHeader, true),
            prefix + R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null})" "\n\n");
  EXPECT_EQ(ContentEvent(Api::kChat, kHeader, "Hel", true),
            prefix + R"("choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null})" "\n\n");
  EXPECT_EQ(FinishEvent(Api::kChat, kHeader, FinishReason::kStop, true),
            prefix + R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null})" "\n\n");
  EXPECT_EQ(UsageEvent(Api::kChat, kHeader, {4, 2}),
            prefix + R"("choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}})" "\n\n");
  EXPECT_EQ(kDoneEvent, "data: [DONE]\n\n");
}

TEST(Render, ChatStreamEventsWithoutUsageOmitTheField) {
  EXPECT_EQ(ContentEvent(Api::kChat, kHeader, "x", false),
            R"(data: {"id":"chatcmpl-0123","object":"chat.completion.chunk","created":1700000000,"model":"llama",)"
            R"("choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]})" "\n\n");
}

TEST(Render, TextStreamEvents) {
  const ResponseHeader header{.id = "cmpl-1", .created = 5, .model = "m"};
  EXPECT_EQ(ContentEvent(Api::kText, header, "ab", false),
            R"(data: {"id":"cmpl-1","object":"text_completion","created":5,"model":"m",)"
            R"("choices":[{"index":0,"text":"ab","logprobs":null,"finish_reason":null}]})" "\n\n");
  EXPECT_EQ(FinishEvent(Api::kText, header, FinishReason::kLength, false),
            R"(data: {"id":"cmpl-1","object":"text_completion","created":5,"model":"m",)"
            R"("choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length"}]})" "\n\n");
}

// Two tokens: "Hi" and the first byte of "é" (partial UTF-8, shown as U+FFFD with its raw byte).
Logprobs TwoTokens() {
  Logprobs logprobs;
  logprobs.tokens.push_back({.token = "Hi", .logprob = -0.25f, .bytes = "Hi",
                             .top_logprobs = {{.token = "Hi", .logprob = -0.25f, .bytes = "Hi"},
                                              {.token = "Ho", .logprob = -1.5f, .bytes = "Ho"}}});
  logprobs.tokens.push_back({.token = "\xEF\xBF\xBD", .logprob = -9999.0f, .bytes = "\xC3", .top_logprobs = {}});
  return logprobs;
}

TEST(Render, ChatLogprobsAndChoicesBytes) {
  std::vector<Choice> choices = {
      {.index = 0, .text = "Hi", .finish = FinishReason::kStop, .logprobs = TwoTokens(), .tool_call = std::nullopt},
      {.index = 1, .text = "", .finish = FinishReason::kLength, .logprobs = Logprobs{}, .tool_call = std::nullopt}};
  EXPECT_EQ(RenderCompletion(Api::kChat, kHeader, choices, {7, 3}),
            R"({"id":"chatcmpl-0123","object":"chat.completion","created":1700000000,"model":"llama","choices":[)"
            R"({"index":0,"message":{"role":"assistant","content":"Hi"},"logprobs":{"content":[)"
            R"({"token":"Hi","logprob":-0.25,"bytes":[72,105],"top_logprobs":[)"
            R"({"token":"Hi","logprob":-0.25,"bytes":[72,105]},{"token":"Ho","logprob":-1.5,"bytes":[72,111]}]},)"
            R"({"token":"�","logprob":-9999.0,"bytes":[195],"top_logprobs":[]}],"refusal":null},)"
            "\"finish_reason\":\"stop\"},"
            R"({"index":1,"message":{"role":"assistant","content":""},"logprobs":{"content":[],"refusal":null},)"
            R"("finish_reason":"length"}],)"
            R"("usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}})");
}

TEST(Render, FloatsPrintShortest) {
  Logprobs logprobs;
  logprobs.tokens.push_back({.token = "a", .logprob = -0.31725305f, .bytes = "a", .top_logprobs = {}});
  std::string event = ContentEvent(Api::kChat, kHeader, "a", false, 0, &logprobs);
  EXPECT_NE(event.find(R"("logprob":-0.31725305,)"), std::string::npos) << event;
}

TEST(Render, ChatStreamEventsOfOtherChoices) {
  const std::string prefix = R"(data: {"id":"chatcmpl-0123","object":"chat.completion.chunk","created":1700000000,"model":"llama",)";
  EXPECT_EQ(RoleEvent(kHeader, false, 2),
            prefix + R"("choices":[{"index":2,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})" "\n\n");
  Logprobs one;
  one.tokens.push_back({.token = "Hi", .logprob = -0.5f, .bytes = "Hi", .top_logprobs = {}});
  EXPECT_EQ(ContentEvent(Api::kChat, kHeader, "Hi", false, 1, &one),
            prefix + R"("choices":[{"index":1,"delta":{"content":"Hi"},"logprobs":{"content":[)"
                     R"({"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[]}],"refusal":null},)"
                     R"("finish_reason":null}]})" "\n\n");
  EXPECT_EQ(FinishEvent(Api::kChat, kHeader, FinishReason::kLength, false, 1),
            prefix + R"("choices":[{"index":1,"delta":{},"logprobs":null,"finish_reason":"length"}]})" "\n\n");
}

TEST(Render, TextCompletionLegacyLogprobs) {
  const ResponseHeader header{.id = "cmpl-1", .created = 5, .model = "m"};
  Logprobs logprobs = TwoTokens();
  logprobs.text_offset = 4;
  EXPECT_EQ(ContentEvent(Api::kText, header, "Hi", false, 1, &logprobs),
            R"(data: {"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[{"index":1,"text":"Hi",)"
            R"("logprobs":{"tokens":["Hi","�"],"token_logprobs":[-0.25,-9999.0],)"
            R"("top_logprobs":[{"Hi":-0.25,"Ho":-1.5},{}],"text_offset":[4,6]},"finish_reason":null}]})" "\n\n");
  EXPECT_EQ(CountChars("h\xC3\xA9\xE2\x82\xAC"), 3);
}

// An echoed prompt's first token has no logprob: null, and null alternatives (as OpenAI and vLLM).
TEST(Render, TextCompletionEchoedFirstTokenIsNull) {
  const ResponseHeader header{.id = "cmpl-1", .created = 5, .model = "m"};
  Logprobs logprobs;
  logprobs.tokens.push_back({.token = "<s>", .logprob = std::nullopt, .bytes = "<s>", .top_logprobs = {}});
  logprobs.tokens.push_back({.token = "Hi", .logprob = -2.5f, .bytes = "Hi",
                             .top_logprobs = {{.token = "Ho", .logprob = -0.5f, .bytes = "Ho"}}});
  const std::vector<Choice> choices = {
      {.index = 0, .text = "Hi", .finish = FinishReason::kLength, .logprobs = logprobs, .tool_call = std::nullopt}};
  EXPECT_EQ(RenderCompletion(Api::kText, header, choices, {.prompt_tokens = 2, .completion_tokens = 0}),
            R"({"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[{"index":0,"text":"Hi",)"
            R"("logprobs":{"tokens":["<s>","Hi"],"token_logprobs":[null,-2.5],"top_logprobs":[null,{"Ho":-0.5}],)"
            R"("text_offset":[0,3]},"finish_reason":"length"}],)"
            R"("usage":{"prompt_tokens":2,"completion_tokens":0,"total_tokens":2}})");
}

const ToolCall kCall{.id = "call_abc", .name = "get_weather", .arguments = R"({"city": "Paris"})"};

// A choice that called a tool: content null, the call as OpenAI writes it, beside a choice of text.
TEST(Render, ChatToolCallMessageBytes) {
  std::vector<Choice> choices = {
      {.index = 0, .text = "", .finish = FinishReason::kToolCalls, .logprobs = std::nullopt, .tool_call = kCall},
      {.index = 1, .text = "Sunny.", .finish = FinishReason::kStop, .logprobs = std::nullopt, .tool_call = std::nullopt}};
  EXPECT_EQ(RenderCompletion(Api::kChat, kHeader, choices, {7, 3}),
            R"({"id":"chatcmpl-0123","object":"chat.completion","created":1700000000,"model":"llama","choices":[)"
            R"({"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc",)"
            R"("type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]},)"
            R"("logprobs":null,"finish_reason":"tool_calls"},)"
            R"({"index":1,"message":{"role":"assistant","content":"Sunny."},"logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}})");
}

TEST(Render, ChatToolCallStreamEventsBytes) {
  const std::string prefix = R"(data: {"id":"chatcmpl-0123","object":"chat.completion.chunk","created":1700000000,"model":"llama",)";
  EXPECT_EQ(ToolCallStartEvent(kHeader, {.id = "call_abc", .name = "get_weather", .arguments = ""}, false),
            prefix + R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_abc","type":"function",)"
                     R"("function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]})" "\n\n");
  EXPECT_EQ(ToolCallStartEvent(kHeader, kCall, true, 2),
            prefix + R"("choices":[{"index":2,"delta":{"tool_calls":[{"index":0,"id":"call_abc","type":"function",)"
                     R"("function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]},"logprobs":null,)"
                     R"("finish_reason":null}],"usage":null})" "\n\n");
  Logprobs one;
  one.tokens.push_back({.token = "\"}", .logprob = -0.5f, .bytes = "\"}", .top_logprobs = {}});
  EXPECT_EQ(ToolCallArgumentsEvent(kHeader, "\"}", false, 1, &one),
            prefix + R"("choices":[{"index":1,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"}"}}]},)"
                     R"("logprobs":{"content":[{"token":"\"}","logprob":-0.5,"bytes":[34,125],"top_logprobs":[]}],)"
                     R"("refusal":null},"finish_reason":null}]})" "\n\n");
  EXPECT_EQ(FinishEvent(Api::kChat, kHeader, FinishReason::kToolCalls, false),
            prefix + R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]})" "\n\n");
}

TEST(Render, InvalidUtf8IsReplacedNotFatal) {
  std::string event = ContentEvent(Api::kChat, kHeader, "\xff", false);
  EXPECT_NE(event.find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(Render, ErrorObject) {
  EXPECT_EQ(RenderError(InvalidRequest("bad", "temperature")),
            R"({"error":{"message":"bad","type":"invalid_request_error","param":"temperature","code":null}})");
  EXPECT_EQ(ErrorEvent(ApiError{.status = 500, .type = "server_error", .message = "x", .param = "", .code = "c"}),
            "data: {\"error\":{\"message\":\"x\",\"type\":\"server_error\",\"param\":null,\"code\":\"c\"}}\n\n");
}

TEST(Query, DecodesAndKeepsFirst) {
  auto params = ParseQuery("nonce=ab%2Fcd&model=a+b&nonce=second&flag&%zz=1&=empty");
  EXPECT_EQ(params["nonce"], "ab/cd");
  EXPECT_EQ(params["model"], "a b");
  EXPECT_EQ(params["flag"], "");
  EXPECT_EQ(params["%zz"], "1");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("a+b%2B", PlusSign::kLiteral), "a+b+");
  EXPECT_EQ(QueryValue(params, "model"), "a b");
  EXPECT_EQ(QueryValue(params, "absent"), "");
}

TEST(Query, BoundsTheNumberOfParams) {
  std::string query;
  for (int i = 0; i < 100; ++i) query += "k" + std::to_string(i) + "=v&";
  EXPECT_EQ(ParseQuery(query).size(), kMaxQueryParams);
}

}  // namespace
}  // namespace cai::openai
