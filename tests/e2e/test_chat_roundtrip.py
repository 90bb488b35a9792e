"""Done-when 1 and 2: a real OpenAI client gets signed answers that verify against the attested keys."""
import hashlib
import json
import os
import re

import openai
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from eth_account import Account
from eth_account.messages import encode_defunct

from conftest import attestation, recording_client


client_for = recording_client


def check_signatures(stack, response_id, request_bytes, response_bytes):
    expected_text = hashlib.sha256(request_bytes).hexdigest() + ":" + hashlib.sha256(response_bytes).hexdigest()

    report, _ = attestation(stack, "ecdsa")
    r = requests.get(f"{stack.url}/v1/signature/{response_id}",
                     params={"model": stack.model, "signing_algo": "ecdsa"}, headers=stack.headers(), timeout=30)
    assert r.status_code == 200, r.text
    sig = r.json()
    assert sig["signing_algo"] == "ecdsa"
    assert sig["text"] == expected_text
    recovered = Account.recover_message(encode_defunct(text=sig["text"]), signature=sig["signature"])
    assert recovered == report["signing_address"] == sig["signing_address"]

    report, _ = attestation(stack, "ed25519")
    r = requests.get(f"{stack.url}/v1/signature/{response_id}",
                     params={"model": stack.model, "signing_algo": "ed25519"}, headers=stack.headers(), timeout=30)
    assert r.status_code == 200, r.text
    sig = r.json()
    assert sig["text"] == expected_text
    public_key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(report["signing_public_key"]))
    public_key.verify(bytes.fromhex(sig["signature"].removeprefix("0x")), sig["text"].encode())
    assert sig["signing_address"] == report["signing_address"] == report["signing_public_key"]


def test_non_stream_chat_is_signed_by_attested_key(stack):
    client, transport = client_for(stack)
    completion = client.chat.completions.create(
        model=stack.model, messages=[{"role": "user", "content": "Hello there"}], max_tokens=12, seed=7)
    assert completion.id.startswith("chatcmpl-") and len(completion.id) == len("chatcmpl-") + 32
    assert completion.choices[0].message.role == "assistant"
    assert completion.usage.completion_tokens >= 1
    exchange = transport.exchanges[-1]
    assert json.loads(exchange["response"])["id"] == completion.id
    check_signatures(stack, completion.id, exchange["request"], bytes(exchange["response"]))


def test_stream_chat_is_signed_by_attested_key(stack):
    client, transport = client_for(stack)
    stream = client.chat.completions.create(
        model=stack.model, messages=[{"role": "user", "content": "Tell me a story"}], max_tokens=16,
        stream=True, stream_options={"include_usage": True}, seed=3)
    chunks = list(stream)
    ids = {c.id for c in chunks}
    assert len(ids) == 1
    response_id = ids.pop()
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    exchange = transport.exchanges[-1]
    raw = bytes(exchange["response"])
    assert raw.endswith(b"data: [DONE]\n\n")
    check_signatures(stack, response_id, exchange["request"], raw)


def test_stream_and_non_stream_give_the_same_text_for_a_seed(stack):
    client, _ = client_for(stack)
    args = dict(model=stack.model, messages=[{"role": "user", "content": "Same seed"}], max_tokens=20,
                seed=11, temperature=0.8)
    whole = client.chat.completions.create(**args).choices[0].message.content
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(stream=True, **args)
                       if c.choices)
    assert whole == streamed


def test_text_completion_is_signed_by_attested_key(stack):
    client, transport = client_for(stack)
    completion = client.completions.create(model=stack.model, prompt="Once upon a time", max_tokens=12, seed=7)
    assert completion.id.startswith("cmpl-") and completion.object == "text_completion"
    assert completion.usage.prompt_tokens > 1  # BOS and the text
    check_signatures(stack, completion.id, transport.exchanges[-1]["request"],
                     bytes(transport.exchanges[-1]["response"]))


def test_token_id_prompt_is_used_as_it_is(stack):
    """A prompt of token ids (alone or as a batch of one) is the model's input, unchanged."""
    client, transport = client_for(stack)
    ids = [5, 17, 42, 99]
    args = dict(model=stack.model, max_tokens=10, seed=3, temperature=0.7)
    whole = client.completions.create(prompt=ids, **args)
    assert whole.usage.prompt_tokens == len(ids)
    check_signatures(stack, whole.id, transport.exchanges[-1]["request"], bytes(transport.exchanges[-1]["response"]))
    streamed = "".join(c.choices[0].text for c in client.completions.create(prompt=[ids], stream=True, **args)
                       if c.choices)
    assert streamed == whole.choices[0].text
    with pytest.raises(openai.BadRequestError, match="prompt token 1000000000 is unknown"):
        client.completions.create(prompt=[10**9], **args)
    with pytest.raises(openai.BadRequestError, match="token ids must be between 0 and 2147483647"):
        client.completions.create(prompt=[-1], **args)


