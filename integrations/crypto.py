"""Partner secrets encrypted at rest with Fernet, keys from settings.CREDENTIALS_ENCRYPTION_KEYS.

MultiFernet: the first key encrypts, every key decrypts. Rotation = prepend a new key, run
`manage.py rotate_credentials_key` (re-encrypts each stored secret with the first key), then
drop the old key from the environment.
"""

from __future__ import annotations

import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "CredentialsKeyMissing", "InvalidToken", "decrypt", "encrypt", "ensure_configured", "is_configured", "rotate",
]


class CredentialsKeyMissing(ImproperlyConfigured):
    pass


_cache: dict[tuple[str, ...], MultiFernet] = {}
_lock = threading.Lock()


def _configured_keys() -> tuple[str, ...]:
    keys = getattr(settings, "CREDENTIALS_ENCRYPTION_KEYS", None) or []
    if isinstance(keys, str):
        keys = keys.split(",")
    return tuple(k.strip() for k in keys if k and k.strip())


def is_configured() -> bool:
    return bool(_configured_keys())


def ensure_configured() -> None:
    """Raise the clear configuration error now rather than at the first secret touched."""
    _fernet()


def _fernet() -> MultiFernet:
    keys = _configured_keys()
    if not keys:
        raise CredentialsKeyMissing(
            "CREDENTIALS_ENCRYPTION_KEYS is not set: partner credentials cannot be encrypted or read. "
            "Generate a key with `python -c \"from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())\"` and put it in the environment (see .env.example)."
        )
    with _lock:
        # Keyed by the key tuple so a settings override (tests, a rotation) takes effect at once.
        if keys not in _cache:
            try:
                _cache[keys] = MultiFernet([Fernet(k.encode()) for k in keys])
            except (ValueError, TypeError):
                raise ImproperlyConfigured(
                    "CREDENTIALS_ENCRYPTION_KEYS holds a value that is not a Fernet key "
                    "(32 url-safe base64-encoded bytes)."
                ) from None
        return _cache[keys]


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    """Raises InvalidToken when no configured key opens it (a key was dropped too early)."""
    return _fernet().decrypt(ciphertext.encode("ascii")).decode("utf-8")


def rotate(ciphertext: str) -> str:
    """The same secret encrypted under the first key (MultiFernet.rotate)."""
    return _fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
