"""Credit notes: lowering what a finalized invoice asks for.

On an open invoice a credit note is `pre_payment`: it lowers `amount_due` / `amount_remaining`, and an
invoice credited in full is paid. On a paid invoice it is `post_payment`: its total must be split into
`credit_amount` (to the customer's balance, used by the next invoices) and `out_of_band_amount`; refunds
(`refund_amount`) are not simulated. Voiding a credit note undoes what it did.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import EMPTY_LIST, EMPTY_METADATA, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import customer_balance, invoicing

LINE = Obj({"type": Enum("custom_line_item", "invoice_line_item", required=True), "amount": Int(min=0),
            "unit_amount": Int(min=0), "quantity": Int(min=1), "description": Str(), "invoice_line_item": Str()})
CREATE = {"invoice": Str(required=True), "lines": List(LINE), "amount": Int(min=0), "credit_amount": Int(min=0),
          "out_of_band_amount": Int(min=0), "refund_amount": Int(min=0), "memo": Str(), "metadata": Metadata(),
          "reason": Enum("duplicate", "fraudulent", "order_change", "product_unsatisfactory")}


def _lines(ctx: Ctx, inv: dict, cn_id: str, specs: list[dict]) -> list[dict]:
    out = []
    for i, spec in enumerate(specs):
        name = f"lines[{i}]"
        if spec["type"] == "invoice_line_item":
            line = next((ln for ln in inv["lines"]["data"] if ln["id"] == spec.get("invoice_line_item")), None)
            if line is None:
                raise InvalidRequest(f"No such invoice line item: '{spec.get('invoice_line_item')}'",
                                     code="resource_missing", param=f"{name}[invoice_line_item]")
            qty = spec.get("quantity") or line["quantity"] or 1
            amount = spec["amount"] if spec.get("amount") is not None else line["amount"] * qty // (line["quantity"] or 1)
            description, unit = line["description"], None
        else:
            if spec.get("unit_amount") is None:
                raise InvalidRequest(f"Missing required param: {name}[unit_amount].", code="parameter_missing",
                                     param=f"{name}[unit_amount]")
            qty, unit = spec.get("quantity") or 1, spec["unit_amount"]
            amount, description = unit * qty, spec.get("description")
        line = {"id": ctx.new_id("cnli"), "amount": amount, "description": description, "discount_amount": 0,
                "discount_amounts": EMPTY_LIST, "livemode": ctx.livemode, "metadata": EMPTY_METADATA,
                "pretax_credit_amounts": EMPTY_LIST, "quantity": qty, "tax_rates": EMPTY_LIST, "taxes": EMPTY_LIST,
                "type": spec["type"], "unit_amount": unit,
                "unit_amount_decimal": str(unit) if unit is not None else None}
        if spec["type"] == "invoice_line_item":
            line["invoice_line_item"] = spec["invoice_line_item"]
        out.append(shape("credit_note_line_item", line))
    return out


def _build(ctx: Ctx, p: dict) -> tuple[dict, dict]:
    """The credit note `p` asks for, and its invoice, checked as Stripe checks it; nothing is changed yet."""
    inv = ctx.get("invoice", p["invoice"], "invoice")
    if inv["status"] not in ("open", "paid"):
        raise InvalidRequest(f"You can only create a credit note for an open or paid invoice; this one is "
                             f"{inv['status']}.", param="invoice")
    cn_id = ctx.new_id("cn")
    lines = _lines(ctx, inv, cn_id, p.get("lines") or [])
    total = sum(ln["amount"] for ln in lines) if lines else p.get("amount")
    if not total:
        raise InvalidRequest("Credit notes must have a positive amount: give lines or amount.", param="amount")
    if lines and p.get("amount") is not None and p["amount"] != total:
        raise InvalidRequest(f"The amount ({p['amount']}) must equal the sum of the lines ({total}).",
                             param="amount")
    now = ctx.now(inv["customer"])
    pre = inv["status"] == "open"
    credit, out_of_band = p.get("credit_amount") or 0, p.get("out_of_band_amount") or 0
    if p.get("refund_amount"):
        raise InvalidRequest("Refunds are not simulated: credit a paid invoice with credit_amount or "
                             "out_of_band_amount.", param="refund_amount")
    if pre:
        if total > inv["amount_remaining"]:
            raise InvalidRequest(f"The credit note amount ({total}) exceeds the invoice's amount remaining "
                                 f"({inv['amount_remaining']}).", param="amount")
    elif credit + out_of_band != total:
        raise InvalidRequest(f"The sum of credit amount, refund amount and out of band amount ({credit + out_of_band}) "
                             f"must equal the credit note amount ({total}).", param="credit_amount")
    elif total > inv["amount_paid"] - inv["post_payment_credit_notes_amount"]:
        raise InvalidRequest(f"The credit note amount ({total}) exceeds what is left to credit on the invoice.",
                             param="amount")
    count = sum(1 for c in ctx.table("credit_note").rows.values() if c["invoice"] == inv["id"]) + 1
    cn = shape("credit_note", {
        "id": cn_id, "amount": total, "amount_shipping": 0, "created": now, "currency": inv["currency"],
        "customer": inv["customer"], "discount_amount": 0, "discount_amounts": EMPTY_LIST, "effective_at": now,
        "invoice": inv["id"],
        "lines": {"object": "list", "data": lines, "has_more": False, "total_count": len(lines),
                  "url": f"/v1/credit_notes/{cn_id}/lines"},
        "livemode": ctx.livemode, "memo": p.get("memo"), "metadata": merge_metadata({}, p.get("metadata") or {}),
        "number": f"{inv['number']}-CN-{count:02d}", "out_of_band_amount": out_of_band or None,
        "pdf": f"{ctx.sim.public_url}/cn/{cn_id}/pdf", "post_payment_amount": 0 if pre else total,
        "pre_payment_amount": total if pre else 0, "pretax_credit_amounts": EMPTY_LIST, "reason": p.get("reason"),
        "refunds": EMPTY_LIST, "status": "issued", "subtotal": total, "subtotal_excluding_tax": total,
        "total": total, "total_excluding_tax": total, "total_taxes": EMPTY_LIST,
        "type": "pre_payment" if pre else "post_payment",
    })
    return cn, inv


@route("POST", "/v1/credit_notes", CREATE)
def create(ctx: Ctx, p: dict):
    cn, inv = _build(ctx, p)
    total, pre, credit, now = cn["total"], cn["type"] == "pre_payment", p.get("credit_amount") or 0, cn["created"]
    ctx.put("credit_note", cn)
    if pre:
        inv["pre_payment_credit_notes_amount"] += total
        inv["amount_due"] -= total
        inv["amount_remaining"] -= total
    else:
        inv["post_payment_credit_notes_amount"] += total
        if credit:
            cus = ctx.get("customer", inv["customer"])
            cn["customer_balance_transaction"] = customer_balance.record(
                ctx, cus, -credit, "credit_note", currency=inv["currency"], invoice=inv["id"], at=now)["id"]
    ctx.emit("credit_note.created", cn)
    if pre and inv["amount_remaining"] == 0:  # credited in full: nothing is left to pay
        invoicing.mark_paid(ctx, inv, now, inv["amount_paid"])
        ctx.emit("invoice.paid", inv)
        if invoicing.subscription_of(inv):
            invoicing.after_invoice_paid(ctx, ctx.get("subscription", invoicing.subscription_of(inv)), inv, now)
    return cn


# "Get a preview of a credit note without creating it": the same parameters and checks as a create, and the
# credit note a create would make (lines included), with nothing stored and no event.
@route("GET", "/v1/credit_notes/preview", CREATE)
def preview(ctx: Ctx, p: dict):
    return _build(ctx, p)[0]


@route("GET", "/v1/credit_notes/preview/lines", CREATE, listing=True)
def preview_lines(ctx: Ctx, p: dict):
    lines = _build(ctx, p)[0]["lines"]["data"]
    return paginate(ctx, "credit_note_line_item", p, "/v1/credit_notes/preview/lines", source=list(reversed(lines)))


@route("GET", "/v1/credit_notes/{cn_id}")
def retrieve(ctx: Ctx, p: dict, cn_id: str):
    return ctx.get("credit_note", cn_id)


@route("POST", "/v1/credit_notes/{cn_id}", {"memo": Str(), "metadata": Metadata()})
def update(ctx: Ctx, p: dict, cn_id: str):
    cn = ctx.get("credit_note", cn_id)
    before = {"memo": cn["memo"], "metadata": cn["metadata"]}
    if "memo" in p:
        cn["memo"] = p["memo"]
    if "metadata" in p:
        cn["metadata"] = merge_metadata(cn["metadata"], p["metadata"])
    changed = {k: v for k, v in before.items() if cn[k] != v}
    if changed:
        ctx.emit("credit_note.updated", cn, changed)
    return cn


@route("POST", "/v1/credit_notes/{cn_id}/void")
def void(ctx: Ctx, p: dict, cn_id: str):
    """Undo an issued credit note: an open invoice asks for the amount again, a balance credit is taken back."""
    cn = ctx.get("credit_note", cn_id)
    if cn["status"] != "issued":
        raise InvalidRequest("This credit note is already void.")
    inv = ctx.get("invoice", cn["invoice"])
    if cn["type"] == "pre_payment" and inv["status"] != "open":
        raise InvalidRequest(f"You can't void this credit note: its invoice is {inv['status']}.")
    now = ctx.now(inv["customer"])
    if cn["type"] == "pre_payment":
        inv["pre_payment_credit_notes_amount"] -= cn["total"]
        inv["amount_due"] += cn["total"]
        inv["amount_remaining"] += cn["total"]
    else:
        inv["post_payment_credit_notes_amount"] -= cn["total"]
        if cn["customer_balance_transaction"]:
            txn = ctx.get("customer_balance_transaction", cn["customer_balance_transaction"])
            customer_balance.record(ctx, ctx.get("customer", inv["customer"]), -txn["amount"], "credit_note",
                                    currency=cn["currency"], invoice=inv["id"], at=now)
    cn.update(status="void", voided_at=now)
    ctx.emit("credit_note.voided", cn)
    return cn


@route("GET", "/v1/credit_notes", {"invoice": Str(), "customer": Str()}, listing=True)
def list_(ctx: Ctx, p: dict):
    return paginate(ctx, "credit_note", p, "/v1/credit_notes", lambda c: (
        (p.get("invoice") is None or c["invoice"] == p["invoice"])
        and (p.get("customer") is None or c["customer"] == p["customer"])))


@route("GET", "/v1/credit_notes/{cn_id}/lines", listing=True)
def list_lines(ctx: Ctx, p: dict, cn_id: str):
    cn = ctx.get("credit_note", cn_id)
    return paginate(ctx, "credit_note_line_item", p, f"/v1/credit_notes/{cn_id}/lines",
                    source=list(reversed(cn["lines"]["data"])))
