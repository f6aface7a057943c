"""Stripe API versions: the one the simulator's objects have, and the older ones it translates to.

`API_VERSION` is the one place the pinned version is stated: objects and events are built in its shapes.
A request pinning an older version (`Stripe-Version`, a webhook endpoint's `api_version`) is served when
every breaking change between it and the pinned version that touches what the simulator covers is in
`CHANGES` below; each row names the page of Stripe's changelog that states it. Such a request takes that
version's parameters (translated to today's before the resource runs) and gets that version's shapes
(today's objects translated back). Any other version is refused with Stripe's own error,
"Invalid Stripe API version: <version>" (Stripe's wording, quoted in stripe/stripe-java#682 and
beam-community/stripity-stripe#613: type `invalid_request_error`, no code, no param).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from .. import jsonbytes
from .errors import InvalidRequest
from .params import Enum, Field, Str

API_VERSION = "2026-10-28.endive"

# Every version from the oldest the table reaches to the pinned one, as Stripe's changelog lists them
# (https://docs.stripe.com/changelog): a date goes with one release name only, so "2025-09-30.acacia" or
# a date Stripe never released is no version (Stripe refuses both the same way).
RELEASES = {
    "acacia": ("2024-09-30", "2024-10-28", "2024-11-20", "2024-12-18", "2025-01-27", "2025-02-24"),
    "basil": ("2025-03-31", "2025-04-30", "2025-05-28", "2025-06-30", "2025-07-30", "2025-08-27"),
    "clover": ("2025-09-30", "2025-10-29", "2025-11-17", "2025-12-15", "2026-01-28", "2026-02-25"),
    "dahlia": ("2026-03-25", "2026-04-22", "2026-05-27", "2026-06-24", "2026-07-29", "2026-08-26"),
    "endive": ("2026-09-30", "2026-10-28"),
}
SERVED = frozenset(f"{date}.{name}" for name, dates in RELEASES.items() for date in dates if date <= API_VERSION)
OLDEST_SERVED = min(SERVED)
_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:\.[a-z]+)?$")

Finder = Callable[[str, str], "dict | None"]  # (kind, id) -> the stored object, for fields older versions embed
Route = tuple[str, str]  # (method, path template)


@dataclass(frozen=True)
class Change:
    """One breaking change: what requests and objects looked like before `since`."""

    since: str
    source: str
    # requests it changes: the parameters older versions take there instead (None: not taken before),
    # and how those older parameters, once validated, become today's
    routes: tuple[Route, ...] = ()
    fields: dict[str, Field | None] = field(default_factory=dict)
    upgrade: Callable[[dict], dict] | None = None
    # objects it changes: how today's shape becomes the older one (in place, on a copy)
    objects: tuple[str, ...] = ()
    downgrade: Callable[[dict, Finder], None] | None = None


def served_version(requested: str | None) -> str:
    """The version a request is served at (its `Stripe-Version`, or the pinned one), or Stripe's error."""
    if not requested or requested == API_VERSION:
        return API_VERSION
    if requested in SERVED:
        return requested
    raise InvalidRequest(f"Invalid Stripe API version: {requested}")


def is_version_shaped(text: str) -> bool:
    return bool(_SHAPE.match(text))


# ---- the table ----------------------------------------------------------------------------------------

_CL = "https://docs.stripe.com/changelog/"
SUBSCRIPTION_WRITES = (("POST", "/v1/subscriptions"), ("POST", "/v1/subscriptions/{sub_id}"))
CUSTOMER_WRITES = (("POST", "/v1/customers"), ("POST", "/v1/customers/{cus_id}"))


def _coupon_to_discounts(p: dict) -> dict:
    """Before basil a subscription took one `coupon` or `promotion_code`; today a `discounts` list."""
    legacy = [k for k in ("coupon", "promotion_code") if k in p]
    if not legacy:
        return p
    if len(legacy) > 1 or "discounts" in p:
        names = ", ".join(sorted([*legacy, *(["discounts"] if "discounts" in p else [])]))
        raise InvalidRequest(f"You may only specify one of these parameters: {names}.", param=legacy[0])
    p = dict(p)
    value = p.pop(legacy[0])
    p["discounts"] = [{legacy[0]: value}] if value else None  # '' removes the discount
    return p


