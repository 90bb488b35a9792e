"""A client side of end-to-end encryption ("ecdsa" mode of Phala's protocol), written from the
protocol text with Python's cryptography package, independently of the service's C++ code."""
import os
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _uncompressed(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _aes_key(private_key, peer_public) -> bytes:
    shared = private_key.exchange(ec.ECDH(), peer_public)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ecdsa_encryption").derive(shared)


def seal(recipient_public_hex: str, plaintext, aad: str = "") -> str:
    """plaintext: str (sent as UTF-8) or bytes."""
    if isinstance(plaintext, str):
        plaintext = plaintext.encode()
    raw = bytes.fromhex(recipient_public_hex)
    recipient = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw if len(raw) == 65 else b"\x04" + raw)
    ephemeral = ec.generate_private_key(ec.SECP256K1())
    nonce = os.urandom(12)
    ciphertext = AESGCM(_aes_key(ephemeral, recipient)).encrypt(nonce, plaintext, aad.encode() or None)
    return (_uncompressed(ephemeral.public_key()) + nonce + ciphertext).hex()


class E2eeClient:
    """One request's keys and headers. version 2 binds every field to its place with associated data."""

    def __init__(self, model_public_hex: str, version: int = 2, model: str = "", timestamp: int = None):
        self.model_public_hex = model_public_hex
        self.private_key = ec.generate_private_key(ec.SECP256K1())
        self.public_hex = _uncompressed(self.private_key.public_key()).hex()
        self.version = version
        self.model = model
        self.nonce = os.urandom(16).hex()
        self.timestamp = int(time.time()) if timestamp is None else timestamp

    def headers(self) -> dict:
        headers = {"X-Signing-Algo": "ecdsa", "X-Client-Pub-Key": self.public_hex,
                   "X-Model-Pub-Key": self.model_public_hex}
        if self.version == 2:
            headers.update({"X-E2EE-Version": "2", "X-E2EE-Nonce": self.nonce,
                            "X-E2EE-Timestamp": str(self.timestamp)})
        return headers

    def request_aad(self, message_index: int, part_index=None) -> str:
        if self.version == 1:
            return ""
        c = "-" if part_index is None else str(part_index)
        return f"v2|req|algo=ecdsa|model={self.model}|m={message_index}|c={c}|n={self.nonce}|ts={self.timestamp}"

    def response_aad(self, response_id: str, choice_position: int) -> str:
        if self.version == 1:
            return ""
        return (f"v2|resp|algo=ecdsa|model={self.model}|id={response_id}|choice={choice_position}|field=content"
                f"|n={self.nonce}|ts={self.timestamp}")

    def seal_messages(self, messages):
        """Each string content, or each text part, sealed to the model key with its place."""
        sealed = []
        for m, message in enumerate(messages):
            message = dict(message)
            if isinstance(message.get("content"), str):
                message["content"] = seal(self.model_public_hex, message["content"], self.request_aad(m))
            elif isinstance(message.get("content"), list):
                message["content"] = [dict(part, text=seal(self.model_public_hex, part["text"], self.request_aad(m, p)))
                                      for p, part in enumerate(message["content"])]
            sealed.append(message)
        return sealed

    def open(self, sealed_hex: str, aad: str) -> str:
        raw = bytes.fromhex(sealed_hex)
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw[:65])
        plaintext = AESGCM(_aes_key(self.private_key, ephemeral)).decrypt(raw[65:77], raw[77:], aad.encode() or None)
        return plaintext.decode()
