"""Subscriptions through the API: create (incomplete / trialing / active, with Stripe's event order), update
(items and prorations, trials, discounts, cancellation settings), cancel, retrieve and list. Items carry
`current_period_*` (API 2025-03-31+). What time does to a subscription is in subscription_cycle.py."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import (
    CREATED_FILTER,
    EMPTY_LIST,
    Bool,
    Enum,
    Int,
    List,
    Metadata,
    Obj,
    Str,
    Timestamp,
    merge_metadata,
)
from ..routing import Ctx, paginate, route, snapshot
from . import bank_transfers, invoicing, payment_methods
from .billing_math import discount_amount, in_range, period_end
from .catalog import plan_for
from .coupons import new_discount, usable_coupon
from .invoicing import after_invoice_paid
from .promotion_codes import redeemable
from .subscription_cycle import TRIAL_WILL_END_BEFORE, end_trial, warn_trial_end
from .subscription_state import (
    cancel_subscription,
    drop_used_once_discounts,
    emit_updated,
    period_of,
    save_items,
    set_period,
    take_pending_prorations,
)

ITEM = Obj({"price": Str(), "quantity": Int(min=0), "metadata": Metadata(), "id": Str(), "deleted": Bool(),
            "clear_usage": Bool(), "discounts": List(Obj({"coupon": Str(), "promotion_code": Str()}))})
DISCOUNTS = List(Obj({"coupon": Str(), "promotion_code": Str(), "discount": Str()}), max_items=20)
COMMON = {
    "metadata": Metadata(), "default_payment_method": Str(), "description": Str(max_length=500),
    "cancel_at_period_end": Bool(), "cancel_at": Timestamp(keywords=("max_period_end", "min_period_end")),
    "collection_method": Enum("charge_automatically", "send_invoice"), "days_until_due": Int(min=0),
    "discounts": DISCOUNTS, "off_session": Bool(),
    "payment_behavior": Enum("allow_incomplete", "default_incomplete", "error_if_incomplete",
                             "pending_if_incomplete"),
    "proration_behavior": Enum("always_invoice", "create_prorations", "none"),
    "trial_end": Timestamp(keywords=("now",)),
    "automatic_tax": Obj({"enabled": Bool(required=True)}),
    "payment_settings": Obj({"save_default_payment_method": Enum("off", "on_subscription"),
                             "payment_method_types": bank_transfers.PAYMENT_SETTINGS_TYPES,
                             "payment_method_options": bank_transfers.PAYMENT_SETTINGS_OPTIONS}),
    "trial_settings": Obj({"end_behavior": Obj({"missing_payment_method": Enum("cancel", "create_invoice",
                                                                               "pause")})}),
}
CREATE = {**COMMON, "customer": Str(required=True), "items": List(ITEM, max_items=20, required=True),
          "trial_period_days": Int(min=0, max=730), "trial_from_plan": Bool(), "currency": Str(),
          "billing_cycle_anchor": Int(min=0)}
UPDATE = {**COMMON, "items": List(ITEM, max_items=20),
          # an object since 2026-09-30.endive (versions.py translates the older `now`/`unchanged` string)
          "billing_cycle_anchor": Obj({"type": Enum("now", "unchanged", required=True)}),
          "cancellation_details": Obj({"comment": Str(), "feedback": Str()}),
          "proration_date": Int(min=0)}
CANCEL = {"invoice_now": Bool(), "prorate": Bool(),
          "cancellation_details": Obj({"comment": Str(), "feedback": Str()})}


# ---- building blocks --------------------------------------------------------------------------------

def new_item(ctx: Ctx, sub_id: str, price: dict, quantity: int, metadata: dict | None, period: tuple[int, int],
             now: int) -> dict:
    # the price is shared, not copied: an item shows the price as it is now, as the API does
    item = shape("subscription_item", {
        "id": ctx.new_id("si", 14), "created": now, "current_period_end": period[1],
        "current_period_start": period[0], "discounts": EMPTY_LIST, "metadata": merge_metadata({}, metadata or {}),
        "plan": plan_for(ctx, price), "price": price, "quantity": quantity, "subscription": sub_id,
        "tax_rates": EMPTY_LIST})
    return ctx.put("subscription_item", item)


def recurring_price(ctx: Ctx, price_id: str, param: str) -> dict:
    price = ctx.get("price", price_id, param)
    if price["type"] != "recurring":
        raise InvalidRequest("The price specified is set to `type=one_time` but this field only accepts prices "
                             "with `type=recurring`.", param=param)
    if not price["active"]:
        raise InvalidRequest("The price specified is inactive. This field only accepts active prices.", param=param)
    return price


def check_compatible(prices: list[tuple[dict, str]]):
    first = prices[0][0]
    for price, param in prices[1:]:
        if price["currency"] != first["currency"]:
            raise InvalidRequest("Currency and interval fields must match across all plans on this subscription. "
                                 "Found mismatch in currency field.", param=param)
        if (price["recurring"]["interval"], price["recurring"]["interval_count"]) != (
                first["recurring"]["interval"], first["recurring"]["interval_count"]):
            raise InvalidRequest("Currency and interval fields must match across all plans on this subscription. "
                                 "Found mismatch in interval field.", param=param)


def build_discounts(ctx: Ctx, specs: list[dict], customer: dict, sub_id: str | None, amount: int,
                    currency: str, now: int, param: str = "discounts",
                    checkout_session: str | None = None) -> list[str]:
    ids = []
    for i, spec in enumerate(specs or []):
        name = f"{param}[{i}]"
        if sum(1 for k in ("coupon", "promotion_code", "discount") if spec.get(k)) != 1:
            raise InvalidRequest("You must specify exactly one of coupon, promotion_code or discount.", param=name)
        if spec.get("discount"):
            ids.append(ctx.get("discount", spec["discount"], f"{name}[discount]")["id"])
            continue
        promo_id = None
        if spec.get("promotion_code"):
            promo = ctx.get("promotion_code", spec["promotion_code"], f"{name}[promotion_code]")
            coupon = redeemable(ctx, promo, customer=customer, amount=amount, currency=currency, now=now,
                                param=f"{name}[promotion_code]")
            promo["times_redeemed"] += 1
            promo_id = promo["id"]
        else:
            coupon = usable_coupon(ctx, spec["coupon"], f"{name}[coupon]", now)
        ids.append(new_discount(ctx, coupon, customer=customer["id"], subscription=sub_id, promotion_code=promo_id,
                                checkout_session=checkout_session, start=now)["id"])
    return ids


# ---- create -----------------------------------------------------------------------------------------

def create_subscription(ctx: Ctx, p: dict, *, checkout_session: str | None = None,
                        precreated_discounts: list[str] | None = None) -> dict:
    customer = ctx.get("customer", p["customer"], "customer")
    now = ctx.now(customer)
    if not p["items"]:
        raise InvalidRequest("Missing required param: items.", code="parameter_missing", param="items")
    prices = []
    for i, spec in enumerate(p["items"]):
        if not spec.get("price"):
            raise InvalidRequest(f"Missing required param: items[{i}][price].", code="parameter_missing",
                                 param=f"items[{i}][price]")
        prices.append((recurring_price(ctx, spec["price"], f"items[{i}][price]"), f"items[{i}][price]"))
        if any(earlier["id"] == prices[-1][0]["id"] for earlier, _ in prices[:-1]):  # as Stripe refuses
            raise InvalidRequest("Cannot add multiple subscription items with the same price to a subscription.",
                                 param=f"items[{i}][price]")
    check_compatible(prices)
    currency = prices[0][0]["currency"]
    behaviour = p.get("payment_behavior") or "allow_incomplete"
    collection = p.get("collection_method") or "charge_automatically"
    if collection == "send_invoice" and p.get("days_until_due") is None:
        raise InvalidRequest("Missing required param: days_until_due.", code="parameter_missing",
                             param="days_until_due")

    trial_end = _trial_end(p, prices, now)
    pm = None
    if p.get("default_payment_method"):
        pm = payment_methods.lookup(ctx, p["default_payment_method"], "default_payment_method")
        if pm["customer"] != customer["id"]:
            raise InvalidRequest("The customer does not have a payment method with the ID "
                                 f"{p['default_payment_method']}. The payment method must be attached to the "
                                 "customer.", param="default_payment_method")

    sub_id = ctx.new_id("sub")
    first_end = trial_end or period_end(now, prices[0][0]["recurring"])
    subtotal = sum(pr["unit_amount"] * (spec.get("quantity") if spec.get("quantity") is not None else 1)
                   for (pr, _), spec in zip(prices, p["items"], strict=True))
    discount_ids = list(precreated_discounts or [])
    discount_ids += build_discounts(ctx, p.get("discounts") or [], customer, sub_id, subtotal, currency, now)
    items = [new_item(ctx, sub_id, pr, spec.get("quantity") if spec.get("quantity") is not None else 1,
                      spec.get("metadata"), (now, first_end), now) for (pr, _), spec in zip(prices, p["items"], strict=True)]
    sub = shape("subscription", {
        "id": sub_id,
        "automatic_tax": {"disabled_reason": None, "enabled": bool((p.get("automatic_tax") or {}).get("enabled")),
                          "liability": None},
        "billing_cycle_anchor": first_end if trial_end else now,
        "billing_mode": {"flexible": None, "type": "classic"}, "billing_schedules": EMPTY_LIST,
        "cancel_at_period_end": False, "cancellation_details": shape("subscription:cancellation_details", {}),
        "collection_method": collection, "created": now, "currency": currency, "customer": customer["id"],
        "days_until_due": p.get("days_until_due"),
        "default_payment_method": pm["id"] if pm else None, "default_tax_rates": [],
        "description": p.get("description"), "discounts": discount_ids,
        "invoice_settings": shape("subscription:invoice_settings", {"issuer": {"type": "self"}}),
        "items": {"object": "list", "data": items, "has_more": False, "total_count": len(items),
                  "url": f"/v1/subscription_items?subscription={sub_id}"},
        "livemode": ctx.livemode, "metadata": merge_metadata({}, p.get("metadata") or {}),
        "payment_settings": bank_transfers.subscription_payment_settings(p.get("payment_settings") or {}, currency),
        "start_date": now, "status": "incomplete", "test_clock": customer.get("test_clock"),
        "trial_end": trial_end, "trial_settings": {"end_behavior": shape("subscription:trial_settings.end_behavior", {
            "missing_payment_method": ((p.get("trial_settings") or {}).get("end_behavior") or {}).get(
                "missing_payment_method", "create_invoice")})},
        "trial_start": now if trial_end else None,
    })
    if checkout_session:
        sub["payment_settings"]["save_default_payment_method"] = "off"
    _check_can_pay(ctx, sub, behaviour, subtotal, trial_end)
    ctx.put("subscription", sub)

    mark = len(ctx.events)
    inv = invoicing.draft_subscription_invoice(ctx, sub, "subscription_create", (now, first_end), now,
                                              trial=bool(trial_end))
    sub["latest_invoice"] = inv["id"]
    drop_used_once_discounts(ctx, sub)
    if inv["amount_due"] == 0:
        # trial or 100%-off: paid at once, no PaymentIntent; a single `created` already in its final status
        invoicing.finalize(ctx, inv, now)
        invoicing.collect(ctx, inv, sub, now)
        sub["status"] = "trialing" if trial_end else "active"
        _emit_at(ctx, mark, "customer.subscription.created", sub)
        if trial_end and trial_end - now <= TRIAL_WILL_END_BEFORE:
            warn_trial_end(ctx, sub)  # a trial shorter than three days is announced at once
    else:
        _emit_at(ctx, mark, "customer.subscription.created", sub)
        invoicing.finalize(ctx, inv, now)
        if behaviour != "default_incomplete" and collection == "charge_automatically":
            if invoicing.collect(ctx, inv, sub, now) == "paid":
                after_invoice_paid(ctx, sub, inv, now)
    if p.get("cancel_at_period_end") or p.get("cancel_at"):
        before = snapshot(sub)
        _apply_cancel_settings(ctx, sub, p, now)
        emit_updated(ctx, sub, before)
    return sub


def _emit_at(ctx: Ctx, index: int, event_type: str, obj: dict):
    ctx.emit(event_type, obj)
    ctx.events.insert(index, ctx.events.pop())


def _trial_end(p: dict, prices, now: int) -> int | None:
    if p.get("trial_end") is not None and p.get("trial_period_days") is not None:
        raise InvalidRequest("You may only specify one of these parameters: trial_end, trial_period_days.",
                             param="trial_end")
    if p.get("trial_end") == "now":
        return None
    if p.get("trial_end") is not None:
        if p["trial_end"] <= now:
            raise InvalidRequest("Invalid timestamp: must be an integer Unix timestamp in the future.",
                                 param="trial_end")
        return p["trial_end"]
    days = p.get("trial_period_days")
    if days is None and p.get("trial_from_plan"):
        days = prices[0][0]["recurring"].get("trial_period_days")
    return now + days * 86400 if days else None


def _check_can_pay(ctx: Ctx, sub: dict, behaviour: str, subtotal: int, trial_end):
    """Failures Stripe reports before creating anything (so a 4xx leaves no half-made subscription)."""
    if trial_end or subtotal == 0 or sub["collection_method"] != "charge_automatically":
        return
    if "customer_balance" in (sub["payment_settings"]["payment_method_types"] or ()):
        return  # paid by bank transfer: its first invoice waits for the money
    if behaviour == "default_incomplete":
        return
    pm = invoicing.payment_method_for(ctx, sub)
    if pm is None:
        # a discount may still bring the amount to 0
        if _discounted_total(ctx, sub, subtotal) == 0:
            return
        raise InvalidRequest(
            "This customer has no attached payment source or default payment method. Please consider adding a "
            "default payment method. For more information, visit "
            "https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.",
            code="resource_missing")
    if behaviour == "error_if_incomplete" and payment_methods.behaviour(pm) != "ok":
        if _discounted_total(ctx, sub, subtotal) == 0:
            return
        b = payment_methods.behaviour(pm)
        raise payment_methods.decline_error(b.split(":", 1)[1] if ":" in b else "authentication_required")


def _discounted_total(ctx: Ctx, sub: dict, subtotal: int) -> int:
    total = subtotal
    for di in invoicing.active_discounts(ctx, sub, sub["created"]):
        coupon = ctx.find("coupon", di["source"]["coupon"])
        total -= discount_amount(coupon, total, sub["currency"]) if coupon else 0
    return total


# ---- update -----------------------------------------------------------------------------------------

def _apply_cancel_settings(ctx: Ctx, sub: dict, p: dict, now: int):
    if "cancel_at_period_end" in p and p["cancel_at_period_end"] is not None:
        flag = p["cancel_at_period_end"]
        sub["cancel_at_period_end"] = flag
        sub["cancel_at"] = period_of(sub)[1] if flag else None
        sub["canceled_at"] = now if flag else None
    if "cancel_at" in p:
        at = p["cancel_at"]
        if at in ("max_period_end", "min_period_end"):
            at = period_of(sub)[1]
        if at is not None and at <= now:
            raise InvalidRequest("Invalid cancel_at: must be in the future.", param="cancel_at")
        sub["cancel_at"] = at
        sub["cancel_at_period_end"] = bool(at) and at == period_of(sub)[1]
        sub["canceled_at"] = now if at else None
    if sub["cancel_at"] is None:
        sub["cancellation_details"] = shape("subscription:cancellation_details", {})
    else:
        sub["cancellation_details"] = {**sub["cancellation_details"], "reason": "cancellation_requested"}


def update_subscription(ctx: Ctx, sub: dict, p: dict) -> dict:
    if (p.get("billing_cycle_anchor") or {}).get("type") == "now":  # refused, never silently ignored
        raise InvalidRequest("Resetting the billing cycle anchor on an update (billing_cycle_anchor[type]=now) is "
                             "not simulated.", param="billing_cycle_anchor")
    now = ctx.now(sub["customer"])
    before = snapshot(sub)
    customer = ctx.get("customer", sub["customer"])
    if "metadata" in p:
        sub["metadata"] = merge_metadata(sub["metadata"], p["metadata"])
    if "description" in p:
        sub["description"] = p["description"]
    if "default_payment_method" in p:
        pm_id = p["default_payment_method"]
        if pm_id:
            pm = payment_methods.lookup(ctx, pm_id, "default_payment_method")
            if pm["customer"] != customer["id"]:
                raise InvalidRequest("The payment method must be attached to the customer.",
                                     param="default_payment_method")
            pm_id = pm["id"]
        sub["default_payment_method"] = pm_id
    if p.get("cancellation_details"):
        sub["cancellation_details"] = {**sub["cancellation_details"], **p["cancellation_details"]}
    if "collection_method" in p:
        sub["collection_method"] = p["collection_method"]
    if "days_until_due" in p:
        sub["days_until_due"] = p["days_until_due"]
    if p.get("payment_settings"):  # what is given replaces; its next invoices are paid the new way
        current = sub["payment_settings"]
        sub["payment_settings"] = bank_transfers.subscription_payment_settings(
            {"payment_method_types": current["payment_method_types"],
             "payment_method_options": current["payment_method_options"] or {},
             "save_default_payment_method": current["save_default_payment_method"], **p["payment_settings"]},
            sub["currency"])
    if "discounts" in p:
        sub["discounts"] = build_discounts(ctx, p["discounts"] or [], customer, sub["id"], 0, sub["currency"], now)
    price_changed = False
    if p.get("items"):
        price_changed = _update_items(ctx, sub, p["items"], now)
    if "trial_end" in p and p["trial_end"] is not None:
        if p["trial_end"] == "now":
            if sub["status"] == "trialing":
                warn_trial_end(ctx, sub)  # "or immediately when a trial is ended early (trial_end=now)"
                end_trial(ctx, sub, now, emit_previous=None)
        else:
            sub["trial_end"] = p["trial_end"]
            if sub["status"] == "trialing":
                set_period(sub, (period_of(sub)[0], p["trial_end"]))
                save_items(ctx, sub)
                ctx.table("trial_warning").remove(sub["id"])  # a moved trial end is announced again
                if p["trial_end"] - now <= TRIAL_WILL_END_BEFORE:
                    warn_trial_end(ctx, sub)
    if "cancel_at_period_end" in p or "cancel_at" in p:
        _apply_cancel_settings(ctx, sub, p, now)
    if price_changed:
        _prorate(ctx, sub, before, p, now)
    changed = {k: v for k, v in before.items() if sub.get(k) != v}
    if changed:
        ctx.emit("customer.subscription.updated", sub, changed)
    return sub


def _update_items(ctx: Ctx, sub: dict, specs: list[dict], now: int) -> bool:
    items = [dict(it) for it in sub["items"]["data"]]
    by_id = {it["id"]: it for it in items}
    period = period_of(sub)
    changed = False
    for i, spec in enumerate(specs):
        param = f"items[{i}]"
        if spec.get("id"):
            item = by_id.get(spec["id"])
            if item is None:
                raise InvalidRequest(f"No such subscription item: '{spec['id']}'", code="resource_missing",
                                     param=f"{param}[id]")
            if spec.get("deleted"):
                items.remove(item)
                ctx.table("subscription_item").remove(item["id"])
                changed = True
                continue
            if spec.get("price") and spec["price"] != item["price"]["id"]:
                price = recurring_price(ctx, spec["price"], f"{param}[price]")
                item["price"], item["plan"] = price, plan_for(ctx, price)
                changed = True
            if spec.get("quantity") is not None and spec["quantity"] != item["quantity"]:
                item["quantity"] = spec["quantity"]
                changed = True
            if "metadata" in spec:
                item["metadata"] = merge_metadata(item["metadata"], spec["metadata"])
        else:
            if not spec.get("price"):
                raise InvalidRequest(f"Missing required param: {param}[price].", code="parameter_missing",
                                     param=f"{param}[price]")
            price = recurring_price(ctx, spec["price"], f"{param}[price]")
            qty = spec.get("quantity") if spec.get("quantity") is not None else 1
            items.append(new_item(ctx, sub["id"], price, qty, spec.get("metadata"), period, now))
            changed = True
    if not items:
        raise InvalidRequest("A subscription must have at least one active plan. To cancel a subscription, "
                             "please use the cancel API endpoint.", param="items")
    check_compatible([(it["price"], f"items[{i}][price]") for i, it in enumerate(items)])
    sub["items"] = {**sub["items"], "data": items, "total_count": len(items)}
    save_items(ctx, sub)
    return changed


def _prorate(ctx: Ctx, sub: dict, before: dict, p: dict, now: int):
    """Credit the unused time of the old items and charge the new ones for the rest of the period:
    held as pending invoice items for the next invoice (create_prorations) or invoiced now (always_invoice)."""
    behaviour = p.get("proration_behavior") or "create_prorations"
    if behaviour == "none" or sub["status"] == "trialing":
        return
    start, end = period_of(sub)
    if end <= start:
        return
    share = max(0.0, min(1.0, (end - (p.get("proration_date") or now)) / (end - start)))
    old = sum(it["price"]["unit_amount"] * (it.get("quantity") or 1) for it in before["items"]["data"])
    new = sum(it["price"]["unit_amount"] * (it.get("quantity") or 1) for it in sub["items"]["data"])
    credit, charge = -int(round(old * share)), int(round(new * share))
    # through ctx.find / ctx.put, so a request that fails afterwards (or a preview) leaves the pending amount as it was
    entry = ctx.find("pending_proration", sub["id"]) or ctx.put("pending_proration", {"id": sub["id"], "amount": 0})
    entry["amount"] += credit + charge
    if behaviour == "always_invoice":
        _invoice_now(ctx, sub, now, "subscription_update")


def _invoice_now(ctx: Ctx, sub: dict, now: int, reason: str, automatic: bool = False) -> dict:
    inv = invoicing.draft_subscription_invoice(ctx, sub, reason, period_of(sub), now,
                                              invoice_period=(now, now))
    extra = take_pending_prorations(ctx, sub["id"])
    if reason == "subscription_update":
        invoicing.replace_with_proration(ctx, inv, sub, extra)
    else:
        invoicing.add_proration(ctx, inv, sub, extra)
    sub["latest_invoice"] = inv["id"]
    invoicing.finalize(ctx, inv, now)
    if invoicing.collect(ctx, inv, sub, now) == "paid":
        after_invoice_paid(ctx, sub, inv, now, automatic)
    return inv


# ---- routes -----------------------------------------------------------------------------------------

@route("POST", "/v1/subscriptions", CREATE)
def create(ctx: Ctx, p: dict):
    return create_subscription(ctx, p)


@route("GET", "/v1/subscriptions/{sub_id}")
def retrieve(ctx: Ctx, p: dict, sub_id: str):
    return ctx.get("subscription", sub_id)


@route("POST", "/v1/subscriptions/{sub_id}", UPDATE)
def update(ctx: Ctx, p: dict, sub_id: str):
    sub = ctx.get("subscription", sub_id)
    if sub["status"] in ("canceled", "incomplete_expired") and set(p) - {"metadata", "cancellation_details",
                                                                        "expand"}:
        raise InvalidRequest("A canceled subscription can only update its cancellation_details and metadata.")
    return update_subscription(ctx, sub, p)


@route("DELETE", "/v1/subscriptions/{sub_id}", CANCEL)
def cancel(ctx: Ctx, p: dict, sub_id: str):
    sub = ctx.get("subscription", sub_id)
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise InvalidRequest("This subscription has already been canceled.")
    return cancel_subscription(ctx, sub, details=p.get("cancellation_details"))


STATUSES = ("active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused",
            "trialing", "unpaid")
LIST = {"customer": Str(), "price": Str(), "status": Enum(*STATUSES), "test_clock": Str(),
        "created": CREATED_FILTER, "collection_method": Enum("charge_automatically", "send_invoice"),
        "current_period_end": CREATED_FILTER, "current_period_start": CREATED_FILTER}


@route("GET", "/v1/subscriptions", LIST, listing=True)
def list_(ctx: Ctx, p: dict):
    status = p.get("status")

    def status_ok(s):
        if status is None:
            return s["status"] != "canceled"
        if status == "all":
            return True
        if status == "ended":
            return s["status"] in ("canceled", "incomplete_expired")
        return s["status"] == status

    def keep(s):
        start, end = period_of(s)
        return (status_ok(s) and (p.get("customer") is None or s["customer"] == p["customer"])
                and (p.get("price") is None or any(it["price"]["id"] == p["price"] for it in s["items"]["data"]))
                and (p.get("test_clock") is None or s["test_clock"] == p["test_clock"])
                and (p.get("collection_method") is None or s["collection_method"] == p["collection_method"])
                and (p.get("created") is None or in_range(s["created"], p["created"]))
                and (p.get("current_period_end") is None or in_range(end, p["current_period_end"]))
                and (p.get("current_period_start") is None or in_range(start, p["current_period_start"])))

    return paginate(ctx, "subscription", p, "/v1/subscriptions", keep)
