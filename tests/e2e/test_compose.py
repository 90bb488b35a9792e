"""compose/docker-compose.yml and its GPU overlay are valid for Compose and keep the trust
boundaries of DESIGN.md; the Dockerfile has a target for every image they build."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose" / "docker-compose.yml"
GPU_OVERLAY = ROOT / "compose" / "gpu.yml"
TLS_OVERLAY = ROOT / "compose" / "tls.yml"
DOCKERFILE = ROOT / "compose" / "Dockerfile"


def compose_config(*files, env=None):
    """The configuration Compose itself makes of these files (overlays merged), or a skip."""
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose (Debian package docker-compose) is not installed")
    args = [tool]
    for f in files:
        args += ["-f", str(f)]
    r = subprocess.run(args + ["config"], capture_output=True, text=True, cwd=COMPOSE.parent,
                       env=None if env is None else {**os.environ, **env})
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)


def gpu_requests(service):
    return [d for d in service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
            if "gpu" in d.get("capabilities", [])]


def test_compose_config_is_valid():
    compose_config(COMPOSE)


def check_isolation(doc):
    services = doc["services"]
    assert set(services) == {"edge", "signer", "attestor", "inference"}
    for name, svc in services.items():
        assert ("ports" in svc) == (name == "edge"), name
        assert "healthcheck" in svc, name
    internal = [n for n, net in doc["networks"].items() if net and net.get("internal")]
    assert internal, "no internal network"
    for name in ("signer", "inference"):
        assert set(services[name]["networks"]) <= set(internal), f"{name} can reach the outside"


def test_only_edge_publishes_and_backends_have_no_egress():
    # The base file as written, wherever the tests run; then with the GPU overlay merged by
    # docker compose (skipped where it is not installed).
    check_isolation(yaml.safe_load(COMPOSE.read_text()))
    check_isolation(compose_config(COMPOSE, GPU_OVERLAY))


def test_base_file_starts_without_a_gpu_runtime():
    # A GPU reservation makes Docker refuse the container on a host without the NVIDIA runtime.
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert not any(gpu_requests(svc) for svc in services.values())
    # The operator chooses the device (CAI_DEVICE); the default lets the service pick and log it.
    command = services["inference"]["command"]
    assert command[command.index("--device") + 1] == "${CAI_DEVICE:-auto}"
    # The inference service exits 1 when its GPU context is lost; compose starts a fresh one.
    assert services["inference"]["restart"] == "on-failure"


def test_gpu_overlay_runs_the_cuda_image_on_the_gpu():
    services = compose_config(COMPOSE, GPU_OVERLAY)["services"]
    inference = services["inference"]
    assert inference["build"]["target"] == "inference-cuda"
    command = inference["command"]
    assert command[command.index("--device") + 1] == "cuda"  # no quiet fallback to the CPU
    assert gpu_requests(inference)
    assert gpu_requests(services["attestor"])  # NVML for the GPU's evidence
    assert not gpu_requests(services["signer"]) and not gpu_requests(services["edge"])
    # The overlay changes nothing else of the inference service's isolation.
    assert inference["read_only"] is True


def test_tls_overlay_serves_https_with_its_secrets_and_probes_it():
    # The overlay as written (wherever the tests run): every flag's file is one of its secrets.
    base = yaml.safe_load(COMPOSE.read_text())
    edge = yaml.safe_load(TLS_OVERLAY.read_text())["services"]["edge"]
    flags = dict(arg.split("=", 1) for arg in edge["command"])
    assert flags["--tls_cert_file"] == "/run/secrets/tls_cert" and flags["--tls_key_file"] == "/run/secrets/tls_key"
    assert set(edge["secrets"]) == {"api_keys", "tls_cert", "tls_key"}
    # Compose replaces a command list whole: the overlay keeps every flag of the base's edge.
    assert set(base["services"]["edge"]["command"]) <= set(edge["command"])
    assert edge["healthcheck"]["test"][4].startswith("https://")
    # Merged by docker compose (skipped where it is not installed): isolation unchanged.
    example = str(COMPOSE.parent / "api_keys.example")
    merged = compose_config(COMPOSE, TLS_OVERLAY, env={"CAI_TLS_CERT": example, "CAI_TLS_KEY": example})
    check_isolation(merged)
    assert "--tls_cert_file=/run/secrets/tls_cert" in merged["services"]["edge"]["command"]


def test_every_built_target_exists_in_the_dockerfile():
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", DOCKERFILE.read_text(), re.MULTILINE))
    wanted = set()
    for f in (COMPOSE, GPU_OVERLAY):
        for svc in yaml.safe_load(f.read_text())["services"].values():
            if "target" in svc.get("build", {}):
                wanted.add(svc["build"]["target"])
    assert wanted == {"signer", "attestor", "inference", "edge", "inference-cuda"}
    assert wanted <= targets, wanted - targets


def test_services_that_lock_secrets_in_memory_may_lock_enough():
    # The signer's keys, and the edge's per-response E2EE keys, live in mlock'd pages; Docker's
    # default memlock limit (often 64 KiB) would run out after a few requests.
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("signer", "edge"):
        assert services[name]["ulimits"]["memlock"]["hard"] >= 16 << 20, name
        assert "IPC_LOCK" in services[name]["cap_add"], name
        assert services[name]["ulimits"]["core"]["hard"] == 0, name
