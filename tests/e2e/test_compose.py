"""compose/docker-compose.yml is valid for Compose and keeps the trust boundaries of DESIGN.md."""
import pathlib
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose" / "docker-compose.yml"


def test_compose_config_is_valid():
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose (Debian package docker-compose) is not installed")
    r = subprocess.run([tool, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                       cwd=COMPOSE.parent)
    assert r.returncode == 0, r.stderr


def test_only_edge_publishes_and_backends_have_no_egress():
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert set(services) == {"edge", "signer", "attestor", "inference"}
    for name, svc in services.items():
        assert ("ports" in svc) == (name == "edge"), name
        assert "healthcheck" in svc, name
    internal = [n for n, net in doc["networks"].items() if net and net.get("internal")]
    assert internal, "no internal network"
    for name in ("signer", "inference"):
        assert set(services[name]["networks"]) <= set(internal), f"{name} can reach the outside"
    devices = services["inference"]["deploy"]["resources"]["reservations"]["devices"]
    assert any("gpu" in d.get("capabilities", []) for d in devices)
    # The operator chooses the device (CAI_DEVICE); the default lets the service pick and log it.
    command = services["inference"]["command"]
    assert command[command.index("--device") + 1] == "${CAI_DEVICE:-auto}"
