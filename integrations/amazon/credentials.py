"""Services over stored Amazon credentials: re-encryption under a new key."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from integrations.crypto import InvalidToken, ensure_configured
from integrations.models import AmazonConnection

log = logging.getLogger("integrations.amazon")


class CredentialsRotationFailed(Exception):
    def __init__(self, connection_ids: list[int]):
        super().__init__(
            f"{len(connection_ids)} connection(s) hold secrets no configured key can open "
            f"(ids {', '.join(map(str, connection_ids))}); nothing was rotated. Put the old key back "
            "in CREDENTIALS_ENCRYPTION_KEYS (after the new one) and run the rotation again."
        )
        self.connection_ids = connection_ids


@dataclass
class RotationResult:
    rotated: int = 0
    connection_ids: list[int] = field(default_factory=list)


@transaction.atomic
def connection_credentials_rotate() -> RotationResult:
    """Re-encrypt every stored secret with the first key of CREDENTIALS_ENCRYPTION_KEYS.

    All or nothing: if one secret cannot be decrypted by any configured key, no row changes,
    so the operator never ends up with secrets split across keys. Safe to run twice.
    """
    ensure_configured()
    result = RotationResult()
    unreadable: list[int] = []
    connections = AmazonConnection.objects.select_for_update().only(
        "pk", "client_secret_encrypted", "refresh_token_encrypted"
    )
    for connection in connections.order_by("pk"):
        try:
            connection.rotate_secrets()
        except InvalidToken:
            unreadable.append(connection.pk)
            continue
        connection.save(update_fields=["client_secret_encrypted", "refresh_token_encrypted"])
        result.rotated += 1
        result.connection_ids.append(connection.pk)
    if unreadable:
        raise CredentialsRotationFailed(unreadable)
    log.info("amazon.credentials_rotated", extra={"connections": result.rotated})
    return result
