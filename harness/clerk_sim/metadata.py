"""Clerk's user metadata rules.

- ``PATCH /v1/users/{id}/metadata`` deep-merges: nested objects merge key by key, any other
  value replaces, and a key set to ``null`` is deleted at any depth.
- ``PUT /v1/users/{id}/metadata`` and ``PATCH /v1/users/{id}`` replace a field wholesale.
- Each field must be a JSON object and at most 8 KB once serialised.

A top-level ``null`` clears the field to ``{}``: the SDK's ``User`` model requires
``public_metadata`` to be an object, so the simulator never stores a bare ``null``.
"""

from __future__ import annotations

import json
from typing import Any

from . import errors

METADATA_FIELDS = ("public_metadata", "private_metadata", "unsafe_metadata")
MAX_METADATA_BYTES = 8 * 1024


def deep_merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        elif isinstance(value, dict):
            # A fresh nested object still drops its own null keys, as a merge into {} would.
            merged[key] = deep_merge({}, value)
        else:
            merged[key] = value
    return merged


def validate(param: str, value: Any) -> dict[str, Any]:
    """Return the object to store for ``param``, or raise a Clerk-shaped 422."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.param_format_invalid(param, f"{param} must be a JSON object.")
    check_size(param, value)
    return value


def check_size(param: str, value: dict[str, Any]) -> None:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise errors.metadata_too_large(param, size, MAX_METADATA_BYTES)
