"""A client side of end-to-end encryption (Phala's protocol, "ecdsa" and "ed25519" modes), written
from the protocol text with Python's cryptography package, independently of the service's C++ code."""
import hashlib
import os
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_P = 2**255 - 19


def _raw(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _uncompressed(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _aes_key(shared: bytes, algo: str) -> bytes:
    info = b"ecdsa_encryption" if algo == "ecdsa" else b"ed25519_encryption"
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def x25519_of_ed25519_public(ed_public: bytes) -> x25519.X25519PublicKey:
    """RFC 7748 section 4.1: u = (1 + y) / (1 - y) mod p."""
    y = int.from_bytes(ed_public, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, _P - 2, _P) % _P
    return x25519.X25519PublicKey.from_public_bytes(u.to_bytes(32, "little"))


def x25519_of_ed25519_seed(seed: bytes) -> x25519.X25519PrivateKey:
    """The scalar Ed25519 signs with: the clamped first half of SHA-512(seed)."""
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return x25519.X25519PrivateKey.from_private_bytes(bytes(h))


def seal(recipient_public_hex: str, plaintext, aad: str = "", algo: str = "ecdsa") -> str:
    """plaintext: str (sent as UTF-8) or bytes."""
    if isinstance(plaintext, str):
        plaintext = plaintext.encode()
    raw = bytes.fromhex(recipient_public_hex)
    if algo == "ecdsa":
        recipient = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw if len(raw) == 65 else b"\x04" + raw)
        ephemeral = ec.generate_private_key(ec.SECP256K1())
        shared, ephemeral_public = ephemeral.exchange(ec.ECDH(), recipient), _uncompressed(ephemeral.public_key())
    else:
        ephemeral = x25519.X25519PrivateKey.generate()
        shared, ephemeral_public = ephemeral.exchange(x25519_of_ed25519_public(raw)), _raw(ephemeral.public_key())
    nonce = os.urandom(12)
    return (ephemeral_public + nonce + AESGCM(_aes_key(shared, algo)).encrypt(nonce, plaintext, aad.encode() or None)).hex()


class E2eeClient:
    """One request's keys and headers. version 2 binds every field to its place with associated data."""

    def __init__(self, model_public_hex: str, version: int = 2, model: str = "", timestamp: int = None,
                 algo: str = "ecdsa"):
        self.model_public_hex = model_public_hex
        self.algo = algo
        if algo == "ecdsa":
            self.private_key = ec.generate_private_key(ec.SECP256K1())
            self.public_hex = _uncompressed(self.private_key.public_key()).hex()
        else:
            seed = os.urandom(32)
            self.private_key = x25519_of_ed25519_seed(seed)
            self.public_hex = _raw(ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()).hex()
        self.version = version
        self.model = model
        self.nonce = os.urandom(16).hex()
        self.timestamp = int(time.time()) if timestamp is None else timestamp

    def headers(self) -> dict:
        headers = {"X-Signing-Algo": self.algo, "X-Client-Pub-Key": self.public_hex,
                   "X-Model-Pub-Key": self.model_public_hex}
        if self.version == 2:
            headers.update({"X-E2EE-Version": "2", "X-E2EE-Nonce": self.nonce,
                            "X-E2EE-Timestamp": str(self.timestamp)})
        return headers

    def request_aad(self, message_index: int, part_index=None) -> str:
        if self.version == 1:
            return ""
        c = "-" if part_index is None else str(part_index)
        return f"v2|req|algo={self.algo}|model={self.model}|m={message_index}|c={c}|n={self.nonce}|ts={self.timestamp}"

    def response_aad(self, response_id: str, choice_position: int) -> str:
        if self.version == 1:
            return ""
        return (f"v2|resp|algo={self.algo}|model={self.model}|id={response_id}|choice={choice_position}"
                f"|field=content|n={self.nonce}|ts={self.timestamp}")

    def seal_messages(self, messages):
        """Each string content, or each text part, sealed to the model key with its place."""
        sealed = []
        for m, message in enumerate(messages):
            message = dict(message)
            if isinstance(message.get("content"), str):
                message["content"] = seal(self.model_public_hex, message["content"], self.request_aad(m), self.algo)
            elif isinstance(message.get("content"), list):
                message["content"] = [
                    dict(part, text=seal(self.model_public_hex, part["text"], self.request_aad(m, p), self.algo))
                    for p, part in enumerate(message["content"])]
            sealed.append(message)
        return sealed

    def open(self, sealed_hex: str, aad: str) -> str:
        raw = bytes.fromhex(sealed_hex)
        if self.algo == "ecdsa":
            ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw[:65])
            shared, rest = self.private_key.exchange(ec.ECDH(), ephemeral), raw[65:]
        else:
            shared, rest = self.private_key.exchange(x25519.X25519PublicKey.from_public_bytes(raw[:32])), raw[32:]
        return AESGCM(_aes_key(shared, self.algo)).decrypt(rest[:12], rest[12:], aad.encode() or None).decode()
