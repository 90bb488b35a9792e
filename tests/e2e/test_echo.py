"""Completions' echo with logprobs: the prompt scored token by token, as lm-eval's loglikelihood
requests ask for it (token-id prompts, echo, max_tokens 1, logprobs 1)."""
import math

import pytest

from conftest import recording_client
from test_chat_roundtrip import check_signatures

CONTEXT = [5, 17, 42, 99, 7, 250, 31]
CONTINUATION = [64, 12, 88, 3]


def score(client, stack, prompts, **extra):
    args = dict(model=stack.model, prompt=prompts, echo=True, max_tokens=1, logprobs=1, temperature=0, seed=1)
    args.update(extra)
    return client.completions.create(**args)


def test_loglikelihood_requests_as_lm_eval_sends_them(stack):
    client, transport = recording_client(stack)
    whole = CONTEXT + CONTINUATION
    answer = score(client, stack, [CONTEXT, whole])
    check_signatures(stack, answer.id, transport.exchanges[-1]["request"], bytes(transport.exchanges[-1]["response"]))
    assert [c.index for c in answer.choices] == [0, 1]
    assert answer.usage.prompt_tokens == len(CONTEXT) + len(whole)
    for choice, prompt in zip(answer.choices, [CONTEXT, whole]):
        lp = choice.logprobs
        assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == len(prompt) + 1
        assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
        assert all(x <= 0 for x in lp.token_logprobs[1:])
        assert all(len(top) == 1 for top in lp.top_logprobs[1:])
        assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
        # The text is the prompt's, then the one generated token.
        assert choice.text == "".join(lp.tokens)
        # The generated token is the greedy one: its own top alternative.
        assert lp.top_logprobs[-1] == {lp.tokens[-1]: lp.token_logprobs[-1]}
    # The context's scores are the same alone and as the start of the longer prompt.
    short, long = answer.choices[0].logprobs, answer.choices[1].logprobs
    for i in range(1, len(CONTEXT)):
        assert math.isclose(short.token_logprobs[i], long.token_logprobs[i], abs_tol=1e-4)
    # The continuation's scores, which lm-eval sums, do not depend on the batch the prompt came in.
    alone = score(client, stack, whole).choices[0].logprobs
    for i in range(len(CONTEXT), len(whole)):
        assert math.isclose(alone.token_logprobs[i], long.token_logprobs[i], abs_tol=1e-4), i
        assert alone.top_logprobs[i].keys() == long.top_logprobs[i].keys(), i


def test_each_positions_best_alternative_is_what_greedy_generation_draws(stack):
    """The scores are the model's next-token distribution: at every position of the prompt, the top
    alternative and its log-probability are what a greedy completion of the prefix draws."""
    client, _ = recording_client(stack)
    whole = CONTEXT + CONTINUATION
    echoed = score(client, stack, whole).choices[0].logprobs
    for i in range(1, len(whole)):
        drawn = client.completions.create(model=stack.model, prompt=whole[:i], max_tokens=1, logprobs=1,
                                          temperature=0).choices[0].logprobs
        assert echoed.top_logprobs[i].keys() == {drawn.tokens[0]}, f"position {i}"
        assert math.isclose(echoed.top_logprobs[i][drawn.tokens[0]], drawn.token_logprobs[0], abs_tol=1e-4), i
        if drawn.tokens[0] == echoed.tokens[i]:  # the prompt's own token was the greedy one
            assert math.isclose(echoed.token_logprobs[i], drawn.token_logprobs[0], abs_tol=1e-4), i


def test_streamed_echo_equals_the_whole_answer(stack):
    client, _ = recording_client(stack)
    prompt = "Once upon a time, in a land of verifiable machines,"
    args = dict(max_tokens=6, logprobs=3, temperature=0.8, seed=11, n=2)
    whole = score(client, stack, prompt, **args)
    texts, tokens, logprobs = {}, {}, {}
    for chunk in score(client, stack, prompt, stream=True, **args):
        for c in chunk.choices:
            texts[c.index] = texts.get(c.index, "") + c.text
            if c.logprobs:
                tokens.setdefault(c.index, []).extend(c.logprobs.tokens)
                logprobs.setdefault(c.index, []).extend(c.logprobs.token_logprobs)
    for choice in whole.choices:
        assert choice.text.startswith(prompt)  # a text prompt echoes as it was sent
        assert texts[choice.index] == choice.text
        assert tokens[choice.index] == choice.logprobs.tokens
        assert logprobs[choice.index] == choice.logprobs.token_logprobs
    # Each choice lists the prompt's tokens, then 1 to 6 generated (a stop token among them).
    prompt_tokens = whole.usage.prompt_tokens
    for choice in whole.choices:
        assert prompt_tokens < len(choice.logprobs.tokens) <= prompt_tokens + 6


def test_echo_without_logprobs_repeats_the_prompt(stack):
    client, _ = recording_client(stack)
    plain = client.completions.create(model=stack.model, prompt="Attested", max_tokens=5, seed=4)
    echoed = client.completions.create(model=stack.model, prompt="Attested", max_tokens=5, seed=4, echo=True)
    assert echoed.choices[0].text == "Attested" + plain.choices[0].text
    assert echoed.choices[0].logprobs is None


def test_echo_must_be_a_boolean(stack):
    import openai
    client, _ = recording_client(stack)
    with pytest.raises(openai.BadRequestError, match="'echo' must be a boolean"):
        client.completions.create(model=stack.model, prompt="x", max_tokens=1, extra_body={"echo": "yes"})
