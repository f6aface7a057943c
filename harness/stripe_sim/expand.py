"""`expand[]`: replace id strings with the objects they name, along dotted paths such as
`items.data.price.product` or, on lists, `data.customer`. Copies only what it changes.

As in Stripe: a path has at most four levels, and on a list the leading `data` is one of them
(`check_depth`, before the request runs); only fields Stripe lists as expandable may be named
(`expandable_fields.py`, derived from the official SDK's types): ids become objects, and naming an inline
object or list (`items.data.price`) is accepted and changes nothing. Anything else (a scalar, metadata,
a field the object lacks) is "This property cannot be expanded (<path so far>)."
"""

from __future__ import annotations

from .errors import InvalidRequest
from .expandable_fields import FIELDS
from .routing import Ctx, kind_of_id

MAX_LEVELS = 4
LISTS = ("list", "search_result")


def check_depth(paths: list[str]):
    """Refuse a path deeper than Stripe allows, before the request changes anything."""
    for path in paths:
        if len(path.split(".")) > MAX_LEVELS:
            raise InvalidRequest(f"You cannot expand more than {MAX_LEVELS} levels of a property. Property: {path}",
                                 code="property_expansion_max_depth")


def apply_expand(ctx: Ctx, obj: dict, paths: list[str]) -> dict:
    check_depth(paths)
    for path in paths:
        segments = path.split(".")
        if obj.get("object") in LISTS:
            if segments[0] != "data":
                raise _cannot(segments[0], hint=f" You may want to try expanding 'data.{path}' instead.")
            if len(segments) == 1:
                continue  # the list's own objects, already there
            obj = _step_list(ctx, obj, None, segments, 1)
        else:
            obj = _expand(ctx, obj, obj.get("object"), segments, 0)
    return obj


def _cannot(prefix: str, hint: str = "") -> InvalidRequest:
    return InvalidRequest(f"This property cannot be expanded ({prefix}).{hint}")


def _type_of(node: dict, declared: str | None) -> str | None:
    """An object names its own type (an expanded union such as `default_source` included); an inline
    object has the type its parent declares."""
    own = node.get("object")
    return own if isinstance(own, str) and own not in LISTS else declared


def _step_list(ctx: Ctx, node: dict, item_type: str | None, segments: list[str], k: int) -> dict:
    """`node` is a list object and segments[k - 1] was its `data`: walk every element on."""
    items = node.get("data")
    if not isinstance(items, list):
        return node
    new_items = [_expand(ctx, item, item_type, segments, k) if isinstance(item, dict) else item for item in items]
    if all(a is b for a, b in zip(new_items, items, strict=True)):
        return node
    return {**node, "data": new_items}


def _expand(ctx: Ctx, node: dict, type_name: str | None, segments: list[str], k: int):
    type_name = _type_of(node, type_name)
    field = segments[k]
    prefix = ".".join(segments[:k + 1])
    spec = FIELDS.get(type_name or "", {}).get(field)
    if spec is None or field not in node:
        raise _cannot(prefix)
    value = node[field]
    last = k == len(segments) - 1
    kind = spec[0]
    if kind in ("x", "x[]"):
        new_value = _resolve(ctx, value, field, prefix)
        if not last and isinstance(new_value, dict) and new_value.get("object") in LISTS:  # an included list
            if segments[k + 1] != "data":
                raise _cannot(".".join(segments[:k + 2]))
            if k + 1 < len(segments) - 1:
                new_value = _step_list(ctx, new_value, None, segments, k + 2)
        elif not last and new_value is not None:
            if isinstance(new_value, list):
                new_value = [_expand(ctx, v, None, segments, k + 1) if isinstance(v, dict) else v for v in new_value]
            elif isinstance(new_value, dict):
                new_value = _expand(ctx, new_value, None, segments, k + 1)
    elif last or value is None:  # naming an inline object or list is accepted and changes nothing
        return node
    elif kind == "l":
        if segments[k + 1] != "data" or not isinstance(value, dict):
            raise _cannot(".".join(segments[:k + 2]))
        if k + 1 == len(segments) - 1:
            return node  # `items.data`: the list's own objects, already there
        new_value = _step_list(ctx, value, spec[1], segments, k + 2)
    elif kind == "a":
        new_value = [_expand(ctx, v, spec[1], segments, k + 1) if isinstance(v, dict) else v for v in value]
        if all(a is b for a, b in zip(new_value, value, strict=True)):
            new_value = value
    else:  # "o"
        new_value = _expand(ctx, value, spec[1], segments, k + 1) if isinstance(value, dict) else value
    if new_value is value:
        return node
    copy = dict(node)
    copy[field] = new_value
    return copy


def _resolve(ctx: Ctx, value, field: str, prefix: str):
    if isinstance(value, str):
        kind = kind_of_id(value, field)
        obj = ctx.find(kind, value) if kind else None
        if obj is None:
            raise _cannot(prefix)
        return obj
    if isinstance(value, list):
        return [_resolve(ctx, v, field, prefix) if isinstance(v, str) else v for v in value]
    return value  # None, or already an object (line_items the resource put in itself)
