"""Regenerate `expandable_fields.py` from the official stripe-python SDK's type annotations.

    .venv/bin/python -m tiersync.stripe_sim.gen_expandable

The SDK declares every resource field as a class annotation; a field Stripe lets `expand[]` replace is
typed `Union[str, <Resource>, ...]` (an id or the object), or a list of those. The derived table says, for
each object type the simulator serves, which fields expand and which nested objects or lists lead to
expandable fields further down (the path `items.data.price.product` walks `items` (a list), `data`, `price`
(an inline object), then expands `product`). Regenerate when the pinned API version changes.
"""

from __future__ import annotations

import inspect
import sys
import typing
from pathlib import Path

import stripe

from .routing import API_VERSION

OUT = Path(__file__).with_name("expandable_fields.py")

# the object types the simulator serves (roots of the walk); referenced types are added as found
ROOTS = ["Customer", "Product", "Price", "Coupon", "PromotionCode", "checkout.Session", "LineItem", "Subscription",
         "SubscriptionItem", "Invoice", "InvoiceLineItem", "InvoicePayment", "billing_portal.Session",
         "billing_portal.Configuration", "WebhookEndpoint", "Event", "test_helpers.TestClock", "PaymentMethod",
         "PaymentIntent", "Charge", "Discount", "CustomerBalanceTransaction", "BalanceTransaction", "SetupIntent",
         "SubscriptionSchedule", "CreditNote", "CreditNoteLineItem", "InvoiceItem", "Plan", "Refund"]
PACKAGES = ("checkout", "billing_portal", "test_helpers", "billing")

# Fields Stripe includes only when asked (`expand[]=line_items`): the SDK types them as a plain list.
INCLUDABLE = {"checkout.session": ["line_items"]}


def _class(dotted: str) -> type:
    module = stripe
    *package, name = dotted.split(".")
    for part in package:
        module = getattr(module, part)
    return getattr(module, name)  # the SDK imports its classes lazily, on first access by name


def _resolve(ref: typing.ForwardRef, owner: type) -> type | None:
    """A forward reference by class name: in the referencing class's own sub-package first (two `Session`s)."""
    name = ref.__forward_arg__
    here = next((p for p in PACKAGES if f".{p}." in owner.__module__), None)
    for module in ([getattr(stripe, here)] if here else []) + [stripe] + [getattr(stripe, p) for p in PACKAGES]:
        try:
            found = getattr(module, name)
        except AttributeError:
            continue
        if inspect.isclass(found) and issubclass(found, stripe.StripeObject):
            return found
    return None


def _name(cls: type) -> str:
    """A resource's object name (`subscription`); a nested class's is its resource's plus its path
    (`invoice.Parent.SubscriptionDetails`)."""
    if "OBJECT_NAME" in cls.__dict__:
        return _object_name(cls)
    outer, _, rest = cls.__qualname__.partition(".")
    top = getattr(sys.modules[cls.__module__], outer)
    return f"{_name(top)}.{rest}" if rest else cls.__qualname__


def _object_name(cls: type) -> str:
    value = cls.__dict__["OBJECT_NAME"]
    return value if isinstance(value, str) else str(value)


