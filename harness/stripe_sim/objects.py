"""Build a Stripe object from the values a resource computes, in the shape derived from Stripe's types.

`shape("customer", {"id": ..., "email": ...})` returns the customer with every field of `shapes.FIELDS`
in Stripe's order: a field the resource gives keeps its value, an always-present field it does not give
gets its empty value (null, [], {}), and a field Stripe leaves out unless set (`shapes.OPTIONAL`) is left
out. A key the shape does not have is refused, so a misspelt field cannot reach a client.
"""

from __future__ import annotations

from .shapes import FIELDS, OPTIONAL, REQUIRED


def shape(kind: str, values: dict) -> dict:
    fields, optional = FIELDS[kind], OPTIONAL[kind]
    unknown = [name for name in values if name not in fields]
    if unknown:
        raise KeyError(f"{kind} has no field {', '.join(map(repr, unknown))} (see shapes.py)")
    obj = {}
    for name, empty in fields.items():
        if name in values:
            obj[name] = values[name]
        elif name in optional:
            continue
        elif empty is REQUIRED or (isinstance(empty, dict) and empty.get("object") == "list"):
            # a list object's url names its parent, so the resource gives the list
            raise KeyError(f"{kind}.{name} has no empty value: the resource must give it")
        elif type(empty) is list:  # empty values are empty: a fresh one each time, never shared
            obj[name] = []
        elif type(empty) is dict:
            obj[name] = {}
        else:
            obj[name] = empty
    return obj
