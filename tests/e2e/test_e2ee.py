"""End-to-end encryption through the whole stack: an OpenAI SDK client seals its messages to the
attested key (as Phala's and NEAR's clients do), the model reads the plaintext, the answer comes back
sealed to the client, and the signature covers the ciphertext bytes the client sent and received."""
import hashlib
import json
import os

import pytest
import requests
from cryptography.exceptions import InvalidTag
from eth_account import Account
from eth_account.messages import encode_defunct

from e2ee_client import E2eeClient, seal
from conftest import attestation, recording_client

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour, please."}]


sdk = recording_client


def attested_key(stack, algo="ecdsa"):
    report, _ = attestation(stack, algo)
    # ecdsa: x || y without the 04 prefix; ed25519: the 32-byte key
    assert len(report["signing_public_key"]) == (128 if algo == "ecdsa" else 64)
    return report["signing_public_key"], report["signing_address"]


def check_signature(stack, response_id, request_bytes, response_bytes, address):
    r = requests.get(f"{stack.url}/v1/signature/{response_id}", params={"signing_algo": "ecdsa"},
                     headers=stack.headers(), timeout=30)
    assert r.status_code == 200, r.text
    sig = r.json()
    assert sig["text"] == hashlib.sha256(request_bytes).hexdigest() + ":" + hashlib.sha256(response_bytes).hexdigest()
    assert Account.recover_message(encode_defunct(text=sig["text"]), signature=sig["signature"]) == address


def post(stack, e2ee, body, path="/v1/chat/completions"):
    return requests.post(stack.url + path, data=json.dumps(body),
                         headers={**stack.headers(), **e2ee.headers(), "Content-Type": "application/json"}, timeout=60)


def test_sealed_chat_reads_the_plaintext_and_answers_sealed(stack):
    key, address = attested_key(stack)
    client, transport = sdk(stack)
    # Two choices (and an assistant turn with null content, which has nothing to seal).
    messages = MESSAGES + [{"role": "assistant", "content": None}, {"role": "user", "content": "Another?"}]
    args = dict(model=stack.model, max_tokens=12, seed=5, n=2, temperature=1.0)
    plain = client.chat.completions.create(messages=messages, **args)

    e2ee = E2eeClient(key, model=stack.model)
    raw = client.chat.completions.with_raw_response.create(messages=e2ee.seal_messages(messages),
                                                           extra_headers=e2ee.headers(), **args)
    assert raw.headers["X-E2EE-Applied"] == "true"
    assert raw.headers["X-E2EE-Version"] == "2"
    assert raw.headers["X-E2EE-Algo"] == "ecdsa"
    completion = raw.parse()
    assert len(completion.choices) == 2
    for i, choice in enumerate(completion.choices):
        # The model read what the client sealed: the same seed gives the same words as in plaintext;
        # each choice is bound to its position.
        assert e2ee.open(choice.message.content, e2ee.response_aad(completion.id, i)) == \
            plain.choices[i].message.content
        with pytest.raises(InvalidTag):
            e2ee.open(choice.message.content, e2ee.response_aad(completion.id, 1 - i))
    exchange = transport.exchanges[-1]
    check_signature(stack, completion.id, exchange["request"], bytes(exchange["response"]), address)


def test_the_ed25519_mode_seals_through_x25519(stack):
    key, _ = attested_key(stack, "ed25519")
    client, transport = sdk(stack)
    args = dict(model=stack.model, max_tokens=10, seed=4)
    plain = client.chat.completions.create(messages=MESSAGES, **args)
    e2ee = E2eeClient(key, model=stack.model, algo="ed25519")
    raw = client.chat.completions.with_raw_response.create(messages=e2ee.seal_messages(MESSAGES),
                                                           extra_headers=e2ee.headers(), **args)
    assert raw.headers["X-E2EE-Algo"] == "ed25519"
    completion = raw.parse()
    assert e2ee.open(completion.choices[0].message.content, e2ee.response_aad(completion.id, 0)) == \
        plain.choices[0].message.content
    # Content sealed in the ed25519 mode, long enough and under the ecdsa request's own associated
    # data, still does not open in the ecdsa mode: only the key agreement differs.
    ecdsa_key, _ = attested_key(stack)
    ecdsa_headers = E2eeClient(ecdsa_key, model=stack.model)
    text = "a message long enough to pass for an ecdsa-sealed one"
    body = {"model": stack.model,
            "messages": [{"role": "user", "content": seal(key, text, ecdsa_headers.request_aad(0), "ed25519")}]}
    error = error_of(post(stack, ecdsa_headers, body))
    assert (error["type"], error["param"]) == ("e2ee_decryption_failed", "messages[0].content")


