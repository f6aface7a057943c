"""Stripe's bracket form encoding, as the Stripe CLI sends parameters: nested dicts and lists become
`a[b]=1`, `l[0][p]=x`, `e[]=y`. The CLI fixture runner (fixtures.py) sends fixtures with it; `StripeSim.request`
(app.py) encodes its params with it and decodes them with `params.decode_form`, as an HTTP request is decoded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Pairs = list[tuple[str, str]]


def form_scalar(value: Any) -> str:
    """One value as the SDKs write it: booleans `true`/`false`, whole floats without `.0`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def encode_params(params: Mapping[str, Any] | None, prefix: str = "") -> Pairs:
    """Stripe's bracket form encoding: `{"a": {"b": 1}, "l": [{"p": "x"}], "e": ["y"]}` gives
    `a[b]=1`, `l[0][p]=x`, `e[]=y`. Keys already in bracket form (`"recurring[interval]"`) pass through;
    `None` values are left out (the CLI's `--remove`)."""
    out: Pairs = []
    for key, value in (params or {}).items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        out.extend(_encode_value(name, value))
    return out


def _encode_value(name: str, value: Any) -> Pairs:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return encode_params(value, name)
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            return [(f"{name}[]", form_scalar(v)) for v in value if v is not None]
        out: Pairs = []
        for i, v in enumerate(value):
            out.extend(_encode_value(f"{name}[{i}]", v))
        return out
    return [(name, form_scalar(value))]
