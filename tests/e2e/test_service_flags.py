"""Services refuse bad configuration at start, naming what is wrong: cai-inference's engine flags out of
range (before loading anything), cai-edge's API key files that hold no usable key."""
import subprocess

import pytest

from conftest import bin_dir


@pytest.mark.parametrize("flag", [
    "--gpu_decode_partitions=0", "--gpu_decode_partitions=17", "--gpu_kv_cache_fraction=0",
    "--gpu_kv_cache_fraction=1.5", "--max_batch_tokens=70000", "--max_running_sequences=-1", "--kv_cache_mib=-1",
])
def test_out_of_range_engine_flag_is_refused(flag):
    name = flag.split("=")[0]
    proc = subprocess.run([str(bin_dir() / "cai-inference"), "--model", "/nonexistent", "--listen", "127.0.0.1:0",
                           "--device", "cpu", flag], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"{name} in" in proc.stderr or f"{name} must be in" in proc.stderr, proc.stderr
    assert "cannot load model" not in proc.stderr  # refused before the model was looked at


@pytest.mark.parametrize("flag", [
    "--gpu_decode_partitions=1", "--gpu_decode_partitions=16", "--gpu_kv_cache_fraction=1",
    "--max_batch_tokens=65535", "--max_running_sequences=4096", "--kv_cache_mib=0",
])
def test_engine_flag_at_the_edge_of_its_range_is_accepted(flag):
    # The range check lets it through: the service goes on to the (missing) model.
    proc = subprocess.run([str(bin_dir() / "cai-inference"), "--model", "/nonexistent", "--listen", "127.0.0.1:0",
                           "--device", "cpu", flag], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "cannot load model" in proc.stderr, proc.stderr


@pytest.mark.parametrize("contents, reason", [
    ("# sk-commented-out\n\n", "holds no key"),
    ("sk-ok\nsk with space\n", "on line 2 of the file"),
])
def test_edge_refuses_a_key_file_that_would_leave_it_open_or_unusable(tmp_path, contents, reason):
    keys = tmp_path / "api-keys"
    keys.write_text(contents)
    proc = subprocess.run([str(bin_dir() / "cai-edge"), "--port", "0", "--api_keys_file", str(keys)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert reason in proc.stderr, proc.stderr
    assert "with space" not in proc.stderr  # a key is a secret: never echoed


@pytest.mark.parametrize("binary, flag", [
    ("cai-edge", "--api_keys_file"), ("cai-signer", "--signature_ttl_seconds"), ("cai-attestor", "--allow_simulated"),
    ("cai-inference", "--gpu_kv_cache_fraction"), ("cai-demo-model", "--out"),
])
def test_help_lists_the_binarys_own_flags(binary, flag):
    proc = subprocess.run([str(bin_dir() / binary), "--help"], capture_output=True, text=True, timeout=60)
    text = proc.stdout + proc.stderr
    assert "Usage: " + binary in text, text
    assert flag in text, text
    assert "No flags matched" not in text, text
