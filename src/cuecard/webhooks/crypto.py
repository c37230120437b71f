"""Webhook secrets at rest: AES-256-GCM under a key derived from the server's secret key.

A webhook secret must be recoverable (it signs every delivery), so it cannot be a hash like a
token. The stored form is base64(nonce || ciphertext+tag); the webhook id is the associated data,
so a ciphertext copied onto another webhook does not decrypt.
"""

from __future__ import annotations

import base64
import hmac
import os
from hashlib import sha256

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PURPOSE = b"cuecard webhook secrets v1"


def _key(secret_key: bytes) -> bytes:
    return hmac.new(secret_key, _PURPOSE, sha256).digest()


def encrypt(secret_key: bytes, owner_id: str, plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, plaintext.encode(), owner_id.encode())
    return base64.b64encode(nonce + sealed).decode()


def decrypt(secret_key: bytes, owner_id: str, stored: str) -> str:
    raw = base64.b64decode(stored)
    return AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], owner_id.encode()).decode()
