"""cai's Llama 3.1 chat template against the real Jinja template, rendered as Hugging Face's
apply_chat_template renders it, on random tool conversations.

The golden cases (chat_cases.json) pin two tool conversations byte for byte; this widens them to
whatever a client may send: tool schemas with floats of every magnitude, non-ASCII keys and values,
control characters, nested and empty containers, key orders that are not sorted; calls with such
arguments, some with a key repeated (as a model writing a free object may send one back); tool
results with quotes and newlines; contents with whitespace to trim. Needs jinja2 in
the test venv and CAI_TOKENIZER_TOOL set by CTest.
"""
import json
import os
import pathlib
import random
import subprocess


import jinja2  # in tests/requirements.txt: its absence must fail, not skip
from jinja2.sandbox import ImmutableSandboxedEnvironment

TOOL = os.environ.get("CAI_TOKENIZER_TOOL", "")
TEMPLATE = pathlib.Path(__file__).resolve().parents[2] / "golden" / "templates" / "llama3.1.jinja"


def hf_environment():
    """The environment transformers compiles chat templates in: trim_blocks, lstrip_blocks, the
    loopcontrols extension, `tojson` as json.dumps without ASCII escaping or key sorting, and a
    raise_exception global."""
    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


WORDS = ["city", "zeta", "alpha", "Größe", "名前", "a b", "q\"uote", "back\\slash", "tab\there", "nl\nx", "\u2028",
         "ctl\u0001", "😀", "", "<|eot_id|>"]
FLOATS = [0.1, 2.5, -0.0, 1e-05, 0.0001, 1e16, 1e15, 123456789.125, 1.7976931348623157e308, 5e-324, 1e-7,
          0.30000000000000004, -12345678901234567890.0, 100.0, 3.0]
INTS = [0, -1, 7, 9007199254740993, -9223372036854775808, 18446744073709551615]


def random_value(rng, depth=0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice(FLOATS)
    if kind == 1:
        return rng.choice(INTS)
    if kind == 2:
        return rng.choice(WORDS)
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.choice([{}, []])
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(WORDS) + str(i): random_value(rng, depth + 1) for i in range(rng.randrange(4))}


def random_text(rng):
    return rng.choice(["", " ", "\n\t "]) + " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 5))) + \
        rng.choice(["", "  ", "\n", "\u3000"])


def random_chat(rng):
    tools = []
    for i in range(rng.randrange(1, 4)):
        function = {"name": f"tool_{i}"}
        if rng.random() < 0.7:
            function["description"] = random_text(rng)
        if rng.random() < 0.8:
            function["parameters"] = {"type": "object", "properties": random_value(rng, 1) or {"x": {}},
                                      "required": [rng.choice(WORDS)]}
        tools.append({"type": "function", "function": function})
    messages = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": random_text(rng)})
    messages.append({"role": "user", "content": random_text(rng)})
    for _ in range(rng.randrange(3)):
        arguments = {rng.choice(WORDS): random_value(rng, 1) for _ in range(rng.randrange(3))}
        function = {"name": rng.choice(tools)["function"]["name"], "arguments": arguments}
        if arguments and rng.random() < 0.3:
            # A model writing a free object may repeat a key; the client sends that text back, and
            # Python's json.loads keeps the last value at the first key's place.
            first = next(iter(arguments))
            text = json.dumps(arguments)[:-1] + ", " + json.dumps(first) + ": " + json.dumps(random_value(rng, 1)) + "}"
            function = {**function, "arguments": json.loads(text), "arguments_text": text}
        messages.append({"role": "assistant", "tool_calls": [{"type": "function", "function": function}]})
        messages.append({"role": "tool", "content": random_text(rng) + json.dumps(random_value(rng))})
        if rng.random() < 0.5:
            messages.append({"role": "assistant", "content": random_text(rng)})
            messages.append({"role": "user", "content": random_text(rng)})
    return messages, tools


def as_cai(messages, tools):
    """The chat as the inference service receives it: arguments and parameters as JSON text."""
    out_messages = []
    for m in messages:
        message = {"role": m["role"], "content": m.get("content", "")}
        if "tool_calls" in m:
            message["tool_calls"] = [{"name": c["function"]["name"],
                                      "arguments": c["function"].get("arguments_text",
                                                                     json.dumps(c["function"]["arguments"]))}
                                     for c in m["tool_calls"]]
        out_messages.append(message)
    out_tools = []
    for t in tools:
        f = t["function"]
        tool = {"name": f["name"], "parameters": json.dumps(f["parameters"]) if "parameters" in f else ""}
        if "description" in f:
            tool["description"] = f["description"]
        out_tools.append(tool)
    return {"messages": out_messages, "tools": out_tools}


def test_random_tool_conversations_render_as_the_jinja_template():
    assert TOOL, "CAI_TOKENIZER_TOOL is not set (run through ctest)"
    template = hf_environment().from_string(TEMPLATE.read_text(encoding="utf-8"))
    rng = random.Random(31)
    chats = [random_chat(rng) for _ in range(300)]
    expected = [template.render(messages=m, tools=t, bos_token="<|begin_of_text|>", add_generation_prompt=True)
                for m, t in chats]
    result = subprocess.run([TOOL, "render"], input=json.dumps([as_cai(m, t) for m, t in chats]).encode(),
                            capture_output=True, check=True)
    ours = json.loads(result.stdout)
    assert len(ours) == len(expected)
    for (messages, tools), theirs, mine in zip(chats, expected, ours):
        assert mine == theirs, json.dumps({"messages": messages, "tools": tools}, ensure_ascii=False)
    # The cases do reach what the test is for.
    joined = "".join(expected)
    for needle in ("1e-05", "1e+16", "-0.0", "\\u0001", "Größe", "<|start_header_id|>ipython", '"parameters": {'):
        assert needle in joined, needle
    repeated = sum("arguments_text" in c["function"] for m, _ in chats for msg in m for c in msg.get("tool_calls", []))
    assert repeated >= 10, repeated
