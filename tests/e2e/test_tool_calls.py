"""Tool calls (tools, tool_choice) through the whole stack, with the official OpenAI SDK: the calls
the demo model is made to write, streamed and not, signed, and sent back with their results."""
import json

import openai
import pydantic
import pytest

from conftest import recording_client
from test_chat_roundtrip import check_signatures
from test_json_mode import closing_bias, token_id


def call_bias(stack):
    """closing_bias with '"' on top: the demo model's random text then ends each string at once
    (inside one, ']' and '}' are just characters), and each object as soon as the schema lets it."""
    return {**closing_bias(stack), str(token_id(stack, '"')): 60}

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string", "enum": ["Paris", "Rome"]},
                                      "unit": {"enum": ["C", "F"]}},
                       "required": ["city"], "additionalProperties": False}}},
    # Not strict: maxLength is ignored (shown to the model, not enforced), the shape is kept.
    {"type": "function", "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string", "maxLength": 8}},
                       "required": ["zone"], "additionalProperties": False}}},
]
MESSAGES = [{"role": "user", "content": "Weather in Paris?"}]


def client(stack):
    return openai.OpenAI(base_url=stack.url + "/v1", api_key=stack.api_key, max_retries=0)


def check_call(call):
    """A call the tools' schemas admit, as a client would read it."""
    assert call.type == "function"
    assert call.id.startswith("call_") and len(call.id) > len("call_")
    arguments = json.loads(call.function.arguments)
    if call.function.name == "get_weather":
        assert arguments["city"] in ("Paris", "Rome") and set(arguments) <= {"city", "unit"}, arguments
        assert arguments.get("unit", "C") in ("C", "F"), arguments
    else:
        assert call.function.name == "get_time"
        assert set(arguments) == {"zone"} and isinstance(arguments["zone"], str), arguments
    return arguments


def test_required_makes_one_signed_call_per_choice(stack):
    c, transport = recording_client(stack)
    r = c.chat.completions.create(model=stack.model, messages=MESSAGES, tools=TOOLS, tool_choice="required", n=3,
                                  seed=5, temperature=1.0, max_tokens=120, logit_bias=call_bias(stack))
    assert len(r.choices) == 3
    for choice in r.choices:
        assert choice.finish_reason == "tool_calls", choice.message
        assert choice.message.content is None
        assert len(choice.message.tool_calls) == 1
        check_call(choice.message.tool_calls[0])
    ids = {choice.message.tool_calls[0].id for choice in r.choices}
    assert len(ids) == 3, "each call has its own id"
    exchange = transport.exchanges[-1]
    check_signatures(stack, r.id, exchange["request"], bytes(exchange["response"]))


def test_a_named_function_is_called_and_finishes_as_stop(stack):
    # OpenAI answers a forced function with finish_reason "stop", not "tool_calls".
    r = client(stack).chat.completions.create(
        model=stack.model, messages=MESSAGES, tools=TOOLS, seed=2, max_tokens=120, logit_bias=call_bias(stack),
        tool_choice={"type": "function", "function": {"name": "get_time"}})
    choice = r.choices[0]
    assert choice.finish_reason == "stop"
    assert [call.function.name for call in choice.message.tool_calls] == ["get_time"]
    check_call(choice.message.tool_calls[0])


