"""Starts the whole stack through `cai up` (the same code path a user runs) on an ephemeral port."""
import json
import os
import pathlib
import signal
import subprocess
import tempfile
import time

import httpx
import openai
import pytest
import requests

from recording_transport import RecordingTransport

API_KEY = "sk-cai-e2e-" + os.urandom(8).hex()


def bin_dir() -> pathlib.Path:
    d = os.environ.get("CAI_BIN_DIR")
    if not d:
        pytest.fail("CAI_BIN_DIR is not set (run through ctest)")
    return pathlib.Path(d)


class Stack:
    def __init__(self, proc, ready, workdir):
        self.proc = proc
        self.ready = ready
        self.workdir = workdir
        self.url = ready["url"]
        self.model = ready["model"]
        self.signing_address = ready["signing_address"]
        self.api_key = API_KEY
        self.demo_model_dir = cache_dir() / "demo-model"

    def headers(self):
        return {"Authorization": f"Bearer {self.api_key}"}


def cache_dir() -> pathlib.Path:
    """Where `cai up` keeps the demo model in tests: once per build tree, not in $HOME."""
    return pathlib.Path(os.environ.get("CAI_CACHE_DIR", str(bin_dir().parent / "cache")))


def cai_env():
    """The environment `cai up` runs in here: the demo model written once per build tree (not into
    $HOME), and API keys from the file a test names only, never from the caller's CAI_API_KEYS."""
    env = dict(os.environ, CAI_CACHE_DIR=str(cache_dir()))
    env.pop("CAI_API_KEYS", None)
    return env


def start_stack(workdir: pathlib.Path, extra_args=()):
    keys = workdir / "api-keys"
    keys.write_text(f"# test keys\n{API_KEY}\n")
    ready_file = workdir / "ready.json"
    env = cai_env()
    log = open(workdir / "cai-up.log", "wb")
    proc = subprocess.Popen(
        [str(bin_dir() / "cai"), "up", "--port", "0", "--runtime-dir", str(workdir / "run"),
         "--api-keys-file", str(keys), "--ready-file", str(ready_file), *extra_args],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if ready_file.exists():
            return Stack(proc, json.loads(ready_file.read_text()), workdir)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    log.close()
    pytest.fail("cai up did not become ready:\n" + (workdir / "cai-up.log").read_text(errors="replace")[-6000:])


def stop_stack(stack: Stack, timeout=30) -> int:
    if stack.proc.poll() is None:
        stack.proc.send_signal(signal.SIGINT)
        try:
            return stack.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stack.proc.kill()
            stack.proc.wait()
            return -9
    return stack.proc.returncode


@pytest.fixture(scope="session")
def stack():
    with tempfile.TemporaryDirectory(prefix="cai-e2e-") as d:
        s = start_stack(pathlib.Path(d))
        yield s
        stop_stack(s)


def recording_client(stack):
    """The official OpenAI client for the stack, with a transport that keeps the exact bytes."""
    transport = RecordingTransport()
    client = openai.OpenAI(base_url=stack.url + "/v1", api_key=stack.api_key,
                           http_client=httpx.Client(transport=transport), max_retries=0)
    return client, transport


def attestation(stack, algo, nonce=None):
    """The attestation report for `algo` and a nonce (random when not given), and that nonce."""
    nonce = nonce or os.urandom(32).hex()
    r = requests.get(f"{stack.url}/v1/attestation/report",
                     params={"nonce": nonce, "signing_algo": algo}, headers=stack.headers(), timeout=30)
    assert r.status_code == 200, r.text
    return r.json(), nonce
