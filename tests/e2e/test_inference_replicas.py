"""Scale-out: one edge in front of two cai-inference replicas of the same model, named by one gRPC
target (ipv4:a,b) with --inference_round_robin. Requests are spread over both, and when one replica
stops the other serves on."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import openai
import pytest
import requests

from conftest import bin_dir


def wait_for_log(path, pattern, proc, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        match = re.search(pattern, path.read_text(errors="replace")) if path.exists() else None
        if match:
            return match
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"{path.name}: no '{pattern}':\n" + (path.read_text(errors="replace")[-4000:] if path.exists() else ""))


def generated(log):
    return len(re.findall(r"generated prompt_tokens=", log.read_text(errors="replace")))


def wait_for_file(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            return path.read_text().strip()
        time.sleep(0.1)
    pytest.fail(f"{path} was not written")


@pytest.fixture
def replicas(tmp_path):
    procs = []
    env = dict(os.environ)
    env.pop("CAI_API_KEYS", None)  # the edge here is open; never the caller's keys
    sockets = tempfile.mkdtemp(prefix="cai-")  # short: a unix socket path has at most 107 bytes

    def start(name, args):
        log = tmp_path / f"{name}.log"
        proc = subprocess.Popen([str(bin_dir() / args[0]), *args[1:]], stdout=subprocess.DEVNULL,
                                stderr=open(log, "wb"), env=env)
        procs.append(proc)
        return proc, log

    try:
        model = tmp_path / "demo"
        subprocess.run([str(bin_dir() / "cai-demo-model"), "--out", str(model), "--layers", "2"], check=True,
                       capture_output=True, timeout=300)
        signer, signer_log = start("signer", ["cai-signer", "--listen", f"unix:{sockets}/signer.sock"])
        wait_for_log(signer_log, r"listening on", signer)
        inference = []
        for i in range(2):
            proc, log = start(f"inference{i}", ["cai-inference", "--model", str(model), "--device", "cpu",
                                                "--threads", "1", "--listen", "127.0.0.1:0"])
            port = wait_for_log(log, r"listening on 127\.0\.0\.1:(\d+)", proc).group(1)
            inference.append((proc, log, port))
        target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for _, _, port in inference)
        port_file = tmp_path / "edge.port"
        edge, _ = start("edge", ["cai-edge", "--port", "0", "--port_file", str(port_file),
                                 "--signer", f"unix:{sockets}/signer.sock", "--inference", target,
                                 "--inference_round_robin"])
        yield f"http://127.0.0.1:{wait_for_file(port_file, edge)}", inference, model.name
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for name in os.listdir(sockets):
            os.unlink(os.path.join(sockets, name))
        os.rmdir(sockets)


def chat(client, model):
    return client.chat.completions.create(model=model, max_tokens=2, temperature=0,
                                          messages=[{"role": "user", "content": "hi"}])


def test_requests_are_spread_over_replicas_and_survive_one_dying(replicas):
    url, inference, model = replicas
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=60)
    assert [m.id for m in client.models.list().data] == [model]
    # Round robin uses the replicas it is connected to; both are up, so both take requests soon.
    for _ in range(200):
        assert chat(client, model).choices[0].finish_reason in ("stop", "length")
        if all(generated(log) > 0 for _, log, _ in inference):
            break
    assert [generated(log) > 0 for _, log, _ in inference] == [True, True]

    # One replica goes away: once the edge has noticed, every request goes to the other.
    dead, dead_log, _ = inference[0]
    dead.send_signal(signal.SIGTERM)
    dead.wait(timeout=30)
    survivor_log = inference[1][1]
    deadline = time.monotonic() + 60
    streak = 0
    while streak < 10 and time.monotonic() < deadline:
        try:
            chat(client, model)
            streak += 1
        except openai.APIStatusError:
            streak = 0  # a request that raced the shutdown
    assert streak == 10, "requests kept failing after a replica went away"
    before = generated(survivor_log)
    for _ in range(4):
        chat(client, model)
    assert generated(survivor_log) == before + 4
    # The signature of an answer from the survivor is there like any other.
    r = requests.post(url + "/v1/chat/completions", timeout=60, data=json.dumps(
        {"model": model, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}))
    assert r.status_code == 200, r.text
    sig = requests.get(f"{url}/v1/signature/{r.json()['id']}", timeout=30)
    assert sig.status_code == 200 and sig.json()["signing_address"].startswith("0x"), sig.text
