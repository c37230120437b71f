"""Action secrets at rest: AES-256-GCM with a key derived (HKDF-SHA256) from CUECARD_SECRET_KEY.

A stored value is `v1.` + base64url(nonce || ciphertext). The associated data binds it to its
agent and purpose, so a value copied into another row or column does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "v1."
_INFO = b"cuecard action secrets v1"


class SecretUnreadable(Exception):
    """The value was encrypted under another CUECARD_SECRET_KEY, or altered."""


def derive_key(secret_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key)


def encrypt(key: bytes, plaintext: str, *, agent_id: str, purpose: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), f"{agent_id}:{purpose}".encode())
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(key: bytes, stored: str, *, agent_id: str, purpose: str) -> str:
    if not stored.startswith(_PREFIX):
        raise SecretUnreadable()
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(_PREFIX))
        opened = AESGCM(key).decrypt(raw[:12], raw[12:], f"{agent_id}:{purpose}".encode())
    except (InvalidTag, ValueError):
        raise SecretUnreadable() from None
    return opened.decode()
