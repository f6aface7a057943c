"""Customers: create / retrieve / update / delete / list, with payment methods attached at creation."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted, shape
from ..params import CREATED_FILTER, Email, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import cash_balance, customer_balance, customer_sources, payment_methods
from .billing_math import in_range
from .discounts import legacy_customer_discount
from .subscription_state import cancel_subscription

ADDRESS = Obj({k: Str() for k in ("city", "country", "line1", "line2", "postal_code", "state")})
INVOICE_SETTINGS = Obj({
    "default_payment_method": Str(nullable=True),
    "footer": Str(),
    "custom_fields": List(Obj({"name": Str(required=True), "value": Str(required=True)})),
    "rendering_options": Obj({"amount_tax_display": Str(), "template": Str()}),
})
SHIPPING = Obj({"address": ADDRESS, "name": Str(required=True), "phone": Str()})
FIELDS = {
    "address": ADDRESS, "balance": Int(), "description": Str(), "email": Email(),
    "invoice_prefix": Str(max_length=12), "invoice_settings": INVOICE_SETTINGS, "metadata": Metadata(),
    "name": Str(max_length=256), "phone": Str(max_length=20), "preferred_locales": List(Str()),
    "shipping": SHIPPING, "tax_exempt": Enum("exempt", "none", "reverse"),
    "business_name": Str(), "individual_name": Str(), "next_invoice_sequence": Int(min=1),
    "cash_balance": Obj({"settings": cash_balance.SETTINGS}),
}
CREATE = {**FIELDS, "payment_method": Str(), "test_clock": Str(), "source": Str()}
UPDATE = {**FIELDS, "default_source": Str(), "source": Str()}
DEFAULT_CURRENCY = "usd"  # the simulated account's (US) currency, for a balance set before any invoice
LIST = {"email": Str(max_length=512), "created": CREATED_FILTER, "test_clock": Str()}

def _address(a):
    if a is None:
        return None
    return {k: a.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")}

def new_customer(ctx: Ctx, p: dict) -> dict:
    now = ctx.now()
    clock = None
    if not p.get("test_clock") and not ctx.livemode and ctx.sim.default_test_clock:
        # the simulator's control: new customers (e.g. made by Checkout) join the scenario's clock
        p = {**p, "test_clock": ctx.sim.default_test_clock}
    if p.get("test_clock"):
        if ctx.livemode:
            raise InvalidRequest("Test clocks are only available in test mode.", param="test_clock")
        clock = ctx.get("test_helpers.test_clock", p["test_clock"], "test_clock")
        now = clock["frozen_time"]
    cus_id = ctx.new_id("cus", 14)
    # the shape fills the unset always-present fields; optional ones the simulator sends are given here
    cus = shape("customer", {
        "id": cus_id, "address": _address(p.get("address")), "balance": 0,
        "created": now, "currency": None, "customer_account": None, "delinquent": False,
        "description": p.get("description"), "discount": None, "email": p.get("email"),
        "invoice_prefix": p.get("invoice_prefix") or cus_id[4:12].upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": ctx.livemode, "metadata": merge_metadata({}, p.get("metadata") or {}),
        "name": p.get("name"), "next_invoice_sequence": p.get("next_invoice_sequence", 1),
        "phone": p.get("phone"), "preferred_locales": p.get("preferred_locales") or [],
        "shipping": p.get("shipping"), "tax_exempt": p.get("tax_exempt") or "none",
        "test_clock": clock["id"] if clock else None,
        # absent unless set, as in Stripe's schema
        **{name: p[name] for name in ("business_name", "individual_name") if p.get(name)},
    })
    if cus["shipping"]:
        cus["shipping"] = {"address": _address(cus["shipping"].get("address") or {}),
                           "name": cus["shipping"]["name"], "phone": cus["shipping"].get("phone")}
    if p.get("balance"):  # a starting balance is the ledger's first transaction
        customer_balance.record(ctx, cus, p["balance"], "initial", currency=DEFAULT_CURRENCY, emit=False)
    discount_event = legacy_customer_discount(ctx, cus, p)  # only at versions before basil
    ctx.put("customer", cus)
    if p.get("cash_balance"):
        cash_balance.set_mode(ctx, cus_id, p["cash_balance"].get("settings"))
    ctx.emit("customer.created", cus)
    if discount_event:
        ctx.emit(*discount_event)
    attached = None
    if p.get("payment_method"):
        attached = payment_methods.attach(ctx, p["payment_method"], cus, param="payment_method")
    if p.get("source"):
        customer_sources.add_card(ctx, cus, p["source"])
    settings = dict(p.get("invoice_settings") or {})
    if attached and settings.get("default_payment_method") == p["payment_method"]:
        settings["default_payment_method"] = attached["id"]  # the token names the card just attached
    if settings:
        _apply_invoice_settings(ctx, cus, settings, "invoice_settings", emit=False)
        if settings.get("default_payment_method"):
            ctx.emit("customer.updated", cus, {"invoice_settings": {"default_payment_method": None}})
    return cus

def _apply_invoice_settings(ctx: Ctx, cus: dict, settings: dict, param: str, emit: bool):
    out = dict(cus["invoice_settings"])
    if "default_payment_method" in settings:
        pm_id = settings["default_payment_method"]
        if pm_id:
            pm = payment_methods.lookup(ctx, pm_id, f"{param}[default_payment_method]")
            if pm.get("customer") != cus["id"]:
                raise InvalidRequest(
                    f"No such PaymentMethod: '{pm_id}'; It's possible this PaymentMethod exists on one of your "
                    "connected accounts, in which case you should retry this request on that connected account.",
                    code="resource_missing", param=f"{param}[default_payment_method]")
            pm_id = pm["id"]
        out["default_payment_method"] = pm_id
    for k in ("footer", "custom_fields", "rendering_options"):
        if k in settings:
            out[k] = settings[k]
    cus["invoice_settings"] = out

def _including(ctx: Ctx, cus: dict, p: dict) -> dict:
    """`expand[]=cash_balance`: the customer's cash balance is left out unless asked for (an includable field)."""
    if "cash_balance" not in (p.get("expand") or ()) or cus.get("deleted"):
        return cus
    out = {}
    for name, value in cus.items():
        if name == "created":  # in Stripe's field order
            out["cash_balance"] = cash_balance.view(ctx, cus["id"])
        out[name] = value
    return out

