from django.core.management.base import BaseCommand, CommandError

from integrations.amazon.credentials import CredentialsRotationFailed, connection_credentials_rotate
from integrations.crypto import CredentialsKeyMissing


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored partner secret (Amazon client secrets and refresh tokens) with the "
        "FIRST key of CREDENTIALS_ENCRYPTION_KEYS. To rotate: prepend a new key to the variable "
        "(keep the old one after it), run this command, then remove the old key. All or nothing: "
        "if any secret cannot be opened with the configured keys, nothing changes and the exit "
        "code is non-zero. Safe to run again."
    )

    def handle(self, *args, **options):
        try:
            result = connection_credentials_rotate()
        except (CredentialsRotationFailed, CredentialsKeyMissing) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-encrypted the secrets of {result.rotated} Amazon connection(s) with the first key.")
