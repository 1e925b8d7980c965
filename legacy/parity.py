"""Run cases through the legacy PHP PriceHelper, many per ``php`` process.

    results = run_batch([("calc", (1.5, "150")), ("validate", ("", "abc", "0.0"))])

Each result is a ``PhpOutcome``: ``ok`` with the decoded ``value``, or the PHP exception class
and message in ``error``/``message``; PHP warnings are kept as data in ``warnings``. Values
travel tagged (see legacy/parity_harness.php) so that floats keep their exact bits, strings
their exact bytes, and INF/NAN survive JSON.

The tests skip when php is missing: ``pytest.mark.skipif(not php_available(), reason=PHP_MISSING_REASON)``.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HARNESS = Path(__file__).resolve().with_name("parity_harness.php")
PHP_MISSING_REASON = "the php CLI is not on PATH (apt-get install php-cli); PHP parity tests need it"

PHP_INT_MIN = -(2**63)
PHP_INT_MAX = 2**63 - 1


class PhpUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class PhpOutcome:
    ok: bool
    value: object = None
    error: str | None = None
    message: str | None = None
    warnings: tuple[str, ...] = field(default=())


def php_binary() -> str | None:
    return shutil.which("php")


def php_available() -> bool:
    return php_binary() is not None


def encode(value) -> dict:
    """A Python value as the harness's tagged JSON (same mapping as bidding.price_helper)."""
    if value is None:
        return {"t": "null"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        if PHP_INT_MIN <= value <= PHP_INT_MAX:
            return {"t": "int", "v": str(value)}
        try:  # PHP reads an integer that does not fit in 64 bits as a float
            value = float(value)
        except OverflowError:
            value = math.copysign(math.inf, value)
    if isinstance(value, float):
        return {"t": "float", "bits": struct.pack(">d", value).hex()}
    if isinstance(value, str):
        return {"t": "str", "hex": value.encode("utf-8").hex()}
    if isinstance(value, (list, tuple)):
        return {"t": "array", "items": [[encode(i), encode(item)] for i, item in enumerate(value)]}
    if isinstance(value, dict):
        return {"t": "array", "items": [[encode(k), encode(item)] for k, item in value.items()]}
    raise TypeError(f"cannot send {type(value).__name__} to PHP")


def decode(tagged: dict):
    """The harness's tagged JSON as a Python value (PHP lists as lists, other arrays as dicts)."""
    kind = tagged["t"]
    if kind == "null":
        return None
    if kind == "bool":
        return tagged["v"]
    if kind == "int":
        return int(tagged["v"])
    if kind == "float":
        return struct.unpack(">d", bytes.fromhex(tagged["bits"]))[0]
    if kind == "str":
        return bytes.fromhex(tagged["hex"]).decode("utf-8", "surrogateescape")
    if kind == "array":
        pairs = [(decode(k), decode(v)) for k, v in tagged["items"]]
        if [k for k, _ in pairs] == list(range(len(pairs))):
            return [v for _, v in pairs]
        return dict(pairs)
    raise ValueError(f"unexpected value from PHP: {tagged!r}")


def run_batch(cases: Iterable[tuple[str, Sequence]], *, timeout: float = 120.0) -> list[PhpOutcome]:
    """Run ``(op, args)`` cases ("calc", "validate", "round", "version") in one php process."""
    php = php_binary()
    if php is None:
        raise PhpUnavailable(PHP_MISSING_REASON)
    lines = [json.dumps({"op": op, "args": [encode(a) for a in args]}) for op, args in cases]
    if not lines:
        return []
    completed = subprocess.run(
        # -n: no php.ini, so local ini settings cannot change the behaviour under test.
        [php, "-n", "-d", "error_reporting=-1", str(HARNESS)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    answers = completed.stdout.splitlines()
    if completed.returncode != 0 or len(answers) != len(lines):
        raise RuntimeError(
            f"php harness failed (exit {completed.returncode}, {len(answers)} answers for "
            f"{len(lines)} cases): {completed.stderr[-2000:]}"
        )
    results = []
    for answer in answers:
        data = json.loads(answer)
        results.append(
            PhpOutcome(
                ok=data["ok"],
                value=decode(data["value"]) if data["ok"] else None,
                error=data.get("error"),
                message=data.get("message"),
                warnings=tuple(data.get("warnings", ())),
            )
        )
    return results


def php_version() -> str:
    return run_batch([("version", ())])[0].value
