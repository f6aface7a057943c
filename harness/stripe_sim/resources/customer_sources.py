"""A customer's legacy card sources (`source=tok_visa`, `/v1/customers/{id}/sources`): still accepted by the
API, and charged by invoices when the customer has no default payment method (`default_source`).

A card source is one card seen two ways, as at Stripe (the PaymentMethods API takes `card_...` ids): a `card`
object here, and a payment method with the same id that invoices charge."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted, shape
from ..params import Int, Metadata, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import payment_methods

BRANDS = {"visa": "Visa", "mastercard": "MasterCard", "amex": "American Express"}
UPDATE = {"metadata": Metadata(), "name": Str(), "exp_month": Int(min=1, max=12), "exp_year": Int(),
          **{f"address_{k}": Str() for k in ("city", "country", "line1", "line2", "state", "zip")}}


def add_card(ctx: Ctx, cus: dict, token: str, param: str = "source", metadata: dict | None = None) -> dict:
    if not (token.startswith("tok_") and token in payment_methods.TOKENS):
        raise InvalidRequest(f"No such token: '{token}'", code="resource_missing", param=param)
    number = payment_methods.TOKENS[token]
    behaviour = payment_methods.CARDS[number][2]
    if behaviour.startswith("decline_on_attach:"):  # refused when added, as at Stripe
        raise payment_methods.decline_error(behaviour.split(":", 1)[1], param)
    card_id = ctx.new_id("card")
    pm = payment_methods.new_payment_method(ctx, number, pm_id=card_id)
    pm["customer"] = cus["id"]
    c = pm["card"]
    card = shape("card", {
        "id": card_id, "allow_redisplay": "unspecified", "brand": BRANDS.get(c["brand"], c["brand"]),
        "country": c["country"], "customer": cus["id"], "cvc_check": "pass", "exp_month": c["exp_month"],
        "exp_year": c["exp_year"], "fingerprint": c["fingerprint"], "funding": c["funding"], "last4": c["last4"],
        "metadata": merge_metadata({}, metadata or {}), "regulated_status": "unregulated"})
    ctx.put("card_source", card)
    if not cus.get("default_source"):
        cus["default_source"] = card_id
    ctx.emit("customer.source.created", card)
    return card


def _of(ctx: Ctx, cus_id: str, card_id: str) -> dict:
    ctx.get("customer", cus_id)
    card = ctx.find("card_source", card_id)
    if card is None or card["customer"] != cus_id:
        raise InvalidRequest(f"No such source: '{card_id}'", code="resource_missing", param="id", status=404)
    return card


@route("POST", "/v1/customers/{cus_id}/sources", {"source": Str(required=True), "metadata": Metadata()})
def create(ctx: Ctx, p: dict, cus_id: str):
    cus = ctx.get("customer", cus_id)
    before = {"default_source": cus.get("default_source")}
    card = add_card(ctx, cus, p["source"], metadata=p.get("metadata"))
    if cus["default_source"] != before["default_source"]:
        ctx.emit("customer.updated", cus, before)
    return card


@route("GET", "/v1/customers/{cus_id}/sources", {"object": Str()}, listing=True)
def list_(ctx: Ctx, p: dict, cus_id: str):
    ctx.get("customer", cus_id)
    return paginate(ctx, "card_source", p, f"/v1/customers/{cus_id}/sources", lambda c: c["customer"] == cus_id
                    and p.get("object") in (None, "card"))


@route("GET", "/v1/customers/{cus_id}/sources/{card_id}")
def retrieve(ctx: Ctx, p: dict, cus_id: str, card_id: str):
    return _of(ctx, cus_id, card_id)


@route("POST", "/v1/customers/{cus_id}/sources/{card_id}", UPDATE)
def update(ctx: Ctx, p: dict, cus_id: str, card_id: str):
    card = _of(ctx, cus_id, card_id)
    before = {k: card[k] for k in UPDATE}
    for k in UPDATE:
        if k in p and k != "metadata":
            card[k] = p[k]
    if "metadata" in p:
        card["metadata"] = merge_metadata(card["metadata"], p["metadata"])
    changed = {k: v for k, v in before.items() if card[k] != v}
    if changed:
        ctx.emit("customer.source.updated", card, changed)
    return card


@route("DELETE", "/v1/customers/{cus_id}/sources/{card_id}")
def delete(ctx: Ctx, p: dict, cus_id: str, card_id: str):
    card = _of(ctx, cus_id, card_id)
    cus = ctx.get("customer", cus_id)
    ctx.table("card_source").remove(card_id)
    pm = ctx.find("payment_method", card_id)
    if pm is not None:
        pm["customer"] = None
    if cus.get("default_source") == card_id:
        rest = [c for c in ctx.table("card_source").rows.values() if c["customer"] == cus_id]
        before = {"default_source": card_id}
        cus["default_source"] = rest[-1]["id"] if rest else None
        ctx.emit("customer.updated", cus, before)
    ctx.emit("customer.source.deleted", card)
    return deleted("card", card_id)
