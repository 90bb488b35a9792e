"""JSON mode (response_format json_object) and structured outputs (json_schema) through the whole
stack, with the official OpenAI SDK."""
import json
import typing

import openai
import pydantic
import pytest

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


# Structured outputs (response_format json_schema), as the OpenAI SDK sends them from a pydantic
# model: the strict schema it derives has enums, a nested object behind $ref and anyOf with null,
# and an unbounded list.
class Home(pydantic.BaseModel):
    city: typing.Literal["Paris", "Rome"]


class Cat(pydantic.BaseModel):
    mood: typing.Literal["calm", "cross"]
    hungry: bool
    home: typing.Optional[Home]
    toys: typing.List[typing.Literal["ball", "mouse"]]


class CatPet(pydantic.BaseModel):
    kind: typing.Literal["cat"]
    meows: bool


class DogPet(pydantic.BaseModel):
    kind: typing.Literal["dog"]
    good: bool


class Owner(pydantic.BaseModel):
    """pydantic writes the discriminated union as oneOf with a 'discriminator' mapping."""
    pet: typing.Union[CatPet, DogPet] = pydantic.Field(discriminator="kind")
    pets: typing.List[typing.Union[CatPet, DogPet]]


def closing_bias(stack):
    """']' and '}' above everything, then '"', and no token of whitespace alone: the demo model's
    random text then closes each list and object as soon as the schema lets it, so every choice ends
    well within max_tokens (unbiased, it can spend them on runs of whitespace between tokens)."""
    vocab = json.loads((stack.demo_model_dir / "tokenizer.json").read_text())["model"]["vocab"]
    whitespace = set("\u0120\u010a\u0109\u010d")  # ' ', '\n', '\t', '\r' in byte-level spelling
    bias = {str(i): -100 for token, i in vocab.items() if set(token) <= whitespace}
    assert 0 < len(bias) < 200, len(bias)
    bias.update({str(token_id(stack, "]")): 50, str(token_id(stack, "}")): 50, str(token_id(stack, '"')): 40})
    return bias


def test_parse_gives_the_pydantic_model(stack):
    r = client(stack).chat.completions.parse(model=stack.model, messages=MESSAGES, response_format=Cat, n=4, seed=3,
                                             temperature=1.0, max_tokens=200, logit_bias=closing_bias(stack))
    assert len(r.choices) == 4
    for choice in r.choices:
        assert choice.finish_reason == "stop", choice.message.content
        assert isinstance(choice.message.parsed, Cat), choice.message.content
        assert Cat.model_validate_json(choice.message.content) == choice.message.parsed


def test_parse_gives_a_discriminated_union(stack):
    r = client(stack).chat.completions.parse(model=stack.model, messages=MESSAGES, response_format=Owner, n=4, seed=4,
                                             temperature=1.0, max_tokens=200, logit_bias=closing_bias(stack))
    for choice in r.choices:
        assert choice.finish_reason == "stop", choice.message.content
        assert isinstance(choice.message.parsed, Owner), choice.message.content
        assert isinstance(choice.message.parsed.pet, (CatPet, DogPet))


def test_streamed_schema_text_validates(stack):
    schema = Cat.model_json_schema()  # pydantic's own, not the SDK's strict form: no additionalProperties
    stream = client(stack).chat.completions.create(
        model=stack.model, messages=MESSAGES, seed=5, temperature=1.0, max_tokens=200, logit_bias=closing_bias(stack),
        response_format={"type": "json_schema", "json_schema": {"name": "Cat", "schema": schema}},
        stream=True)
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["stop"]
    Cat.model_validate_json(text)


def test_a_schema_the_engine_cannot_keep_is_a_400_naming_the_keyword(stack):
    schema = {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}}
    with pytest.raises(openai.BadRequestError) as e:
        client(stack).chat.completions.create(
            model=stack.model, messages=MESSAGES, max_tokens=8,
            response_format={"type": "json_schema", "json_schema": {"name": "Age", "schema": schema}})
    assert "json_schema at 'properties.age': 'minimum' is not supported" in str(e.value)


def test_vllm_structured_outputs_json(stack):
    # vLLM 0.10.2 on: the schema under structured_outputs.json (guided_json went in vLLM 0.12).
    r = client(stack).chat.completions.create(
        model=stack.model, messages=MESSAGES, max_tokens=200, n=2, seed=11, temperature=1.0,
        logit_bias=closing_bias(stack), extra_body={"structured_outputs": {"json": Cat.model_json_schema()}})
    for choice in r.choices:
        assert choice.finish_reason == "stop", choice.message.content
        Cat.model_validate_json(choice.message.content)
    with pytest.raises(openai.BadRequestError) as e:
        client(stack).chat.completions.create(model=stack.model, messages=MESSAGES, max_tokens=4,
                                              extra_body={"structured_outputs": {"choice": ["yes", "no"]}})
    assert e.value.param == "structured_outputs.choice"


def test_vllm_guided_json_on_completions(stack):
    # vLLM's extra_body spelling of a schema, on the completions endpoint.
    schema = Cat.model_json_schema()
    r = client(stack).completions.create(model=stack.model, prompt="A cat:", max_tokens=200, n=2, seed=9,
                                         temperature=1.0, logit_bias=closing_bias(stack),
                                         extra_body={"guided_json": json.dumps(schema)})
    for choice in r.choices:
        assert choice.finish_reason == "stop", choice.text
        Cat.model_validate_json(choice.text)
    with pytest.raises(openai.BadRequestError) as e:
        client(stack).completions.create(model=stack.model, prompt="A cat:", max_tokens=4,
                                         extra_body={"guided_regex": "[a-z]+"})
    assert e.value.param == "guided_regex"
