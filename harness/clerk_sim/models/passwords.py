"""Password hashes: salted PBKDF2, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10_000)
    return salt.hex() + ":" + digest.hex()


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    salt_hex, digest_hex = stored.split(":")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt_hex), 10_000)
    return hmac.compare_digest(digest.hex(), digest_hex)
