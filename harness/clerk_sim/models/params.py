"""Reading values out of request bodies and query strings, with Clerk's errors for bad ones."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .. import errors

MAX_LIST_LIMIT = 500


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.param_format_invalid(name, f"{name} must be a string.")
    return value


def string_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.param_format_invalid(name, f"{name} must be an array of strings.")
    return value


def int_param(query: dict[str, list[str]], name: str, default: int, low: int, high: int | None) -> int:
    raw = (query.get(name) or [None])[0]
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise errors.param_format_invalid(name, f"{name} must be an integer.") from exc
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise errors.param_value_invalid(name, f"{name} must be {bound}.")
    return value