def _subscription_before_basil(sub: dict, find: Finder):
    items = (sub.get("items") or {}).get("data") or []
    sub["current_period_start"] = items[0].get("current_period_start") if items else None
    sub["current_period_end"] = items[0].get("current_period_end") if items else None
    discount_ids = sub.get("discounts") or []
    first = find("discount", discount_ids[0]) if discount_ids and isinstance(discount_ids[0], str) else None
    sub["discount"] = jsonbytes.copy(first) if first else None


def _item_before_basil(item: dict, find: Finder):
    item.pop("current_period_start", None)
    item.pop("current_period_end", None)


def _invoice_before_basil(inv: dict, find: Finder):
    parent = inv.pop("parent", None) or {}
    details = parent.get("subscription_details") or {}
    inv["subscription"] = details.get("subscription")
    inv["subscription_details"] = {"metadata": details.get("metadata")} if details else None
    inv["subscription_proration_date"] = details.get("subscription_proration_date")
    inv["quote"] = (parent.get("quote_details") or {}).get("quote")
    payments = (inv.get("payments") or {}).get("data") or []
    paid = next((pay for pay in payments if pay.get("status") == "paid"), None) or (payments[0] if payments else None)
    inv["payment_intent"] = ((paid or {}).get("payment") or {}).get("payment_intent")
    intent = find("payment_intent", inv["payment_intent"]) if isinstance(inv["payment_intent"], str) else None
    inv["charge"] = (intent or {}).get("latest_charge")
    inv["paid"] = inv.get("status") == "paid"
    inv["paid_out_of_band"] = False
    discount_ids = inv.get("discounts") or []
    first = find("discount", discount_ids[0]) if discount_ids and isinstance(discount_ids[0], str) else None
    inv["discount"] = jsonbytes.copy(first) if first else None


def _line_before_basil(line: dict, find: Finder):
    parent = line.pop("parent", None) or {}
    sub_details = parent.get("subscription_item_details")
    details = sub_details or parent.get("invoice_item_details") or {}
    line["type"] = "subscription" if sub_details else "invoiceitem"
    line["subscription"] = details.get("subscription")
    line["subscription_item"] = (sub_details or {}).get("subscription_item")
    line["invoice_item"] = details.get("invoice_item")
    line["proration"] = bool(details.get("proration"))
    line["proration_details"] = details.get("proration_details")


def _promotion_to_coupon(p: dict) -> dict:
    """Before clover a promotion code named its coupon in `coupon`; today in `promotion[coupon]`."""
    p = dict(p)
    if "coupon" in p:
        p["promotion"] = {"type": "coupon", "coupon": p.pop("coupon")}
    return p


def _promotion_code_before_clover(promo: dict, find: Finder):
    promotion = promo.pop("promotion", None) or {}
    coupon = promotion.get("coupon")
    found = find("coupon", coupon) if isinstance(coupon, str) else None
    promo["coupon"] = jsonbytes.copy(found) if found else coupon  # auto-expanded before clover


def _discount_before_clover(discount: dict, find: Finder):
    source = discount.pop("source", None) or {}
    coupon = source.get("coupon")
    found = find("coupon", coupon) if isinstance(coupon, str) else None
    discount["coupon"] = jsonbytes.copy(found) if found else coupon  # auto-expanded before clover


def _anchor_as_object(p: dict) -> dict:
    """Before endive `billing_cycle_anchor` on an update or resume was `now`/`unchanged`; today `{type: ...}`."""
    if isinstance(p.get("billing_cycle_anchor"), str):
        p = {**p, "billing_cycle_anchor": {"type": p["billing_cycle_anchor"]}}
    return p


