"""JSON with exact numbers: every JSON number with a fraction or exponent is read as a Decimal and
written back with the same digits, so a rule threshold of 10.1 or a payload price of 19.99 is never
a binary float anywhere (parsing, storage, comparison, the API's answers).

Used by the rules engine's JSON fields (encoder/decoder), its API parser and renderer, and the
event body hash.
"""

import hashlib
import json
from decimal import Decimal

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder as DRFEncoder

MAX_DEPTH = 32  # deeper JSON is refused: nothing legitimate nests this far


class NonFiniteNumber(ValueError):
    pass


def _refuse_constant(token: str):
    raise NonFiniteNumber(f"{token} is not a number JSON allows.")


def loads(text: str | bytes) -> object:
    """Parse JSON text; floats become Decimals, NaN/Infinity are refused (ValueError)."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def depth(value: object, _level: int = 0) -> int:
    if _level > MAX_DEPTH:
        return _level
    if isinstance(value, dict):
        return max((depth(v, _level + 1) for v in value.values()), default=_level + 1)
    if isinstance(value, list):
        return max((depth(v, _level + 1) for v in value), default=_level + 1)
    return _level


def dumps(value: object, *, sort_keys: bool = False, default=None) -> str:
    """JSON text with Decimals written as JSON numbers with their own digits."""
    parts: list[str] = []
    _write(value, parts, sort_keys, default)
    return "".join(parts)


def _write(value, out: list[str], sort_keys: bool, default) -> None:
    if value is None or value is True or value is False or isinstance(value, str):
        out.append(json.dumps(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("Non-finite decimals have no JSON form.")
        out.append(str(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(json.dumps(value))  # only from outside code; ours never makes floats
    elif isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        out.append("{")
        for n, (key, item) in enumerate(items):
            out.append(("," if n else "") + json.dumps(str(key)) + ":")
            _write(item, out, sort_keys, default)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(",")
            _write(item, out, sort_keys, default)
        out.append("]")
    elif default is not None:
        _write(default(value), out, sort_keys, default)
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")


def canonical(value: object) -> object:
    """Numbers that are equal compare equal after this (1.50 == 1.5 == 15E-1), for hashing."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)):
        normal = Decimal(value).normalize()
        if normal.is_zero():
            return Decimal(0)  # -0 and 0.00 are the same number
        return Decimal(format(normal, "f")) if normal == normal.to_integral_value() else normal
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


def fingerprint(value: object) -> str:
    """sha256 of the canonical JSON form: the same content always gives the same hash."""
    return hashlib.sha256(dumps(canonical(value), sort_keys=True).encode()).hexdigest()


class ExactEncoder(json.JSONEncoder):
    """For JSONField(encoder=…): Django calls json.dumps(value, cls=…), which calls encode()."""

    def encode(self, o):
        return dumps(o)


class ExactDecoder(json.JSONDecoder):
    """For JSONField(decoder=…) and the admin's JSON form fields."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)


class ExactJSONParser(JSONParser):
    """DRF parser: Decimals for numbers, NaN/Infinity and absurd nesting refused as 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            data = loads(stream.read().decode(encoding))
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if depth(data) > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        return data


class _ExactDRFEncoder(DRFEncoder):
    def encode(self, o):
        return dumps(o, default=self.default)


class ExactJSONRenderer(JSONRenderer):
    """DRF renderer that writes Decimals inside JSON fields as numbers, digits intact (DRF's own
    encoder would turn them into floats)."""

    encoder_class = _ExactDRFEncoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return dumps(data, default=self.encoder_class().default).encode()
