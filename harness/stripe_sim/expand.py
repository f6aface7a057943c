"""`expand[]`: replace id strings with the objects they name, along dotted paths such as
`items.data.price.product` or, on lists, `data.customer`. Copies only what it changes."""

from __future__ import annotations

from .errors import InvalidRequest
from .routing import Ctx, kind_of_id

MAX_LEVELS = 4


def apply_expand(ctx: Ctx, obj: dict, paths: list[str]) -> dict:
    for i, path in enumerate(paths):
        segments = path.split(".")
        expandable = [s for s in segments if s != "data"]
        if len(expandable) > MAX_LEVELS:
            raise InvalidRequest(f"You cannot expand more than {MAX_LEVELS} levels of a property. "
                                 f"Property: {path}", param=f"expand[{i}]")
        obj = _expand(ctx, obj, segments, path, i)
    return obj


def _fail(path: str, i: int, part: str):
    raise InvalidRequest(f"This property cannot be expanded ({part}).", param=f"expand[{i}]")


def _resolve(ctx: Ctx, value, field: str, path: str, i: int):
    if isinstance(value, str):
        kind = kind_of_id(value, field)
        obj = ctx.find(kind, value) if kind else None
        if obj is None:
            _fail(path, i, field)
        return obj
    if isinstance(value, list):
        return [_resolve(ctx, v, field, path, i) if isinstance(v, str) else v for v in value]
    return value  # None, or already an object


def _expand(ctx: Ctx, node, segments: list[str], path: str, i: int):
    if isinstance(node, list):
        return [_expand(ctx, item, segments, path, i) for item in node]
    if not isinstance(node, dict):
        return node
    key, rest = segments[0], segments[1:]
    if key not in node:
        _fail(path, i, key)
    value = node[key]
    if rest:
        if isinstance(value, str | list) and key != "data":
            value = _resolve(ctx, value, key, path, i)
        new_value = _expand(ctx, value, rest, path, i)
    else:
        if key == "data" or not (isinstance(value, str | list) or value is None or isinstance(value, dict)):
            _fail(path, i, key)
        new_value = _resolve(ctx, value, key, path, i)
    if new_value is value:
        return node
    copy = dict(node)
    copy[key] = new_value
    return copy