@route("POST", "/v1/customers", CREATE)
def create(ctx: Ctx, p: dict):
    return _including(ctx, new_customer(ctx, p), p)

@route("GET", "/v1/customers/{cus_id}")
def retrieve(ctx: Ctx, p: dict, cus_id: str):
    cus = ctx.find("customer", cus_id)
    if cus is not None and cus.get("deleted"):
        return cus
    return _including(ctx, ctx.get("customer", cus_id), p)

def update_customer(ctx: Ctx, cus: dict, p: dict) -> dict:
    before = {k: cus[k] for k in cus}
    for k in ("address", "shipping"):
        if k in p:
            cus[k] = _address(p[k]) if k == "address" else p[k]
    if "balance" in p and p["balance"] is not None and p["balance"] != (cus.get("balance") or 0):
        customer_balance.record(ctx, cus, p["balance"] - (cus.get("balance") or 0), "adjustment",
                                currency=cus.get("currency") or DEFAULT_CURRENCY, emit=False)
    for k in ("description", "email", "name", "phone", "preferred_locales", "tax_exempt",
              "invoice_prefix", "next_invoice_sequence", "business_name", "individual_name"):
        if k in p:
            cus[k] = p[k]
    if "metadata" in p:
        cus["metadata"] = merge_metadata(cus["metadata"], p["metadata"])
    if p.get("cash_balance"):
        cash_balance.set_mode(ctx, cus["id"], p["cash_balance"].get("settings"))
    if "invoice_settings" in p:
        _apply_invoice_settings(ctx, cus, p["invoice_settings"] or {}, "invoice_settings", emit=False)
    if "default_source" in p:
        cus["default_source"] = p["default_source"]
    if p.get("source"):
        customer_sources.add_card(ctx, cus, p["source"])
    discount_event = legacy_customer_discount(ctx, cus, p)  # only at versions before basil
    changed = {k: v for k, v in before.items() if cus.get(k) != v}
    if changed:
        ctx.emit("customer.updated", cus, changed)
    if discount_event:
        ctx.emit(*discount_event)
    return cus

@route("POST", "/v1/customers/{cus_id}", UPDATE)
def update(ctx: Ctx, p: dict, cus_id: str):
    return _including(ctx, update_customer(ctx, ctx.get("customer", cus_id), p), p)

@route("DELETE", "/v1/customers/{cus_id}")
def delete(ctx: Ctx, p: dict, cus_id: str):
    cus = ctx.get("customer", cus_id)
    for sub in list(ctx.store.scan(ctx.mode, "subscription",
                                   lambda s: s["customer"] == cus_id and s["status"] != "canceled")):
        cancel_subscription(ctx, sub, reason="cancellation_requested")
    ctx.emit("customer.deleted", cus)
    stub = deleted("customer", cus_id)
    ctx.put("customer", stub)
    return stub

@route("GET", "/v1/customers", LIST, listing=True)
def list_(ctx: Ctx, p: dict):
    email, clock, created = p.get("email"), p.get("test_clock"), p.get("created")

    def keep(c):
        return ((email is None or c.get("email") == email) and (clock is None or c.get("test_clock") == clock)
                and (created is None or in_range(c["created"], created)))

    return paginate(ctx, "customer", p, "/v1/customers", keep if (email or clock or created) else None,
                    having=("email", email) if email is not None else None)
