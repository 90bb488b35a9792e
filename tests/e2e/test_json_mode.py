"""JSON mode (response_format json_object) through the whole stack, with the official OpenAI SDK."""
import json

import openai

MESSAGES = [{"role": "system", "content": "You answer in JSON."}, {"role": "user", "content": "Describe a cat."}]


def client(stack):
    return openai.OpenAI(base_url=stack.url + "/v1", api_key=stack.api_key, max_retries=0)


def token_id(stack, text):
    """The demo tokenizer's id for a one-byte printable ASCII token (byte-level: spelled as itself)."""
    vocab = json.loads((stack.demo_model_dir / "tokenizer.json").read_text())["model"]["vocab"]
    return vocab[text]


def forcing_bias(stack):
    """'x' above everything, then '}', then '{': the demo model's own logits are a few units, so
    unconstrained text is 'xxx...', and in JSON mode, where 'x' cannot come, exactly '{}'."""
    return {str(token_id(stack, "x")): 100, str(token_id(stack, "}")): 80, str(token_id(stack, "{")): 60}


def test_json_mode_draws_only_tokens_that_keep_an_object(stack):
    c = client(stack)
    bias = forcing_bias(stack)
    free = c.chat.completions.create(model=stack.model, messages=MESSAGES, max_tokens=4, seed=1, logit_bias=bias)
    assert free.choices[0].message.content.startswith("x"), free.choices[0].message.content

    r = c.chat.completions.create(model=stack.model, messages=MESSAGES, max_tokens=16, seed=1, logit_bias=bias,
                                  response_format={"type": "json_object"})
    assert r.choices[0].message.content == "{}"
    assert r.choices[0].finish_reason == "stop", "the stop token comes as soon as the object is whole"
    assert json.loads(r.choices[0].message.content) == {}

    stream = c.chat.completions.create(model=stack.model, messages=MESSAGES, max_tokens=16, seed=1, logit_bias=bias,
                                       response_format={"type": "json_object"}, stream=True)
    chunks = list(stream)
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "{}"
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["stop"]


def test_json_mode_choices_that_stop_parse_as_objects(stack):
    # The demo model's weights are random, so what it writes is only as much JSON as the mask makes
    # it: every choice starts an object, and those that stopped are whole ones.
    r = client(stack).chat.completions.create(model=stack.model, messages=MESSAGES, max_tokens=48, n=4, seed=7,
                                              temperature=1.0, response_format={"type": "json_object"})
    assert len(r.choices) == 4
    for choice in r.choices:
        content = choice.message.content
        assert content.lstrip(" \t\r\n").startswith("{"), content
        if choice.finish_reason == "stop":
            assert isinstance(json.loads(content), dict), content
        else:
            assert choice.finish_reason == "length"  # cut short by max_tokens: a prefix of an object


def test_completions_take_json_mode_too(stack):
    # vLLM's extension of /v1/completions; every prompt of a batch is held to it.
    r = client(stack).completions.create(model=stack.model, prompt=["A cat as JSON:", "A dog as JSON:"], max_tokens=8,
                                         seed=1, logit_bias=forcing_bias(stack),
                                         extra_body={"response_format": {"type": "json_object"}})
    assert [(c.text, c.finish_reason) for c in r.choices] == [("{}", "stop"), ("{}", "stop")]
