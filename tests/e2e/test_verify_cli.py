"""`cai verify service`: passes on the simulated stack only when simulation is allowed, and fails
when the signature does not come from the attested key."""
import http.server
import json
import subprocess
import threading
import urllib.parse

import requests
from eth_account import Account
from eth_account.messages import encode_defunct

from conftest import bin_dir


def verify(url, *args, api_key=None):
    cmd = [str(bin_dir() / "cai"), "verify", "service", url, *args]
    if api_key:
        cmd += ["--api-key", api_key]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_passes_with_allow_simulated(stack):
    r = verify(stack.url, "--allow-simulated", api_key=stack.api_key)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "result: PASS" in r.stdout
    assert "[fail]" not in r.stdout
    assert stack.signing_address in r.stdout


def test_json_output_lists_every_check(stack):
    r = verify(stack.url, "--allow-simulated", "--json", api_key=stack.api_key)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["passed"] is True and doc["simulated"] is True
    assert isinstance(doc["reply"], str) and doc["response_id"].startswith("chatcmpl-")
    outcomes = {c["outcome"] for c in doc["checks"]}
    assert outcomes <= {"pass", "fail", "not performed"}
    # Checks that need NVIDIA's online services are never reported as passed.
    assert any(c["outcome"] == "not performed" for c in doc["checks"])


def test_fails_on_simulated_evidence_without_allow_simulated(stack):
    r = verify(stack.url, api_key=stack.api_key)
    assert r.returncode == 1, r.stdout
    assert "result: FAIL" in r.stdout
    assert "SIMULATED evidence, which proves nothing" in r.stdout


class _RewritingProxy(http.server.BaseHTTPRequestHandler):
    """Forwards every request byte for byte and passes on only the status, Content-Type and body,
    which `rewrite` may change."""
    upstream = ""

    def rewrite(self, path, query, response) -> bytes:
        return response.content

    def _forward(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        r = requests.request(method, self.upstream + self.path, data=body, headers=headers, timeout=60)
        parsed = urllib.parse.urlparse(self.path)
        payload = self.rewrite(parsed.path, urllib.parse.parse_qs(parsed.query), r)
        self.send_response(r.status_code)
        self.send_header("Content-Type", r.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self._forward("GET")

    def do_POST(self):
        self._forward("POST")

    def log_message(self, *args):
        pass


def serve(proxy, upstream):
    """Starts `proxy` in front of `upstream`; returns the server (shut it down) and its URL."""
    proxy.upstream = upstream
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _ForeignSignatureProxy(_RewritingProxy):
    """Answers ECDSA signature requests with a valid EIP-191 signature of the same text by a key
    the service never attested."""
    foreign = Account.create()

    def rewrite(self, path, query, response):
        if path.startswith("/v1/signature/") and response.status_code == 200 and \
                query.get("signing_algo", ["ecdsa"])[0] == "ecdsa":
            doc = response.json()
            signed = self.foreign.sign_message(encode_defunct(text=doc["text"]))
            doc["signature"] = "0x" + signed.signature.hex().removeprefix("0x")
            return json.dumps(doc).encode()
        return response.content


def test_fails_when_signature_comes_from_another_key(stack):
    server, proxy_url = serve(_ForeignSignatureProxy, stack.url)
    try:
        r = verify(proxy_url, "--allow-simulated", api_key=stack.api_key)
        assert r.returncode == 1, r.stdout
        assert "signature (ecdsa): signed by the attested key" in r.stdout
        assert _ForeignSignatureProxy.foreign.address in r.stdout
        assert "not the attested address" in r.stdout
        # The proxy passes no response headers on, so the answer does not say it was encrypted.
        assert "X-E2EE-Applied" in r.stdout
    finally:
        server.shutdown()


def test_end_to_end_encryption_round_trip_is_checked(stack):
    r = verify(stack.url, "--allow-simulated", "--json", api_key=stack.api_key)
    doc = json.loads(r.stdout)
    outcomes = {c["name"]: c["outcome"] for c in doc["checks"]}
    assert outcomes["attestation (ecdsa): signing_public_key is the attested key"] == "pass"
    assert outcomes["end-to-end encryption: sealed to the attested key, answered sealed to ours"] == "pass"


class _KeySwapProxy(_RewritingProxy):
    """Puts another key in the ECDSA report's signing_public_key."""
    other_key = Account.create()

    def rewrite(self, path, query, response):
        if path == "/v1/attestation/report" and response.status_code == 200 and \
                response.json()["signing_algo"] == "ecdsa":
            doc = response.json()
            doc["signing_public_key"] = self.other_key._key_obj.public_key.to_bytes().hex()  # x || y
            return json.dumps(doc).encode()
        return response.content


def test_a_report_whose_public_key_is_not_the_attested_one_fails(stack):
    server, proxy_url = serve(_KeySwapProxy, stack.url)
    try:
        r = verify(proxy_url, "--allow-simulated", "--json", api_key=stack.api_key)
        assert r.returncode == 1, r.stdout
        checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
        swapped = checks["attestation (ecdsa): signing_public_key is the attested key"]
        assert swapped["outcome"] == "fail"
        assert _KeySwapProxy.other_key.address in swapped["detail"]
        # With no attested key to seal to, the round trip is not attempted.
        assert checks["end-to-end encryption: sealed to the attested key, answered sealed to ours"]["outcome"] == \
            "not performed"
    finally:
        server.shutdown()
