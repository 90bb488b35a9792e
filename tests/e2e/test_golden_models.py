"""Serve each golden checkpoint (tiny HF-layout Llama 3 / Gemma 2 / Phi-3 models made with
transformers, tests/golden) through the whole stack, and check that the chat API's greedy tokens
are exactly the ones Hugging Face produced for the same conversation."""
import json
import pathlib
import sys
import tempfile

import pytest
import requests

from conftest import start_stack, stop_stack

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "models"
sys.path.insert(0, str(GOLDEN.parent))
from byte_level import bytes_to_unicode  # noqa: E402  (tests/golden/byte_level.py)
USER = "Write two short lines about the lighthouse keeper, the quiet river and the numbers 2024 and 417."


def gpt2_byte_decoder():
    """Inverse of GPT-2's bytes_to_unicode: byte-level vocabulary characters → bytes."""
    return {c: b for b, c in bytes_to_unicode().items()}


def token_bytes(tokenizer_json, token_id):
    """The raw bytes a token stands for, read from tokenizer.json alone."""
    for added in tokenizer_json["added_tokens"]:
        if added["id"] == token_id:
            return added["content"].encode()
    vocab = {i: t for t, i in tokenizer_json["model"]["vocab"].items()}
    if token_id not in vocab:
        return b""  # the model's vocabulary is padded past the tokenizer's (as Phi-3's is)
    piece = vocab[token_id]
    if tokenizer_json["model"].get("byte_fallback"):
        if piece.startswith("<0x") and piece.endswith(">") and len(piece) == 6:
            return bytes([int(piece[3:5], 16)])
        return piece.replace("\u2581", " ").encode()
    decoder = gpt2_byte_decoder()
    return bytes(decoder[c] for c in piece)


@pytest.mark.parametrize("family", ["llama3", "gemma2", "phi3"])
def test_api_greedy_tokens_equal_hugging_face(family):
    model_dir = GOLDEN / family
    golden = json.loads((model_dir / "golden.json").read_text())
    assert USER in golden["prompt_text"], "the golden prompt changed: update USER"
    tokenizer_json = json.loads((model_dir / "tokenizer.json").read_text())
    expected = [token_bytes(tokenizer_json, t) for t in golden["greedy"]["ids"]]

    with tempfile.TemporaryDirectory(prefix=f"cai-golden-{family}-") as d:
        stack = start_stack(pathlib.Path(d), extra_args=["--model", str(model_dir)])
        try:
            assert stack.model == family
            body = {"model": family, "messages": [{"role": "user", "content": USER}], "temperature": 0,
                    "max_tokens": len(expected), "logprobs": True}
            r = requests.post(stack.url + "/v1/chat/completions", json=body, headers=stack.headers(), timeout=120)
            assert r.status_code == 200, r.text
            completion = r.json()
            assert completion["usage"]["prompt_tokens"] == len(golden["prompt_ids"])
            assert completion["usage"]["completion_tokens"] == len(expected)
            got = [bytes(t["bytes"]) for t in completion["choices"][0]["logprobs"]["content"]]
            assert got == expected

            # n choices share the prompt's KV blocks (choice 0 prefills, the others compute only
            # the last partial block): every greedy choice is still Hugging Face's continuation.
            r = requests.post(stack.url + "/v1/chat/completions", json={**body, "n": 3}, headers=stack.headers(),
                              timeout=120)
            assert r.status_code == 200, r.text
            choices = r.json()["choices"]
            assert sorted(c["index"] for c in choices) == [0, 1, 2]
            for choice in choices:
                assert [bytes(t["bytes"]) for t in choice["logprobs"]["content"]] == expected, choice["index"]
        finally:
            stop_stack(stack)