def test_the_sdk_stream_helper_assembles_the_same_call(stack):
    c = client(stack)
    kwargs = dict(model=stack.model, messages=MESSAGES, tools=TOOLS, tool_choice="required", seed=9, temperature=1.0,
                  max_tokens=120, logit_bias=call_bias(stack))
    whole = c.chat.completions.create(**kwargs)
    with c.chat.completions.stream(**kwargs) as stream:
        names = [event.name for event in stream if event.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    expected = whole.choices[0].message.tool_calls[0]
    assert names == [expected.function.name]
    assert (streamed.function.name, streamed.function.arguments) == (expected.function.name,
                                                                      expected.function.arguments)
    assert final.choices[0].finish_reason == "tool_calls"
    check_call(streamed)

    raw = list(c.chat.completions.create(**kwargs, stream=True))
    deltas = [ch.choices[0].delta.tool_calls[0] for ch in raw if ch.choices and ch.choices[0].delta.tool_calls]
    assert deltas[0].id.startswith("call_") and deltas[0].function.name == expected.function.name
    assert all(d.id is None and d.function.name is None for d in deltas[1:]), "id and name come once"
    assert "".join(d.function.arguments for d in deltas) == expected.function.arguments

    # With logprobs every token of the call rides on a tool-call chunk, even one that is only the
    # call's closing brace: no content chunk follows the role's.
    with_logprobs = [ch for ch in c.chat.completions.create(**kwargs, stream=True, logprobs=True) if ch.choices]
    content_chunks = [ch for ch in with_logprobs[1:] if ch.choices[0].delta.content is not None]
    assert content_chunks == []
    tokens = sum(len(ch.choices[0].logprobs.content) for ch in with_logprobs if ch.choices[0].logprobs)
    assert tokens == whole.usage.completion_tokens - 1, "each token but the stop token"


def test_auto_is_text_or_a_call_as_the_model_begins(stack):
    c = client(stack)
    # '{' far on top makes the reply begin with one, so it is a call; get_weather's arguments are enum
    # values only, where '{' cannot come, so the boost does not keep the call from ending.
    brace = c.chat.completions.create(model=stack.model, messages=MESSAGES, tools=TOOLS[:1], seed=1, max_tokens=120,
                                      logit_bias={**call_bias(stack), str(token_id(stack, "{")): 100})
    assert brace.choices[0].finish_reason == "tool_calls"
    check_call(brace.choices[0].message.tool_calls[0])

    text = c.chat.completions.create(model=stack.model, messages=MESSAGES, tools=TOOLS, tool_choice="auto", seed=1,
                                     max_tokens=4, logit_bias={str(token_id(stack, "x")): 100})
    assert text.choices[0].message.content == "xxxx"
    assert text.choices[0].message.tool_calls is None
    assert text.choices[0].finish_reason == "length"


def test_a_call_and_its_result_go_back_to_the_model(stack):
    c = client(stack)
    first = c.chat.completions.create(model=stack.model, messages=MESSAGES, tools=TOOLS, tool_choice="required",
                                      seed=5, max_tokens=120, logit_bias=call_bias(stack))
    call = first.choices[0].message.tool_calls[0]
    history = MESSAGES + [first.choices[0].message.model_dump(exclude_none=True),
                          {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18}'}]
    second = c.chat.completions.create(model=stack.model, messages=history, tools=TOOLS, tool_choice="none", seed=5,
                                       max_tokens=6)
    assert second.choices[0].message.tool_calls is None
    assert second.choices[0].message.content
    assert second.usage.prompt_tokens > first.usage.prompt_tokens
    # The model reads the call's arguments and the result: longer ones make a longer prompt.
    longer_result = history[:-1] + [{**history[-1], "content": '{"temp_c": 18, "sky": "clear and blue"}'}]
    longer_call = [*history[:1], {**history[1], "tool_calls": [{**history[1]["tool_calls"][0], "function": {
        "name": call.function.name, "arguments": json.dumps({**json.loads(call.function.arguments), "x": "y" * 40})}}]},
        *history[2:]]
    for changed in (longer_result, longer_call):
        r = c.chat.completions.create(model=stack.model, messages=changed, tools=TOOLS, tool_choice="none",
                                      max_tokens=1)
        assert r.usage.prompt_tokens > second.usage.prompt_tokens


def test_a_schema_the_engine_cannot_take_still_gets_an_object_unless_strict(stack):
    # Not strict: held to any JSON object (OpenAI promises nothing more for such a tool).
    loose = {"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "allOf": [{"properties": {"q": {"type": "string"}}}]}}}
    r = client(stack).chat.completions.create(model=stack.model, messages=MESSAGES, tools=[loose],
                                              tool_choice="required", seed=4, max_tokens=60,
                                              logit_bias=call_bias(stack))
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls", call.function.arguments
    assert isinstance(json.loads(call.function.arguments), dict)
    strict = {"type": "function", "function": {**loose["function"], "strict": True}}
    with pytest.raises(openai.BadRequestError) as error:
        client(stack).chat.completions.create(model=stack.model, messages=MESSAGES, tools=[strict], max_tokens=4)
    assert "'allOf' is not supported" in error.value.message


class Answer(pydantic.BaseModel):
    answer: str
    sure: bool


def test_tools_and_an_output_type_give_a_call_or_the_answer(stack):
    # What the OpenAI Agents SDK sends for an agent with tools and a structured output type: each
    # reply is one call or one answer that parses, never a mix.
    strict_weather = {"type": "function", "function": {**TOOLS[0]["function"], "strict": True}}  # parse() wants it
    r = client(stack).chat.completions.parse(
        model=stack.model, messages=MESSAGES, tools=[strict_weather], response_format=Answer, n=8, seed=11,
        temperature=1.0, max_tokens=120, logit_bias=call_bias(stack))
    kinds = set()
    for choice in r.choices:
        if choice.message.tool_calls:
            kinds.add("call")
            assert choice.finish_reason == "tool_calls" and choice.message.content is None
            check_call(choice.message.tool_calls[0])
        else:
            kinds.add("answer")
            assert choice.finish_reason == "stop", choice.message.content
            assert isinstance(choice.message.parsed, Answer), choice.message.content
    assert kinds == {"call", "answer"}, "both kinds of reply come, each whole"


class GetWeather(pydantic.BaseModel):
    city: str
    days: int


def test_parse_gives_pydantic_arguments_of_a_strict_tool(stack):
    r = client(stack).chat.completions.parse(
        model=stack.model, messages=MESSAGES, tools=[openai.pydantic_function_tool(GetWeather)], seed=3,
        temperature=1.0, max_tokens=160, logit_bias=call_bias(stack), tool_choice="required")
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls", call.function.arguments
    assert isinstance(call.function.parsed_arguments, GetWeather)
    assert GetWeather.model_validate_json(call.function.arguments) == call.function.parsed_arguments


@pytest.mark.parametrize("change, param, words", [
    ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice.function.name", "nope"),
    ({"tools": [{"type": "function", "function": {
        "name": "f", "strict": True,
        "parameters": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}}}]},
     None, "'minimum' is not supported"),
    ({"messages": [{"role": "assistant", "content": "Hi"}]}, None, "must be a user message"),
])
def test_requests_the_service_cannot_honour_are_refused(stack, change, param, words):
    kwargs = dict(model=stack.model, messages=MESSAGES, tools=TOOLS, max_tokens=4)
    kwargs.update(change)
    with pytest.raises(openai.BadRequestError) as error:
        client(stack).chat.completions.create(**kwargs)
    assert words in error.value.message, error.value.message
    if param is not None:
        assert error.value.body.get("param") == param, error.value.body