def test_version_one_is_refused_by_default(stack):
    # Replayable with another client key; cai-edge --insecure_e2ee_v1 would accept it.
    key, _ = attested_key(stack)
    e2ee = E2eeClient(key, version=1, model=stack.model)
    error = error_of(post(stack, e2ee, {"model": stack.model, "messages": e2ee.seal_messages(MESSAGES)}))
    assert error["type"] == "e2ee_invalid_version"


def test_sealed_stream_of_two_choices_opens_chunk_by_chunk(stack):
    key, address = attested_key(stack)
    client, transport = sdk(stack)
    args = dict(model=stack.model, max_tokens=10, n=2, seed=9, temperature=1.0, stream=True)
    plain = {0: "", 1: ""}
    for chunk in client.chat.completions.create(messages=MESSAGES, **args):
        if chunk.choices:
            plain[chunk.choices[0].index] += chunk.choices[0].delta.content or ""

    e2ee = E2eeClient(key, model=stack.model)
    opened = {0: "", 1: ""}
    roles = 0
    raw = client.chat.completions.with_raw_response.create(
        messages=e2ee.seal_messages(MESSAGES), extra_headers=e2ee.headers(), stream_options={"include_usage": True},
        **args)
    assert (raw.headers["X-E2EE-Applied"], raw.headers["X-E2EE-Version"]) == ("true", "2")
    for chunk in raw.parse():
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.delta.content is None:
            continue
        # One choice per chunk, so its position in `choices` (Phala's "choice" in the associated data) is 0.
        text = e2ee.open(choice.delta.content, e2ee.response_aad(chunk.id, 0))
        if choice.delta.role == "assistant":
            roles += 1
            assert text == ""  # the role chunk's empty content is sealed too
        opened[choice.index] += text
    assert roles == 2
    assert opened == plain
    raw = bytes(transport.exchanges[-1]["response"])
    assert raw.endswith(b"data: [DONE]\n\n")
    response_id = json.loads(raw.split(b"\n\n")[0][len(b"data: "):])["id"]
    check_signature(stack, response_id, transport.exchanges[-1]["request"], raw, address)