CHANGES = (
    Change("2025-03-31.basil", _CL + "basil/2025-03-31/deprecate-singular-coupon-promotion-code",
           routes=SUBSCRIPTION_WRITES, fields={"coupon": Str(), "promotion_code": Str()},
           upgrade=_coupon_to_discounts),
    # customers had no `discounts` then and have none now: the resource applies a legacy coupon itself
    Change("2025-03-31.basil", _CL + "basil/2025-03-31/deprecate-singular-coupon-promotion-code",
           routes=CUSTOMER_WRITES, fields={"coupon": Str(), "promotion_code": Str()}),
    Change("2025-03-31.basil", _CL + "basil/2025-03-31/deprecate-subscription-current-period-start-and-end",
           objects=("subscription",), downgrade=_subscription_before_basil),
    Change("2025-03-31.basil", _CL + "basil/2025-03-31/deprecate-subscription-current-period-start-and-end",
           objects=("subscription_item",), downgrade=_item_before_basil),
    # invoice: parent (adds-new-parent-field-to-invoicing-objects), payments
    # (add-support-for-multiple-partial-payments-on-invoices), discount (deprecate-singular-coupon-promotion-code)
    Change("2025-03-31.basil", _CL + "basil/2025-03-31/adds-new-parent-field-to-invoicing-objects",
           objects=("invoice",), downgrade=_invoice_before_basil),
    Change("2025-03-31.basil", _CL + "basil/2025-03-31/adds-new-parent-field-to-invoicing-objects",
           objects=("line_item",), downgrade=_line_before_basil),
    Change("2025-09-30.clover", _CL + "clover/2025-09-30/polymorphic-coupon",
           routes=(("POST", "/v1/promotion_codes"),), fields={"coupon": Str(required=True), "promotion": None},
           upgrade=_promotion_to_coupon, objects=("promotion_code",), downgrade=_promotion_code_before_clover),
    Change("2025-09-30.clover", _CL + "clover/2025-09-30/add-discount-source-property",
           objects=("discount",), downgrade=_discount_before_clover),
    Change("2026-09-30.endive", _CL + "endive/2026-09-30/polymorphic-billing-cycle-anchor",
           routes=(("POST", "/v1/subscriptions/{sub_id}"), ("POST", "/v1/subscriptions/{sub_id}/resume")),
           fields={"billing_cycle_anchor": Enum("now", "unchanged")}, upgrade=_anchor_as_object),
)


# ---- applying it ----------------------------------------------------------------------------------------

@dataclass
class Plan:
    """What serving one older version takes: the changes since it, newest first."""

    version: str
    changes: tuple[Change, ...]
    by_object: dict[str, list[Change]]

    def fields(self, method: str, template: str, current: dict[str, Field]) -> dict[str, Field]:
        return _fields(self.version, method, template, tuple(current.items()))

    def upgrade(self, method: str, template: str, params: dict) -> dict:
        for change in reversed(self.changes):  # oldest first: each one brings the params one release on
            if change.upgrade and (method, template) in change.routes:
                params = change.upgrade(params)
        return params

    def downgrade(self, result, find: Finder):
        """A translated copy of a response (today's objects as this version shows them)."""
        if not self.by_object:
            return result
        out = jsonbytes.copy(result)
        self._walk(out, find)
        return out

    def _walk(self, node, find: Finder):
        if isinstance(node, list):
            for child in node:
                self._walk(child, find)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("object")
        if kind == "event":  # an event keeps the version it was rendered at
            return
        for change in self.by_object.get(kind, ()):  # the parent first: it may read what its children lose
            change.downgrade(node, find)
        for child in node.values():
            if isinstance(child, (dict, list)):
                self._walk(child, find)


@lru_cache(maxsize=64)
def plan(version: str) -> Plan:
    changes = tuple(c for c in reversed(CHANGES) if c.since > version)
    by_object: dict[str, list[Change]] = {}
    for change in changes:
        for kind in change.objects:
            by_object.setdefault(kind, []).append(change)
    return Plan(version, changes, by_object)


@lru_cache(maxsize=1024)
def _fields(version: str, method: str, template: str, current: tuple) -> dict[str, Field]:
    fields = dict(current)
    for change in plan(version).changes:  # newest first: an older release's parameters win
        if (method, template) in change.routes:
            for name, spec in change.fields.items():
                if spec is None:
                    fields.pop(name, None)
                else:
                    fields[name] = spec
    return fields


def event_at(event: dict, version: str | None, find: Finder) -> dict:
    """An event as an endpoint pinned to `version` receives it (its payload in that version's shapes)."""
    if not version or version == event.get("api_version") or version not in SERVED:
        return event
    p = plan(version)
    data = dict(event["data"])
    data["object"] = p.downgrade(data["object"], find)
    return {**event, "api_version": version, "data": data}
