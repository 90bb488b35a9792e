"""`cai up` prints what a user needs and Ctrl-C stops all four services cleanly."""
import os
import pathlib
import subprocess
import tempfile

import pytest

from conftest import bin_dir, cache_dir, cai_env, start_stack, stop_stack


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_up_prints_url_address_and_verified_example_then_stops_on_ctrl_c():
    with tempfile.TemporaryDirectory(prefix="cai-up-") as d:
        stack = start_stack(pathlib.Path(d))
        pids = stack.ready["pids"]
        assert set(pids) == {"cai-signer", "cai-attestor", "cai-inference", "cai-edge"}
        assert all(alive(p) for p in pids.values())
        assert stop_stack(stack) == 0
        assert not any(alive(p) for p in pids.values())
        out = (pathlib.Path(d) / "cai-up.log").read_text()
        assert stack.url + "/v1" in out
        assert stack.signing_address in out
        assert "Example request (verified just now" in out
        assert "0 failed" in out and "cai verify service" in out
        assert "meaningless" in out and "--model" in out
        assert "SIMULATED" in out
        # --device auto: the model runs where it can, and the log says where.
        on = "cuda" if gpu_present() else "cpu"
        assert f"loaded cai-demo on {on}" in out, out[-3000:]
        # Sockets and the port file are gone with their services.
        assert not list((pathlib.Path(d) / "run").glob("*.sock"))
        assert not (pathlib.Path(d) / "run" / "edge.port").exists()
        # The example pastes into a shell: $KEY in double quotes, so the shell expands it.
        assert "-H \"Authorization: Bearer $KEY\"" in out, out


def gpu_present():
    return pathlib.Path("/dev/nvidia0").exists()


def test_device_cuda_without_a_gpu_fails_clearly():
    if gpu_present():
        pytest.skip("a GPU is present: --device cuda is exercised by the gpu-labelled tests")
    with tempfile.TemporaryDirectory(prefix="cai-up-") as d:
        workdir = pathlib.Path(d)
        env = dict(os.environ, CAI_CACHE_DIR=str(cache_dir()), CAI_API_KEYS="sk-unused")
        proc = subprocess.run(
            [str(bin_dir() / "cai"), "up", "--port", "0", "--runtime-dir", str(workdir / "run"),
             "--device", "cuda"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300)
        out = proc.stdout.decode(errors="replace")
        assert proc.returncode != 0, out[-3000:]
        assert "cannot load model on cuda" in out, out[-3000:]
        assert ("no CUDA device" in out) or ("built without the CUDA backend" in out), out[-3000:]
        # Nothing is left running: the signer and attestor it had started are stopped.
        assert not list((workdir / "run").glob("*.sock"))


@pytest.mark.parametrize("keys, ready_file, reason", [
    ("# every key commented out\n", None, "holds no key"),
    ("sk-ok\n", "no-such-dir/ready.json", "cannot write the ready file"),
])
def test_up_refuses_what_would_fail_later_before_starting_anything(keys, ready_file, reason):
    with tempfile.TemporaryDirectory(prefix="cai-up-") as d:
        workdir = pathlib.Path(d)
        (workdir / "keys").write_text(keys)
        args = [str(bin_dir() / "cai"), "up", "--port", "0", "--runtime-dir", str(workdir / "run"),
                "--api-keys-file", str(workdir / "keys")]
        if ready_file:
            args += ["--ready-file", str(workdir / ready_file)]
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=cai_env(), timeout=60)
        out = proc.stdout.decode(errors="replace")
        assert proc.returncode == 2, out
        assert reason in out, out
        assert "Starting cai" not in out, out


def test_signer_keeps_keys_out_of_core_dumps():
    with tempfile.TemporaryDirectory(prefix="cai-up-") as d:
        stack = start_stack(pathlib.Path(d))
        try:
            pid = stack.ready["pids"]["cai-signer"]
            limits = pathlib.Path(f"/proc/{pid}/limits").read_text()
            core = next(l for l in limits.splitlines() if l.startswith("Max core file size"))
            assert core.split()[4] == "0", core
            status = pathlib.Path(f"/proc/{pid}/status").read_text()
            locked_kb = int(next(l for l in status.splitlines() if l.startswith("VmLck:")).split()[1])
            assert locked_kb > 0, "the signer's key memory is not mlock'd"
        finally:
            stop_stack(stack)
