"""Tax IDs (https://docs.stripe.com/api/tax_ids): a customer's VAT/GST/EIN numbers, shown on their invoices, and
the account's own (`owner[type]=self`).

Routes: `/v1/customers/{id}/tax_ids` (create, retrieve, delete, list; `customer.tax_id.created` / `.deleted`)
and `/v1/tax_ids` (the same with `owner`). A value is checked against its type's format as Stripe checks it
("Invalid value for eu_vat."), for the types below; other types are not simulated and refused as invalid
values of `type`. Verification is not simulated: the numbers Stripe verifies (EU VAT, UK VAT, Australian ABN)
stay `pending`, the others are `unavailable`. Connect owners (`account`, `application`) are refused.
"""

from __future__ import annotations

import re

from ..errors import InvalidRequest
from ..objects import deleted, shape
from ..params import Enum, Obj, Str
from ..routing import Ctx, paginate, route

# type -> (format of the value, country or None when the value's own prefix names it)
FORMATS: dict[str, tuple[str, str | None]] = {
    "eu_vat": (r"(AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI)[0-9A-Z+*]{2,13}",
               None),
    "gb_vat": (r"GB([0-9]{9}|[0-9]{12})", "GB"),
    "us_ein": (r"[0-9]{2}-[0-9]{7}", "US"),
    "au_abn": (r"[0-9]{11}", "AU"),
    "ca_bn": (r"[0-9]{9}", "CA"),
    "ch_vat": (r"CHE-[0-9]{3}\.[0-9]{3}\.[0-9]{3} (MWST|TVA|IVA)", "CH"),
    "no_vat": (r"[0-9]{9}MVA", "NO"),
    "in_gst": (r"[0-9]{2}[A-Z0-9]{10}[0-9A-Z]{3}", "IN"),
}
VERIFIED_BY_STRIPE = ("eu_vat", "gb_vat", "au_abn")
CREATE = {"type": Enum(*FORMATS, required=True), "value": Str(required=True)}


def _make(ctx: Ctx, p: dict, owner: dict, customer: dict | None) -> dict:
    kind = p["type"]
    value = p["value"].strip().upper() if kind != "ch_vat" else p["value"].strip()
    pattern, country = FORMATS[kind]
    if not re.fullmatch(pattern, value):
        raise InvalidRequest(f"Invalid value for {kind}.", code="tax_id_invalid", param="value")
    if country is None:  # an EU VAT number names its country; Greece's prefix is EL, Northern Ireland's XI
        country = {"EL": "GR", "XI": "GB"}.get(value[:2], value[:2])
    tax_id = shape("tax_id", {
        "id": ctx.new_id("txi"), "country": country, "created": ctx.now(customer),
        "customer": customer["id"] if customer else None, "livemode": ctx.livemode,
        "owner": shape("tax_id:owner", owner), "type": kind, "value": value,
        "verification": shape("tax_id:verification", {
            "status": "pending" if kind in VERIFIED_BY_STRIPE else "unavailable"}),
    })
    ctx.put("tax_id", tax_id)
    if customer:
        ctx.emit("customer.tax_id.created", tax_id)
    return tax_id


def _delete(ctx: Ctx, tax_id: dict) -> dict:
    ctx.table("tax_id").remove(tax_id["id"])
    if tax_id["customer"]:
        ctx.emit("customer.tax_id.deleted", tax_id)
    return deleted("tax_id", tax_id["id"])


def _of_customer(ctx: Ctx, cus_id: str, txi_id: str) -> dict:
    ctx.get("customer", cus_id)
    tax_id = ctx.find("tax_id", txi_id)
    if tax_id is None or tax_id["customer"] != cus_id:
        raise InvalidRequest(f"No such tax ID: '{txi_id}'", code="resource_missing", param="id", status=404)
    return tax_id


@route("POST", "/v1/customers/{cus_id}/tax_ids", CREATE)
def create_for_customer(ctx: Ctx, p: dict, cus_id: str):
    cus = ctx.get("customer", cus_id)
    return _make(ctx, p, {"customer": cus_id, "type": "customer"}, cus)


@route("GET", "/v1/customers/{cus_id}/tax_ids", listing=True)
def list_for_customer(ctx: Ctx, p: dict, cus_id: str):
    ctx.get("customer", cus_id)
    return paginate(ctx, "tax_id", p, f"/v1/customers/{cus_id}/tax_ids", lambda t: t["customer"] == cus_id)


@route("GET", "/v1/customers/{cus_id}/tax_ids/{txi_id}")
def retrieve_for_customer(ctx: Ctx, p: dict, cus_id: str, txi_id: str):
    return _of_customer(ctx, cus_id, txi_id)


@route("DELETE", "/v1/customers/{cus_id}/tax_ids/{txi_id}")
def delete_for_customer(ctx: Ctx, p: dict, cus_id: str, txi_id: str):
    return _delete(ctx, _of_customer(ctx, cus_id, txi_id))


OWNER = Obj({"type": Enum("account", "application", "customer", "self", required=True), "customer": Str(),
             "account": Str()})


@route("POST", "/v1/tax_ids", {**CREATE, "owner": OWNER})
def create(ctx: Ctx, p: dict):
    owner = p.get("owner") or {"type": "self"}
    if owner["type"] in ("account", "application"):
        raise InvalidRequest("Connect is not simulated: a tax ID's owner may be `self` or a `customer`.",
                             param="owner[type]")
    if owner["type"] == "customer":
        if not owner.get("customer"):
            raise InvalidRequest("Missing required param: owner[customer].", code="parameter_missing",
                                 param="owner[customer]")
        cus = ctx.get("customer", owner["customer"], "owner[customer]")
        return _make(ctx, p, {"customer": cus["id"], "type": "customer"}, cus)
    return _make(ctx, p, {"type": "self"}, None)


@route("GET", "/v1/tax_ids", {"owner": OWNER}, listing=True)
def list_(ctx: Ctx, p: dict):
    owner = p.get("owner") or {"type": "self"}
    return paginate(ctx, "tax_id", p, "/v1/tax_ids", lambda t: t["owner"]["type"] == owner["type"] and (
        owner["type"] != "customer" or t["customer"] == owner.get("customer")))


@route("GET", "/v1/tax_ids/{txi_id}")
def retrieve(ctx: Ctx, p: dict, txi_id: str):
    return ctx.get("tax_id", txi_id)


@route("DELETE", "/v1/tax_ids/{txi_id}")
def delete(ctx: Ctx, p: dict, txi_id: str):
    return _delete(ctx, ctx.get("tax_id", txi_id))
