"""JSON to and from bytes, fast: orjson (C speed, and the pretty-printed form in C too, byte for byte what
`json.dumps(indent=2, ensure_ascii=False)` writes), with the standard library for the rare value orjson
refuses (integers beyond 64 bits, non-string keys). The simulator renders every response and event
through here; the stdlib's indented encoder alone cost more than the rest of a webhook delivery."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

import orjson

__all__ = ["compact", "indented", "loads", "copy"]


def _plain(value):
    """Values outside JSON's types that our objects may hold: Decimals (the `*_decimal` fields) become
    strings, as Stripe sends them; other mappings become objects."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def compact(value) -> bytes:
    try:
        return orjson.dumps(value, default=_plain)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_plain).encode("utf-8")


def indented(value) -> bytes:
    """2-space indent, `\\n` line endings, UTF-8: Stripe's webhook body format."""
    try:
        return orjson.dumps(value, default=_plain, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:
        return json.dumps(value, indent=2, ensure_ascii=False, default=_plain).encode("utf-8")


def loads(data: bytes | str):
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # what orjson does not read (NaN, huge integers) the stdlib may
        return json.loads(data)


def copy(value):
    """A deep copy of a JSON-shaped value (several times faster than copy.deepcopy for plain data)."""
    return loads(compact(value))
