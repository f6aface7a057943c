"""Build a Stripe object from the values a resource computes, in the shape derived from Stripe's types.

`shape("customer", {"id": ..., "email": ...})` returns the customer with every field of `shapes.FIELDS`
in Stripe's order: a field the resource gives keeps its value, an always-present field it does not give
gets its empty value (null, [], {}), and a field Stripe leaves out unless set (`shapes.OPTIONAL`) is left
out. A key the shape does not have is refused, so a misspelt field cannot reach a client.

Every object the simulator sends is built here, so this is on every request's path: each kind's template
(the always-present fields with their immutable empty values, in order) is worked out once, and a call is
a dict copy, an update and set checks.
"""

from __future__ import annotations

from .shapes import FIELDS, OPTIONAL, REQUIRED


class _Template:
    __slots__ = ("base", "dicts", "every", "fields", "lists", "must", "optional", "order")

    def __init__(self, kind: str):
        fields, optional = FIELDS[kind], OPTIONAL[kind]
        self.fields = frozenset(fields)
        self.optional = optional
        self.order = tuple(fields)
        # always-present fields with no empty value (ids, amounts, list objects whose url names the parent)
        self.must = frozenset(name for name, empty in fields.items() if name not in optional and (
            empty is REQUIRED or (type(empty) is dict and empty.get("object") == "list")))
        # fresh [] / {} per object, never shared
        self.lists = tuple(name for name, empty in fields.items() if name not in optional and type(empty) is list)
        self.dicts = tuple(name for name, empty in fields.items()
                           if name not in optional and name not in self.must and type(empty) is dict)
        self.base = {name: (None if type(empty) in (list, dict) else empty) for name, empty in fields.items()
                     if name not in optional}
        # the same with the optional fields in their places too, for a call that gives some of them
        self.every = {name: self.base.get(name) for name in fields}


_TEMPLATES: dict[str, _Template] = {}


def _template(kind: str) -> _Template:
    found = _TEMPLATES.get(kind)
    if found is None:
        found = _TEMPLATES[kind] = _Template(kind)
    return found


def shape(kind: str, values: dict) -> dict:
    t = _TEMPLATES.get(kind) or _template(kind)
    given = values.keys()
    if not given <= t.fields:
        unknown = [name for name in values if name not in t.fields]
        raise KeyError(f"{kind} has no field {', '.join(map(repr, unknown))} (see shapes.py)")
    if not t.must <= given:
        missing = [name for name in t.order if name in t.must and name not in given]
        raise KeyError(f"{kind}.{missing[0]} has no empty value: the resource must give it")
    if t.optional.isdisjoint(given):
        obj = t.base.copy()
        obj.update(values)
    else:  # start from every field, so the optional ones given keep their place, then drop the others
        obj = t.every.copy()
        obj.update(values)
        for name in t.optional - given:
            del obj[name]
        # a dict that lost keys keeps its larger table (a store of thousands of objects pays for it): a copy
        # made by dict() is sized for what is left
        obj = dict(obj)
    for name in t.lists:
        if name not in values:
            obj[name] = []
    for name in t.dicts:
        if name not in values:
            obj[name] = {}
    return obj


def deleted(kind: str, obj_id: str, values: dict | None = None) -> dict:
    """The stub Stripe answers a delete with (`deleted_<kind>`): the id, the object and `deleted: true`."""
    return shape(f"deleted_{kind}", {"id": obj_id, "deleted": True, **(values or {})})
