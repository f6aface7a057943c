"""Payment links: a shareable URL that opens a Checkout Session for fixed line items.

`url` is served by the simulator's hosted pages (`/b/{id}`): each visit makes a Checkout Session (mode
`subscription` when an item is recurring, else `payment`, with `payment_link` set) and goes to its page; after
paying, the customer lands on `after_completion[redirect][url]`, or on a hosted confirmation page.
An inactive link answers that it is no longer available.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Bool, Custom, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import checkout

LINE = Obj({"price": Str(required=True), "quantity": Int(min=1, max=999999)})
AFTER = Obj({"type": Enum("hosted_confirmation", "redirect", required=True),
             "hosted_confirmation": Obj({"custom_message": Str(max_length=500)}),
             "redirect": Obj({"url": Str(required=True)})})


def _lines(value, name):
    """`line_items` as a list, or as the CLI's indexed hash (`line_items[0][...]`)."""
    if isinstance(value, dict) and all(k.isdigit() for k in value):
        value = [value[k] for k in sorted(value, key=int)]
    return List(LINE, max_items=20).check(value, name)


CREATE = {"line_items": Custom(_lines, required=True), "metadata": Metadata(), "after_completion": AFTER,
          "allow_promotion_codes": Bool(), "active": Bool(),
          "subscription_data": Obj({"metadata": Metadata(), "trial_period_days": Int(min=1, max=730),
                                    "description": Str()})}
UPDATE = {"active": Bool(), "metadata": Metadata(), "after_completion": AFTER, "allow_promotion_codes": Bool()}


def _after(spec: dict | None) -> dict:
    spec = spec or {"type": "hosted_confirmation"}
    if spec["type"] == "redirect":
        return shape("payment_link:after_completion", {"type": "redirect", "redirect": {"url": spec["redirect"]["url"]}})
    return shape("payment_link:after_completion", {"type": spec["type"], "hosted_confirmation": {
        "custom_message": (spec.get("hosted_confirmation") or {}).get("custom_message")}})


def public(link: dict) -> dict:
    return {k: v for k, v in link.items() if k != "line_items"}


@route("POST", "/v1/payment_links", CREATE)
def create(ctx: Ctx, p: dict):
    if p.get("after_completion", {}).get("type") == "redirect" and not p["after_completion"].get("redirect"):
        raise InvalidRequest("Missing required param: after_completion[redirect].", code="parameter_missing",
                             param="after_completion[redirect]")
    link_id = ctx.new_id("plink")
    items, currencies = [], set()
    for i, spec in enumerate(p["line_items"]):
        price = ctx.get("price", spec["price"], f"line_items[{i}][price]")
        if not price["active"]:
            raise InvalidRequest("The price specified is inactive.", param=f"line_items[{i}][price]")
        currencies.add(price["currency"])
        qty = spec.get("quantity") or 1
        items.append(shape("item", {
            "id": ctx.new_id("li"), "amount_discount": 0, "amount_subtotal": price["unit_amount"] * qty,
            "amount_tax": 0, "amount_total": price["unit_amount"] * qty, "currency": price["currency"],
            "description": (ctx.find("product", price["product"]) or {}).get("name"), "metadata": {},
            "price": price, "quantity": qty}))
    if len(currencies) > 1:
        raise InvalidRequest("All prices of a payment link must have the same currency.", param="line_items")
    recurring = any(it["price"]["type"] == "recurring" for it in items)
    sub_data = p.get("subscription_data") or {}
    link = shape("payment_link", {
        "id": link_id, "active": p.get("active", True), "after_completion": _after(p.get("after_completion")),
        "allow_promotion_codes": bool(p.get("allow_promotion_codes")),
        "automatic_tax": shape("payment_link:automatic_tax", {"enabled": False}), "billing_address_collection": "auto",
        "currency": currencies.pop(), "custom_text": shape("payment_link:custom_text", {}),
        "customer_creation": "always" if recurring else "if_required", "livemode": ctx.livemode,
        "metadata": merge_metadata({}, p.get("metadata") or {}), "payment_method_collection": "always",
        "phone_number_collection": {"enabled": False}, "submit_type": "auto",
        "subscription_data": shape("payment_link:subscription_data", {
            "description": sub_data.get("description"),
            "invoice_settings": shape("payment_link:subscription_data.invoice_settings", {"issuer": {"type": "self"}}),
            "metadata": dict(sub_data.get("metadata") or {}), "trial_period_days": sub_data.get("trial_period_days"),
        }) if recurring else None,
        "tax_id_collection": {"enabled": False, "required": "never"}, "url": f"{ctx.sim.public_url}/b/{link_id}",
        "line_items": {"object": "list", "data": items, "has_more": False,
                       "url": f"/v1/payment_links/{link_id}/line_items"},
    })
    ctx.put("payment_link", link)
    ctx.emit("payment_link.created", public(link))
    return public(link)


