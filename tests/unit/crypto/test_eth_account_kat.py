"""Known-answer tests: our signers must produce byte-identical output to eth_account (ECDSA,
EIP-191 personal_sign) and to cryptography (Ed25519), the tools verifiers use."""
import os
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from eth_account.messages import encode_defunct

KEYS = [
    "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
    "0000000000000000000000000000000000000000000000000000000000000001",
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",  # n - 1
]
TEXTS = [
    "hello",
    "",
    "a" * 200,
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:"
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    "h\u00e9llo w\u00f6rld \u2713 \U0001f600",
    "line1\nline2\ttab",
]


def run(tool_env, key, text):
    out = subprocess.run([os.environ[tool_env], key, text], check=True, capture_output=True, text=True)
    return out.stdout.split("\n")[:2]


def strip0x(s):
    return s[2:] if s.startswith("0x") else s


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("text", TEXTS)
def test_ecdsa_matches_eth_account(key, text):
    signature, address = run("ETH_SIGN_KAT", key, text)
    account = Account.from_key("0x" + key)
    expected = account.sign_message(encode_defunct(text=text))
    assert strip0x(signature) == strip0x(expected.signature.hex())
    assert signature.startswith("0x")
    assert address == account.address  # both EIP-55
    assert Account.recover_message(encode_defunct(text=text), signature=signature) == account.address


@pytest.mark.parametrize("seed", KEYS)
@pytest.mark.parametrize("text", TEXTS)
def test_ed25519_matches_cryptography(seed, text):
    signature, public_key = run("ED25519_SIGN_KAT", seed, text)
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    assert signature == key.sign(text.encode("utf-8")).hex()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert public_key == raw.hex()