def test_a_batch_of_prompts_answers_each_in_turn(stack):
    """Each prompt's n choices in turn, as if each were asked alone with the same seed."""
    client, transport = client_for(stack)
    prompts = ["Once upon a time", "The sea", "x"]
    args = dict(model=stack.model, max_tokens=8, seed=9, temperature=0.8, n=2)
    batch = client.completions.create(prompt=prompts, **args)
    check_signatures(stack, batch.id, transport.exchanges[-1]["request"], bytes(transport.exchanges[-1]["response"]))
    alone = [client.completions.create(prompt=p, **args) for p in prompts]
    assert [c.index for c in batch.choices] == list(range(6))
    # The CPU engine's output does not depend on what else shares a step; the CUDA engine's
    # GEMM and mat-vec paths may differ in the last bits, so there only the shape is compared.
    loaded = re.search(r"loaded \S+ on (\S+)", (stack.workdir / "cai-up.log").read_text(errors="replace"))
    assert loaded, "the inference service did not log where the model runs"
    on_cpu = loaded.group(1).startswith("cpu")
    if on_cpu:
        assert [c.text for c in batch.choices] == [c.text for a in alone for c in a.choices]
    assert batch.usage.prompt_tokens == sum(a.usage.prompt_tokens for a in alone)
    assert batch.usage.completion_tokens == sum(a.usage.completion_tokens for a in alone)
    streamed = [""] * 6
    for chunk in client.completions.create(prompt=prompts, stream=True, **args):
        for choice in chunk.choices:
            streamed[choice.index] += choice.text
    if on_cpu:
        assert streamed == [c.text for c in batch.choices]
    with pytest.raises(openai.BadRequestError, match="prompt 1: prompt token 1000000000 is unknown"):
        client.completions.create(prompt=[[5], [10**9]], stream=True, **args)
    tokens = client.completions.create(prompt=[[5, 17], [42]], **args)
    assert [c.index for c in tokens.choices] == list(range(4)) and tokens.usage.prompt_tokens == 3


def p256_verify(public_xy: bytes, signature_rs: bytes, message: bytes) -> bool:
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + public_xy)
    der = encode_dss_signature(int.from_bytes(signature_rs[:32], "big"), int.from_bytes(signature_rs[32:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        return True
    except Exception:
        return False


def test_quote_binds_key_and_nonce_for_both_algorithms(stack):
    for algo in ("ecdsa", "ed25519"):
        report, nonce = attestation(stack, algo)
        quote = bytes.fromhex(report["intel_quote"])
        # TDX quote v4: 48-byte header, TD report body, report_data at 568, signature data at 632.
        assert int.from_bytes(quote[0:2], "little") == 4
        assert int.from_bytes(quote[4:8], "little") == 0x81
        report_data = quote[568:632]
        if algo == "ecdsa":
            key_id = bytes.fromhex(report["signing_address"][2:])
            assert len(key_id) == 20
        else:
            key_id = bytes.fromhex(report["signing_public_key"])
            assert len(key_id) == 32
        assert report_data == key_id.ljust(32, b"\0") + bytes.fromhex(nonce)
        assert report["request_nonce"] == nonce
        # The quote's ECDSA-P256 signature over quote[0:632] verifies with the attestation key in it.
        signature, attestation_key = quote[636:700], quote[700:764]
        assert p256_verify(attestation_key, signature, quote[:632])
        assert not p256_verify(attestation_key, signature, quote[:567] + bytes([quote[567] ^ 1]) + quote[568:632])
        # GPU evidence is bound to the same nonce.
        payload = json.loads(report["nvidia_payload"])
        assert payload["nonce"] == nonce and payload["arch"] == "HOPPER" and payload["evidence_list"]
        assert report["info"]["simulated"] is True
        assert report["all_attestations"][0]["intel_quote"] == report["intel_quote"]


def test_prompts_and_completions_never_reach_the_logs(stack):
    """A canary prompt goes through every service; no service may log it, nor the completion."""
    canary = "canary-" + os.urandom(12).hex()
    client, _ = client_for(stack)
    completion = client.chat.completions.create(
        model=stack.model, messages=[{"role": "system", "content": canary}, {"role": "user", "content": canary}],
        max_tokens=24, seed=5)
    stream = client.chat.completions.create(
        model=stack.model, messages=[{"role": "user", "content": canary}], max_tokens=8, stream=True, seed=6)
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    log = (stack.workdir / "cai-up.log").read_text(errors="replace")
    assert canary not in log
    for text in (completion.choices[0].message.content, streamed):
        # Long enough to be meaningful; the demo model's text is random, so a short one could
        # appear by chance.
        if len(text) >= 12:
            assert text not in log
