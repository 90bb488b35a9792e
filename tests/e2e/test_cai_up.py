"""`cai up` prints what a user needs and Ctrl-C stops all four services cleanly."""
import os
import pathlib
import tempfile

from conftest import start_stack, stop_stack


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
        # Sockets are gone with their services.
        assert not list((pathlib.Path(d) / "run").glob("*.sock"))


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