def _classify(annotation, owner: type):
    """('x', targets) expandable; ('x[]', targets) list of expandables; ('o'|'l'|'a', cls) object, ListObject,
    array of objects; None for scalars."""
    if isinstance(annotation, str):  # a bare "Price" annotation names a class like a forward reference
        annotation = typing.ForwardRef(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        if str in inner and len(inner) > 1:
            targets = [_resolve(a, owner) if isinstance(a, typing.ForwardRef) else a for a in inner if a is not str]
            if any(inspect.isclass(t) and issubclass(t, stripe.StripeObject) for t in targets if t):
                return ("x", None)
            return None
        if len(inner) == 1:
            return _classify(inner[0], owner)
        return None
    if origin is list and args:
        item = _classify(args[0], owner)
        if item and item[0] == "x":
            return ("x[]", None)
        if item and item[0] == "o":
            return ("a", item[1])
        return None
    if origin is not None and getattr(origin, "__name__", "") == "ListObject" and args:
        target = _resolve(args[0], owner) if isinstance(args[0], typing.ForwardRef) else args[0]
        return ("l", target) if target else None
    if isinstance(annotation, typing.ForwardRef):
        target = _resolve(annotation, owner)
        return ("o", target) if target else None
    if inspect.isclass(annotation) and issubclass(annotation, stripe.StripeObject):
        return ("o", annotation)
    return None


_ROOT_NAMES: set[str] = set()


def derive() -> dict[str, dict[str, tuple]]:
    raw: dict[str, dict[str, tuple]] = {}
    todo: list[type] = []
    for dotted in ROOTS:
        todo.append(_class(dotted))
        _ROOT_NAMES.add(_name(todo[-1]))
    seen: set[str] = set()
    while todo:
        cls = todo.pop()
        name = _name(cls)
        if name in seen:
            continue
        seen.add(name)
        fields = {}
        for field, annotation in cls.__dict__.get("__annotations__", {}).items():
            if field.isupper():
                continue
            kind = _classify(annotation, cls)
            if kind is None:
                continue
            if kind[0] in ("x", "x[]"):
                fields[field] = (kind[0],)
            else:
                fields[field] = (kind[0], _name(kind[1]))
                todo.append(kind[1])
        raw[name] = fields
    for obj_name, names in INCLUDABLE.items():
        for field in names:
            raw[obj_name][field] = ("x",)
    return _prune(raw)


def _prune(raw: dict[str, dict[str, tuple]]) -> dict[str, dict[str, tuple]]:
    """Every object-typed field may be named in `expand[]` (Stripe's x-expandableFields lists them: naming
    an inline object is accepted and changes nothing); a type is kept only when it leads to a real
    expansion, and a field whose type does not is written with type None (nothing below it expands)."""
    useful: dict[str, bool] = {}

    def leads(name: str | None, stack: frozenset = frozenset()) -> bool:
        if name is None or name in stack or name not in raw:
            return False
        if name in useful:
            return useful[name]
        result = any(spec[0] in ("x", "x[]") or leads(spec[1], stack | {name}) for spec in raw[name].values())
        if not stack:
            useful[name] = result
        return result

    out = {}
    for name, fields in raw.items():
        if not fields:
            continue
        out[name] = {f: (s if s[0] in ("x", "x[]") or leads(s[1]) else (s[0], None)) for f, s in sorted(fields.items())}
    return {name: fields for name, fields in sorted(out.items()) if leads(name) or name in _ROOT_NAMES}


def render(table: dict[str, dict[str, tuple]]) -> str:
    lines = ['"""Which fields `expand[]` may expand, per object type (API version '
             f'{API_VERSION}).', "",
             "GENERATED by `python -m tiersync.stripe_sim.gen_expandable` from the type annotations of the official",
             f"stripe-python SDK {stripe.VERSION} (its API version {stripe.api_version}); do not edit by hand.",
             "('x',): expands (an id or the object); ('x[]',): a list of those; ('o', T): an inline object of type T;",
             "('l', T): a list object of T (walk it with `data`); ('a', T): an array of T. Naming an o/l/a field",
             "last is accepted and changes nothing; T None: nothing below it expands.", '"""', "",
             "FIELDS: dict[str, dict[str, tuple]] = {"]
    for name, fields in table.items():
        lines.append(f"    {name!r}: {{")
        for field, spec in fields.items():
            lines.append(f"        {field!r}: {spec!r},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    if stripe.api_version != API_VERSION:
        print(f"the installed SDK pins {stripe.api_version}, the simulator {API_VERSION}: install the SDK "
              "release for the simulator's version first", file=sys.stderr)
        return 1
    OUT.write_text(render(derive()))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