def test_text_parts_are_sealed_one_by_one(stack):
    key, _ = attested_key(stack)
    client, _ = sdk(stack)
    parts = [{"role": "user", "content": [{"type": "text", "text": "Name a "}, {"type": "text", "text": "colour."}]}]
    plain = client.chat.completions.create(model=stack.model, messages=parts, max_tokens=8, seed=2)
    e2ee = E2eeClient(key, model=stack.model)
    r = post(stack, e2ee, {"model": stack.model, "messages": e2ee.seal_messages(parts), "max_tokens": 8, "seed": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert e2ee.open(body["choices"][0]["message"]["content"], e2ee.response_aad(body["id"], 0)) == \
        plain.choices[0].message.content


def test_a_replayed_request_is_refused(stack):
    key, _ = attested_key(stack)
    e2ee = E2eeClient(key, model=stack.model)
    body = {"model": stack.model, "messages": e2ee.seal_messages(MESSAGES), "max_tokens": 2}
    # A request whose content does not open uses up no nonce (so garbage cannot fill the guard)...
    broken = {**body, "messages": [dict(body["messages"][0]), body["messages"][1]]}
    broken["messages"][0]["content"] = body["messages"][1]["content"]
    assert error_of(post(stack, e2ee, broken))["type"] == "e2ee_decryption_failed"
    # ...and the genuine one is answered once.
    first = post(stack, e2ee, body)
    assert first.status_code == 200, first.text
    again = post(stack, e2ee, body)
    assert again.status_code == 400
    assert again.json()["error"]["type"] == "e2ee_replay_detected"


def error_of(response):
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_a_stale_timestamp_is_refused(stack):
    key, _ = attested_key(stack)
    e2ee = E2eeClient(key, model=stack.model, timestamp=1700000000)
    body = {"model": stack.model, "messages": e2ee.seal_messages(MESSAGES), "max_tokens": 2}
    assert error_of(post(stack, e2ee, body))["type"] == "e2ee_invalid_timestamp"


def test_a_key_that_is_not_ours_is_refused(stack):
    # Valid points both: the client's key is fine, the model key is some other instance's.
    other = E2eeClient(E2eeClient("").public_hex, model=stack.model)
    body = {"model": stack.model, "messages": other.seal_messages(MESSAGES), "max_tokens": 2}
    error = error_of(post(stack, other, body))
    assert error["type"] == "e2ee_model_key_mismatch"
    assert "/v1/attestation/report" in error["message"]


def test_associated_data_binds_nonce_and_model(stack):
    key, _ = attested_key(stack)
    e2ee = E2eeClient(key, model=stack.model)
    body = {"model": stack.model, "messages": e2ee.seal_messages(MESSAGES), "max_tokens": 2}
    e2ee.nonce = os.urandom(16).hex()  # headers now name a nonce the content was not sealed under
    assert error_of(post(stack, e2ee, body))["type"] == "e2ee_decryption_failed"


def test_a_field_sealed_for_another_place_does_not_open(stack):
    key, _ = attested_key(stack)
    e2ee = E2eeClient(key, model=stack.model)
    messages = e2ee.seal_messages(MESSAGES)
    messages[0]["content"], messages[1]["content"] = messages[1]["content"], messages[0]["content"]
    error = error_of(post(stack, e2ee, {"model": stack.model, "messages": messages, "max_tokens": 2}))
    assert error["type"] == "e2ee_decryption_failed"
    assert error["param"] == "messages[0].content"


def test_content_that_is_not_ciphertext_is_refused(stack):
    key, _ = attested_key(stack)
    e2ee = E2eeClient(key, model=stack.model)
    messages = e2ee.seal_messages(MESSAGES)
    messages[1]["content"] = "plain words"
    error = error_of(post(stack, e2ee, {"model": stack.model, "messages": messages, "max_tokens": 2}))
    assert (error["type"], error["param"]) == ("e2ee_decryption_failed", "messages[1].content")

    e2ee = E2eeClient(key, model=stack.model)
    messages = e2ee.seal_messages(MESSAGES)
    messages[1]["content"] = seal(key, b"\xff\xfe not UTF-8", e2ee.request_aad(1))
    error = error_of(post(stack, e2ee, {"model": stack.model, "messages": messages, "max_tokens": 2}))
    assert (error["type"], error["param"]) == ("e2ee_decryption_failed", "messages[1].content")
    assert "UTF-8" in error["message"]


def test_what_would_leak_plaintext_is_refused(stack):
    key, _ = attested_key(stack)
    e2ee = E2eeClient(key, model=stack.model)
    body = {"model": stack.model, "messages": e2ee.seal_messages(MESSAGES), "max_tokens": 2, "logprobs": True}
    assert error_of(post(stack, e2ee, body))["param"] == "logprobs"
    e2ee = E2eeClient(key, model=stack.model)
    error = error_of(post(stack, e2ee, {"model": stack.model, "prompt": seal(key, "hi"), "max_tokens": 2},
                          path="/v1/completions"))
    assert error["type"] == "e2ee_unsupported_endpoint"
