"""Done-when 3: every bad input gets its status and an OpenAI error object; the service keeps serving."""
import json
import socket
import time

import openai
import pytest
import requests


def post(stack, path, body, headers=None, raw=False):
    h = dict(stack.headers())
    h["Content-Type"] = "application/json"
    if headers is not None:
        h = headers
    data = body if raw else json.dumps(body)
    return requests.post(stack.url + path, data=data, headers=h, timeout=30)


def assert_error(r, status, param=None):
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert set(err) >= {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if param is not None:
        assert err["param"] == param, err


def good_chat(stack):
    return {"model": stack.model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


CHAT = "/v1/chat/completions"


@pytest.mark.parametrize("name,mutate,param", [
    ("temperature_type", lambda b: b.update(temperature="hot"), "temperature"),
    ("temperature_range", lambda b: b.update(temperature=2.5), "temperature"),
    ("top_p_range", lambda b: b.update(top_p=0), "top_p"),
    ("max_tokens_negative", lambda b: b.update(max_tokens=-1), "max_tokens"),
    ("max_tokens_type", lambda b: b.update(max_tokens="many"), "max_tokens"),
    ("messages_missing", lambda b: b.pop("messages"), "messages"),
    ("messages_empty", lambda b: b.update(messages=[]), "messages"),
    ("messages_type", lambda b: b.update(messages="hi"), "messages"),
    ("role_type", lambda b: b.update(messages=[{"role": 3, "content": "x"}]), None),
    ("model_type", lambda b: b.update(model=5), "model"),
    ("stream_type", lambda b: b.update(stream="yes"), "stream"),
    ("stop_too_many", lambda b: b.update(stop=["a", "b", "c", "d", "e"]), "stop"),
    ("seed_type", lambda b: b.update(seed="x"), "seed"),
])
def test_wrong_field_types_and_ranges_are_400(stack, name, mutate, param):
    body = good_chat(stack)
    mutate(body)
    assert_error(post(stack, CHAT, body), 400, param)


def test_malformed_json_is_400(stack):
    assert_error(post(stack, CHAT, b'{"model": ', raw=True), 400)
    assert_error(post(stack, CHAT, b"[1,2]", raw=True), 400)


def test_unknown_model_is_404(stack):
    body = good_chat(stack)
    body["model"] = "no-such-model"
    r = post(stack, CHAT, body)
    assert_error(r, 404)
    assert r.json()["error"]["code"] == "model_not_found"


def test_missing_or_wrong_key_is_401(stack):
    assert_error(post(stack, CHAT, good_chat(stack), headers={"Content-Type": "application/json"}), 401)
    assert_error(post(stack, CHAT, good_chat(stack),
                      headers={"Content-Type": "application/json", "Authorization": "Bearer sk-wrong"}), 401)
    r = requests.get(stack.url + "/v1/signature/chatcmpl-x", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert_error(r, 401)


def test_body_over_limit_is_413(stack):
    big = good_chat(stack)
    big["messages"][0]["content"] = "x" * (2 << 20)
    assert_error(post(stack, CHAT, big), 413)


def test_unknown_or_expired_signature_is_404(stack):
    r = requests.get(stack.url + "/v1/signature/chatcmpl-" + "0" * 32, headers=stack.headers(), timeout=10)
    assert_error(r, 404)


def test_unknown_signing_algo_is_400(stack):
    r = requests.get(stack.url + "/v1/signature/chatcmpl-" + "0" * 32, params={"signing_algo": "rsa"},
                     headers=stack.headers(), timeout=10)
    assert_error(r, 400)
    r = requests.get(stack.url + "/v1/attestation/report", params={"signing_algo": "rsa"},
                     headers=stack.headers(), timeout=10)
    assert_error(r, 400)


@pytest.mark.parametrize("nonce", ["abc", "zz" * 32, "00" * 31, "00" * 33])
def test_bad_nonce_is_400(stack, nonce):
    r = requests.get(stack.url + "/v1/attestation/report", params={"nonce": nonce}, headers=stack.headers(),
                     timeout=10)
    assert_error(r, 400)


def test_unknown_route_is_404_and_wrong_method_is_405(stack):
    assert_error(requests.get(stack.url + "/v1/nothing-here", headers=stack.headers(), timeout=10), 404)
    assert_error(requests.get(stack.url + CHAT, headers=stack.headers(), timeout=10), 405)
    assert_error(requests.delete(stack.url + "/v1/models", headers=stack.headers(), timeout=10), 405)


def test_good_request_still_works_after_bad_ones(stack):
    r = post(stack, CHAT, good_chat(stack))
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "chat.completion"


def metric(stack, name):
    text = requests.get(stack.url + "/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def cancelled_generations(stack):
    log = (stack.workdir / "cai-up.log").read_text(errors="replace")
    return [line for line in log.splitlines() if "generation cancelled after" in line]


def test_client_disconnect_mid_stream_stops_generation(stack):
    body = good_chat(stack)
    # EOS is banned, so only the cancellation can end this generation before max_tokens.
    eos = json.loads((stack.demo_model_dir / "generation_config.json").read_text())["eos_token_id"]
    eos = eos if isinstance(eos, list) else [eos]
    # Two choices of 1900 tokens take seconds on two cores: far longer than the cancellation takes
    # to arrive, so the engine cannot finish first (the KV cache holds two full contexts).
    body.update(stream=True, max_tokens=1900, n=2, temperature=1.0, seed=1,
                logit_bias={str(t): -100 for t in eos})
    cancelled_before = len(cancelled_generations(stack))
    payload = json.dumps(body).encode()
    host, port = stack.url.removeprefix("http://").split(":")
    before = metric(stack, "cai_edge_client_disconnects_total")
    s = socket.create_connection((host, int(port)))
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              + f"Authorization: Bearer {stack.api_key}\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
              + payload)
    assert b"200 OK" in s.recv(4096)
    s.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if metric(stack, "cai_edge_client_disconnects_total") > before and metric(stack, "cai_edge_active_streams") == 0:
            break
        time.sleep(0.1)
    assert metric(stack, "cai_edge_client_disconnects_total") > before
    assert metric(stack, "cai_edge_active_streams") == 0
    # The inference service saw the cancellation and stopped generating before max_tokens.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(cancelled_generations(stack)) == cancelled_before:
        time.sleep(0.1)
    lines = cancelled_generations(stack)
    assert len(lines) > cancelled_before, "the inference service never saw the cancellation"
    assert "max_tokens=1900" in lines[-1]
    r = post(stack, CHAT, good_chat(stack))
    assert r.status_code == 200


def test_prompt_longer_than_the_context_is_context_length_exceeded(stack):
    # The demo model's context is 2048 tokens; its tokenizer spends at least one per word.
    body = good_chat(stack)
    body["messages"][0]["content"] = "hello " * 3000
    r = post(stack, CHAT, body)
    assert_error(r, 400, "messages")
    assert r.json()["error"]["code"] == "context_length_exceeded", r.text


def test_openai_sdk_sees_unsupported_features_as_bad_requests_and_retrieves_a_model(stack):
    client = openai.OpenAI(base_url=stack.url + "/v1", api_key=stack.api_key, max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    for kwargs, param in [({"tools": []}, "tools"),  # [] is too short, as OpenAI says
                          ({"functions": [tool["function"]]}, "functions"),  # deprecated: use tools
                          ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
                           "response_format.json_schema.schema"),  # no schema
                          ({"response_format": {"type": "json_object"}}, "messages")]:  # no 'json' in them
        with pytest.raises(openai.BadRequestError) as error:
            client.chat.completions.create(model=stack.model, messages=messages, max_tokens=2, **kwargs)
        assert error.value.param == param, error.value
    # "Off" values, tools the model is not to call, and the developer role go through.
    r = client.chat.completions.create(model=stack.model, max_tokens=2, tools=[tool], tool_choice="none",
                                       messages=[{"role": "developer", "content": "be brief"}, *messages])
    assert r.choices[0].message.content is not None
    assert client.models.retrieve(stack.model).id == stack.model
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
    # The model list is part of the API: it needs the key like the rest.
    assert_error(requests.get(stack.url + "/v1/models", timeout=10), 401)
