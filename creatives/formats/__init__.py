"""Bytes → facts, with no Django models: sniffing, image decoding, ffprobe, renditions.

Every refusal is a `Refusal` carrying a code (stable, for filters and tests) and a sentence an
account manager can act on.
"""


class Refusal(Exception):
    """The file is refused: unknown, mismatched, damaged, dangerous or over a limit."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def kib(n: int) -> str:
    return f"{n / 1024:,.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MB"
