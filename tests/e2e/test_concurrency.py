"""Done-when 4: a signature fetched right after each of 200 concurrent streamed requests is never 404."""
import concurrent.futures
import json

import requests

CONCURRENCY = 200


def stream_then_fetch(stack, i):
    body = {"model": stack.model, "messages": [{"role": "user", "content": f"request {i}"}],
            "max_tokens": 4, "stream": True, "seed": i}
    with requests.Session() as session:
        r = session.post(stack.url + "/v1/chat/completions", data=json.dumps(body),
                         headers={**stack.headers(), "Content-Type": "application/json"}, stream=True, timeout=300)
        assert r.status_code == 200, r.text
        raw = b"".join(r.iter_content(chunk_size=None))
        assert raw.endswith(b"data: [DONE]\n\n")
        first = json.loads(raw.split(b"\n\n", 1)[0].removeprefix(b"data: "))
        # Immediately after the last byte: the signature must already be there.
        sig = session.get(f"{stack.url}/v1/signature/{first['id']}", headers=stack.headers(), timeout=60)
        return sig.status_code


def test_signature_is_ready_when_the_stream_ends(stack):
    with concurrent.futures.ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        statuses = list(pool.map(lambda i: stream_then_fetch(stack, i), range(CONCURRENCY)))
    assert statuses.count(200) == CONCURRENCY, {s: statuses.count(s) for s in set(statuses)}
