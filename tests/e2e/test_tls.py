"""HTTPS ends in the edge, inside the VM: a real OpenAI client, the signature fetch and `cai verify`
all work over TLS against the configured certificate, and nothing is served in clear."""
import datetime
import hashlib
import ipaddress
import pathlib
import subprocess
import tempfile

import httpx
import openai
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from eth_account import Account
from eth_account.messages import encode_defunct

from conftest import bin_dir, start_stack, stop_stack
from recording_transport import RecordingTransport


def write_self_signed(directory: pathlib.Path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cai e2e")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "edge.crt", directory / "edge.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_stack():
    with tempfile.TemporaryDirectory(prefix="cai-e2e-tls-") as d:
        workdir = pathlib.Path(d)
        cert, key = write_self_signed(workdir)
        stack = start_stack(workdir, ["--tls-cert", str(cert), "--tls-key", str(key)])
        stack.cert = cert
        yield stack
        stop_stack(stack)


def test_openai_client_gets_a_signed_answer_over_https(tls_stack):
    assert tls_stack.url.startswith("https://127.0.0.1:"), tls_stack.url
    transport = RecordingTransport(httpx.HTTPTransport(verify=str(tls_stack.cert)))
    client = openai.OpenAI(base_url=tls_stack.url + "/v1", api_key=tls_stack.api_key,
                           http_client=httpx.Client(transport=transport), max_retries=0)
    r = client.chat.completions.create(model=tls_stack.model, messages=[{"role": "user", "content": "Hi"}],
                                       max_tokens=4)
    exchange = transport.exchanges[-1]
    request_bytes, response_bytes = exchange["request"], bytes(exchange["response"])
    sig = requests.get(f"{tls_stack.url}/v1/signature/{r.id}", params={"signing_algo": "ecdsa"},
                       headers=tls_stack.headers(), verify=str(tls_stack.cert), timeout=30).json()
    assert sig["text"] == hashlib.sha256(request_bytes).hexdigest() + ":" + hashlib.sha256(response_bytes).hexdigest()
    assert Account.recover_message(encode_defunct(text=sig["text"]), signature=sig["signature"]) == \
        tls_stack.signing_address


def test_streamed_chat_over_https_arrives_whole(tls_stack):
    client = openai.OpenAI(base_url=tls_stack.url + "/v1", api_key=tls_stack.api_key,
                           http_client=httpx.Client(verify=str(tls_stack.cert)), max_retries=0)
    kwargs = dict(model=tls_stack.model, messages=[{"role": "user", "content": "Hi"}], max_tokens=16, seed=7)
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in
                       client.chat.completions.create(stream=True, **kwargs) if chunk.choices)
    assert streamed == client.chat.completions.create(**kwargs).choices[0].message.content


def test_cai_verify_checks_the_service_over_https_and_refuses_an_untrusted_certificate(tls_stack):
    base = [str(bin_dir() / "cai"), "verify", "service", tls_stack.url, "--allow-simulated", "--api-key",
            tls_stack.api_key]
    pinned = subprocess.run(base + ["--tls-ca", str(tls_stack.cert)], capture_output=True, text=True, timeout=120)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    untrusted = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert untrusted.returncode == 1, untrusted.stdout
    assert "certificate" in untrusted.stdout, untrusted.stdout
    # Trusted, but not for this name: the certificate names 127.0.0.1 only.
    renamed = subprocess.run([str(bin_dir() / "cai"), "verify", "service", tls_stack.url.replace("127.0.0.1", "localhost"),
                              "--allow-simulated", "--api-key", tls_stack.api_key, "--tls-ca", str(tls_stack.cert)],
                             capture_output=True, text=True, timeout=120)
    assert renamed.returncode == 1, renamed.stdout
    assert "hostname mismatch" in renamed.stdout, renamed.stdout
    health = subprocess.run([str(bin_dir() / "cai"), "health", "http", tls_stack.url, "--tls-ca", str(tls_stack.cert)],
                            capture_output=True, text=True, timeout=60)
    assert health.returncode == 0, health.stderr


def test_nothing_is_served_in_clear(tls_stack):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(tls_stack.url.replace("https://", "http://") + "/health", timeout=10)