@route("GET", "/v1/payment_links/{link_id}")
def retrieve(ctx: Ctx, p: dict, link_id: str):
    return public(ctx.get("payment_link", link_id))


@route("POST", "/v1/payment_links/{link_id}", UPDATE)
def update(ctx: Ctx, p: dict, link_id: str):
    link = ctx.get("payment_link", link_id)
    before = {k: link[k] for k in ("active", "metadata", "after_completion", "allow_promotion_codes")}
    if "active" in p:
        link["active"] = p["active"]
    if "allow_promotion_codes" in p:
        link["allow_promotion_codes"] = bool(p["allow_promotion_codes"])
    if "after_completion" in p:
        link["after_completion"] = _after(p["after_completion"])
    if "metadata" in p:
        link["metadata"] = merge_metadata(link["metadata"], p["metadata"])
    changed = {k: v for k, v in before.items() if link[k] != v}
    if changed:
        ctx.emit("payment_link.updated", public(link), changed)
    return public(link)


@route("GET", "/v1/payment_links", {"active": Bool()}, listing=True)
def list_(ctx: Ctx, p: dict):
    page = paginate(ctx, "payment_link", p, "/v1/payment_links",
                    lambda lk: p.get("active") is None or lk["active"] == p["active"])
    page["data"] = [public(lk) for lk in page["data"]]
    return page


@route("GET", "/v1/payment_links/{link_id}/line_items", listing=True)
def list_line_items(ctx: Ctx, p: dict, link_id: str):
    link = ctx.get("payment_link", link_id)
    return paginate(ctx, "payment_link_line_item", p, f"/v1/payment_links/{link_id}/line_items",
                    source=list(reversed(link["line_items"]["data"])))


def open_session(ctx: Ctx, link: dict) -> dict:
    """What visiting the link's URL does: a new Checkout Session for its items (public view)."""
    if not link["active"]:
        raise InvalidRequest("This payment link is no longer active.")
    items = link["line_items"]["data"]
    recurring = any(it["price"]["type"] == "recurring" for it in items)
    after = link["after_completion"]
    params = {"mode": "subscription" if recurring else "payment",
              "line_items": [{"price": it["price"]["id"], "quantity": it["quantity"]} for it in items],
              "success_url": after["redirect"]["url"] if after["type"] == "redirect"
              else f"{ctx.sim.public_url}/b/{link['id']}/done",
              "allow_promotion_codes": link["allow_promotion_codes"] or None}
    if recurring and link["subscription_data"]:
        sd = link["subscription_data"]
        params["subscription_data"] = {k: v for k, v in (("metadata", sd["metadata"]), ("description", sd["description"]),
                                                         ("trial_period_days", sd["trial_period_days"])) if v}
    session = checkout.create(ctx, {k: v for k, v in params.items() if v is not None})
    stored = ctx.get("checkout.session", session["id"])
    stored["payment_link"] = link["id"]
    return checkout.public(stored)
