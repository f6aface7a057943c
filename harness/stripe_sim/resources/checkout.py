"""Checkout Sessions (mode `subscription` and `payment`) and their completion.

Completion is what the hosted page does when the customer pays; here it is an operation
(`complete_session`, also `POST /_sim/checkout/sessions/{id}/complete`) that creates the customer,
subscription and invoice as Stripe does and records the events in Stripe's order (CONTRACTS §3).
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Bool, Email, Enum, Int, List, Metadata, Obj, Str, Url, merge_metadata
from ..routing import Ctx, paginate, route
from . import disputes, invoicing, payment_methods, sepa_debit, setup_intents
from .billing_math import discount_amount
from .customers import new_customer
from .promotion_codes import find_by_code, redeemable
from .subscriptions import build_discounts, create_subscription, recurring_price

LINE_ITEM = Obj({"price": Str(), "quantity": Int(min=1, max=999999),
                 "adjustable_quantity": Obj({"enabled": Bool(required=True), "maximum": Int(), "minimum": Int()})})
CREATE = {
    "mode": Enum("payment", "setup", "subscription", required=True), "line_items": List(LINE_ITEM, max_items=20),
    "success_url": Url(), "cancel_url": Url(), "return_url": Url(),
    "ui_mode": Enum("hosted", "embedded", "custom"), "customer": Str(), "customer_email": Email(),
    "client_reference_id": Str(max_length=200), "metadata": Metadata(),
    "subscription_data": Obj({"metadata": Metadata(), "trial_period_days": Int(min=1, max=730),
                              "description": Str(), "trial_end": Int(min=0),
                              "trial_settings": Obj({"end_behavior": Obj({"missing_payment_method": Enum(
                                  "cancel", "create_invoice", "pause")})})}),
    "currency": Str(max_length=3), "setup_intent_data": Obj({"metadata": Metadata(), "description": Str()}),
    "payment_intent_data": Obj({"metadata": Metadata(), "description": Str(),
                                "setup_future_usage": Enum("off_session", "on_session"),
                                "shipping": Obj({"name": Str(required=True), "phone": Str(), "carrier": Str(),
                                                 "tracking_number": Str(), "address": Obj(
                                                     {k: Str() for k in ("city", "country", "line1", "line2",
                                                                         "postal_code", "state")},
                                                     required=True)}),
                                "statement_descriptor": Str(), "receipt_email": Str()}),
    "allow_promotion_codes": Bool(), "discounts": List(Obj({"coupon": Str(), "promotion_code": Str()}), max_items=1),
    "payment_method_collection": Enum("always", "if_required"), "payment_method_types": List(Str()),
    "customer_creation": Enum("always", "if_required"), "billing_address_collection": Enum("auto", "required"),
    "locale": Str(), "expires_at": Int(min=0), "submit_type": Enum("auto", "book", "donate", "pay", "subscribe"),
    "phone_number_collection": Obj({"enabled": Bool(required=True)}),
    "automatic_tax": Obj({"enabled": Bool(required=True)}), "customer_update": Obj({
        "address": Enum("auto", "never"), "name": Enum("auto", "never"), "shipping": Enum("auto", "never")}),
}
COMPLETE = {"payment_method": Str(), "email": Email(), "name": Str(max_length=256), "promotion_code": Str(max_length=500),
            "billing_country": Str(max_length=2), "postal_code": Str()}


def _amounts(ctx: Ctx, session: dict) -> tuple[int, int]:
    """(subtotal, discount) for the session's line items and any discount now applied."""
    subtotal = sum(li["price"]["unit_amount"] * li["quantity"] for li in session["line_items"]["data"])
    discount = 0
    for d in session["discounts"]:
        coupon_id = d.get("coupon") or ctx.get("promotion_code", d["promotion_code"])["promotion"]["coupon"]
        coupon = ctx.find("coupon", coupon_id)
        if coupon:
            discount += discount_amount(coupon, subtotal - discount, session["currency"])
    return subtotal, discount


def _refresh_totals(ctx: Ctx, session: dict):
    if session["mode"] == "setup":  # nothing is sold: no amounts
        session["amount_subtotal"] = session["amount_total"] = session["total_details"] = None
        return
    subtotal, discount = _amounts(ctx, session)
    session["amount_subtotal"], session["amount_total"] = subtotal, subtotal - discount
    session["total_details"] = {"amount_discount": discount, "amount_shipping": 0, "amount_tax": 0}


@route("POST", "/v1/checkout/sessions", CREATE)
def create(ctx: Ctx, p: dict):
    mode = p["mode"]
    ui_mode = p.get("ui_mode") or "hosted"
    if ui_mode == "hosted" and not p.get("success_url"):
        raise InvalidRequest("Missing required param: success_url.", code="parameter_missing", param="success_url")
    if p.get("customer") and p.get("customer_email"):
        raise InvalidRequest("You may only specify one of these parameters: customer, customer_email.",
                             param="customer")
    if p.get("allow_promotion_codes") and p.get("discounts"):
        raise InvalidRequest("You may only specify one of these parameters: allow_promotion_codes, discounts.",
                             param="allow_promotion_codes")
    customer = ctx.get("customer", p["customer"], "customer") if p.get("customer") else None
    items = p.get("line_items") or []
    if mode == "setup" and items:  # setup mode saves a payment method and sells nothing
        raise InvalidRequest("You cannot pass `line_items` in `setup` mode.", param="line_items")
    if not items and mode != "setup":
        raise InvalidRequest("Missing required param: line_items.", code="parameter_missing", param="line_items")
    lines = []
    for i, li in enumerate(items):
        param = f"line_items[{i}][price]"
        if not li.get("price"):
            raise InvalidRequest(f"Missing required param: {param}.", code="parameter_missing", param=param)
        price = ctx.get("price", li["price"], param)
        if not price["active"]:
            raise InvalidRequest(f"The price `{price['id']}` is not available to be purchased because it is not "
                                 "active.", param=param)
        if mode == "payment" and price["type"] == "recurring":
            raise InvalidRequest("You specified `payment` mode but passed a recurring price. Either switch to "
                                 "`subscription` mode or use only one-time prices.", param=param)
        if li.get("quantity") is None and (price.get("recurring") or {}).get("usage_type") != "metered":
            raise InvalidRequest(f"Quantity is required. Add `quantity` to `line_items[{i}]`",
                                 param=f"line_items[{i}][quantity]")
        lines.append((price, li.get("quantity") or 1))
    if mode == "subscription":
        if not any(pr["type"] == "recurring" for pr, _ in lines):
            raise InvalidRequest("You must provide at least one recurring price in `subscription` mode when using "
                                 "prices.", param="line_items")
        for i, (pr, _) in enumerate(lines):
            recurring_price(ctx, pr["id"], f"line_items[{i}][price]")
    currency = lines[0][0]["currency"] if lines else ((p.get("currency") or "").lower() or None)
    if any(pr["currency"] != currency for pr, _ in lines):
        raise InvalidRequest("All prices must use the same currency.", param="line_items")
    if "sepa_debit" in (p.get("payment_method_types") or []) and currency:
        sepa_debit.check_currency(currency, "payment_method_types")
    now = ctx.now(customer)
    cs_id = ctx.new_id(f"cs_{'live' if ctx.livemode else 'test'}", 58)
    discounts = []
    for i, d in enumerate(p.get("discounts") or []):
        if d.get("promotion_code"):
            ctx.get("promotion_code", d["promotion_code"], f"discounts[{i}][promotion_code]")
            discounts.append({"coupon": None, "promotion_code": d["promotion_code"]})
        elif d.get("coupon"):
            ctx.get("coupon", d["coupon"], f"discounts[{i}][coupon]")
            discounts.append({"coupon": d["coupon"], "promotion_code": None})
    line_items = [shape("item", {
        "id": ctx.new_id("li"), "amount_discount": 0, "amount_subtotal": pr["unit_amount"] * q, "amount_tax": 0,
        "amount_total": pr["unit_amount"] * q, "currency": currency,
        "description": (ctx.find("product", pr["product"]) or {}).get("name"), "metadata": {},
        "price": pr, "quantity": q}) for pr, q in lines]
    session = shape("checkout.session", {
        "id": cs_id, "adaptive_pricing": {"enabled": False},
        "allow_promotion_codes": p.get("allow_promotion_codes"), "amount_subtotal": 0, "amount_total": 0,
        "automatic_tax": {"enabled": bool((p.get("automatic_tax") or {}).get("enabled")), "liability": None,
                          "provider": None, "status": None},
        "billing_address_collection": p.get("billing_address_collection"), "cancel_url": p.get("cancel_url"),
        "client_reference_id": p.get("client_reference_id"),
        "client_secret": None if ui_mode == "hosted" else f"{cs_id}_secret_{ctx.new_id('s')[2:]}",
        "created": now, "currency": currency,
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": customer["id"] if customer else None,
        "customer_creation": p.get("customer_creation") or (None if mode == "subscription" else "if_required"),
        "customer_details": {"address": None, "business_name": None, "email": customer.get("email"),
                             "individual_name": None, "name": customer.get("name"), "phone": None,
                             "tax_exempt": "none", "tax_ids": []} if customer else None,
        "customer_email": p.get("customer_email"), "discounts": discounts, "expires_at": p.get("expires_at") or now + 86400,
        "livemode": ctx.livemode, "locale": p.get("locale"),
        "metadata": merge_metadata({}, p.get("metadata") or {}), "mode": mode,
        "payment_method_collection": p.get("payment_method_collection") or "always",
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": p.get("payment_method_types") or ["card"], "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False}, "status": "open", "submit_type": p.get("submit_type"),
        "success_url": p.get("success_url"), "ui_mode": ui_mode,
        "url": f"{ctx.sim.public_url}/c/pay/{cs_id}" if ui_mode == "hosted" else None,
        "line_items": {"object": "list", "data": line_items, "has_more": False,
                       "url": f"/v1/checkout/sessions/{cs_id}/line_items"},
    })
    session["_subscription_data"] = p.get("subscription_data") or {}
    session["_payment_intent_data"] = p.get("payment_intent_data") or {}
    session["_setup_intent_data"] = p.get("setup_intent_data") or {}
    _refresh_totals(ctx, session)
    ctx.put("checkout.session", session)
    return public(session)


def public(session: dict) -> dict:
    """The session as the API shows it: line_items only when expanded; private settings hidden."""
    return {k: v for k, v in session.items() if k != "line_items" and not k.startswith("_")}


@route("GET", "/v1/checkout/sessions/{cs_id}")
def retrieve(ctx: Ctx, p: dict, cs_id: str):
    session = ctx.get("checkout.session", cs_id)
    _maybe_expire(ctx, session)
    out = public(session)
    if any(e == "line_items" or e.startswith("line_items.") for e in p.get("expand") or []):
        out["line_items"] = session["line_items"]  # included when asked for, also to expand inside it
        p["expand"] = [e for e in p["expand"] if e != "line_items"]
    return out


@route("GET", "/v1/checkout/sessions/{cs_id}/line_items", listing=True)
def list_line_items(ctx: Ctx, p: dict, cs_id: str):
    session = ctx.get("checkout.session", cs_id)
    return paginate(ctx, "checkout_line_item", p, f"/v1/checkout/sessions/{cs_id}/line_items",
                    source=list(reversed(session["line_items"]["data"])))


LIST = {"customer": Str(), "payment_intent": Str(), "subscription": Str(), "status": Enum("complete", "expired", "open"),
        "customer_details": Obj({"email": Str(required=True)})}


@route("GET", "/v1/checkout/sessions", LIST, listing=True)
def list_(ctx: Ctx, p: dict):
    email = (p.get("customer_details") or {}).get("email")

    def keep(s):
        return ((p.get("customer") is None or s["customer"] == p["customer"])
                and (p.get("subscription") is None or s["subscription"] == p["subscription"])
                and (p.get("payment_intent") is None or s["payment_intent"] == p["payment_intent"])
                and (p.get("status") is None or s["status"] == p["status"])
                and (email is None or (s["customer_details"] or {}).get("email") == email))

    page = paginate(ctx, "checkout.session", p, "/v1/checkout/sessions", keep)
    page["data"] = [public(s) for s in page["data"]]
    return page


def _maybe_expire(ctx: Ctx, session: dict):
    if session["status"] == "open" and ctx.now() >= session["expires_at"]:
        expire_session(ctx, session, automatic=True)


def expire_session(ctx: Ctx, session: dict, automatic: bool = False):
    session["status"] = "expired"
    ctx.emit("checkout.session.expired", public(session), automatic=automatic)


@route("POST", "/v1/checkout/sessions/{cs_id}/expire")
def expire(ctx: Ctx, p: dict, cs_id: str):
    session = ctx.get("checkout.session", cs_id)
    if session["status"] != "open":
        raise InvalidRequest(f"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout "
                             f"Session has a status of \"{session['status']}\".")
    expire_session(ctx, session)
    return public(session)


# ---- completion ---------------------------------------------------------------------------------------

def apply_promotion_code(ctx: Ctx, session: dict, code: str) -> dict:
    """What the hosted page's 'Apply' button does; raises a readable error for a bad code."""
    if not session["allow_promotion_codes"]:
        raise InvalidRequest("This Checkout Session does not accept promotion codes.", param="promotion_code")
    promo = find_by_code(ctx, code)
    if promo is None:
        raise InvalidRequest("This code is invalid.", param="promotion_code")
    customer = ctx.find("customer", session["customer"]) if session["customer"] else None
    subtotal, _ = _amounts(ctx, session)
    redeemable(ctx, promo, customer=customer, amount=subtotal, currency=session["currency"],
               now=ctx.now(customer), param="promotion_code")
    session["discounts"] = [{"coupon": None, "promotion_code": promo["id"]}]
    _refresh_totals(ctx, session)
    return session


def complete_session(ctx: Ctx, session: dict, *, payment_method: str | None = "pm_card_visa",
                     email: str | None = None, name: str | None = None, promotion_code: str | None = None,
                     billing_country: str | None = None, postal_code: str | None = None) -> dict:
    _maybe_expire(ctx, session)
    if session["status"] != "open":
        raise InvalidRequest(f"This Checkout Session is no longer open (status: {session['status']}).")
    if promotion_code:
        apply_promotion_code(ctx, session, promotion_code)
    subtotal, discount = _amounts(ctx, session)
    total = subtotal - discount
    needs_card = total > 0 or session["payment_method_collection"] == "always" or session["mode"] == "setup"
    if needs_card and not payment_method:
        raise InvalidRequest("Your card number is incomplete.", code="incomplete_number", param="payment_method")
    pm = None
    if needs_card:
        pm = payment_methods.lookup(ctx, payment_method, "payment_method")
        if pm["type"] not in session["payment_method_types"]:
            raise InvalidRequest(f"This Checkout Session does not accept {pm['type']} payment methods (it accepts "
                                 f"{', '.join(session['payment_method_types'])}).", param="payment_method")
        b = payment_methods.behaviour(pm)
        if b.startswith("decline_on_attach:") or (total > 0 and b.startswith("decline_on_charge:")):
            raise payment_methods.decline_error(b.split(":", 1)[1], "payment_method")
    customer = ctx.find("customer", session["customer"]) if session["customer"] else None
    email = email or session["customer_email"] or (customer or {}).get("email")
    if not email:
        raise InvalidRequest("Missing required param: email.", code="parameter_missing", param="email")
    now = ctx.now(customer)

    if customer is None and (session["mode"] == "subscription" or session["customer_creation"] == "always"):
        customer = new_customer(ctx, {"email": email, "name": name})
        session["customer"] = customer["id"]
    if pm is not None and customer is not None:
        payment_methods.attach(ctx, pm["id"], customer)
        pm["billing_details"] = {**pm["billing_details"], "email": email, "name": name}
        before = {"invoice_settings": dict(customer["invoice_settings"])}
        customer["invoice_settings"] = {**customer["invoice_settings"], "default_payment_method": pm["id"]}
        ctx.emit("customer.updated", customer, before)
    session["customer_details"] = {
        "address": {"city": None, "country": billing_country or "US", "line1": None, "line2": None,
                    "postal_code": postal_code, "state": None},
        "business_name": None, "email": email, "individual_name": None, "name": name, "phone": None,
        "tax_exempt": "none", "tax_ids": []}

    if session["mode"] == "subscription":
        _complete_subscription(ctx, session, customer, now)
    elif session["mode"] == "setup":
        _complete_setup(ctx, session, customer, pm)
    else:
        _complete_payment(ctx, session, customer, pm, total, now)
    session["status"] = "complete"
    ctx.emit("checkout.session.completed", public(session))
    return session


def _complete_subscription(ctx: Ctx, session: dict, customer: dict, now: int):
    data = session["_subscription_data"]
    discount_ids = []
    if session["discounts"]:
        spec = [{k: v for k, v in d.items() if v} for d in session["discounts"]]
        subtotal, _ = _amounts(ctx, session)
        discount_ids = build_discounts(ctx, spec, customer, None, subtotal, session["currency"], now,
                                       checkout_session=session["id"])
    params = {"customer": customer["id"], "metadata": data.get("metadata") or {},
              "items": [{"price": li["price"]["id"], "quantity": li["quantity"]}
                        for li in session["line_items"]["data"] if li["price"]["type"] == "recurring"],
              "payment_behavior": "allow_incomplete", "description": data.get("description")}
    if data.get("trial_period_days"):
        params["trial_period_days"] = data["trial_period_days"]
    if data.get("trial_end"):
        params["trial_end"] = data["trial_end"]
    if data.get("trial_settings"):
        params["trial_settings"] = data["trial_settings"]
    sub = create_subscription(ctx, params, checkout_session=session["id"], precreated_discounts=discount_ids)
    for di_id in discount_ids:
        ctx.find("discount", di_id)["subscription"] = sub["id"]
    inv = ctx.get("invoice", sub["latest_invoice"])
    session["subscription"] = sub["id"]
    session["invoice"] = inv["id"]
    paid = inv["status"] == "paid"
    session["payment_status"] = ("no_payment_required" if inv["amount_due"] == 0 else "paid") if paid else "unpaid"
    pi_id = ((inv["payments"]["data"] or [{}])[0].get("payment") or {}).get("payment_intent")
    debit = sepa_debit.pending_for(ctx, pi_id) if pi_id else None
    if debit is not None:  # a bank debit: complete now, unpaid; the async_payment_* event tells the outcome
        debit["checkout_session"] = session["id"]
        return
    if not paid:
        raise InvalidRequest("Your card was declined.", code="card_declined", status=402)


def _complete_setup(ctx: Ctx, session: dict, customer: dict | None, pm: dict):
    """Setup mode: a SetupIntent saves the card (attached to the session's customer, if any); nothing is paid."""
    data = session["_setup_intent_data"]
    si = setup_intents.create(ctx, {"customer": customer["id"] if customer else None, "payment_method": pm["id"],
                                    "confirm": True, "usage": "off_session", "description": data.get("description"),
                                    "metadata": data.get("metadata")})
    session["setup_intent"] = si["id"]
    session["payment_status"] = "no_payment_required"


def _complete_payment(ctx: Ctx, session: dict, customer: dict | None, pm: dict | None, total: int, now: int):
    if total == 0:
        session["payment_status"] = "no_payment_required"
        return
    pi = invoicing.new_payment_intent(ctx, {"amount_due": total, "currency": session["currency"],
                                        "customer": customer["id"] if customer else None,
                                        "billing_reason": "manual"}, pm, now)
    pid = session["_payment_intent_data"]
    pi.update(description=pid.get("description"), metadata=dict(pid.get("metadata") or {}),
              shipping=pid.get("shipping"), payment_method_types=list(session["payment_method_types"]),
              setup_future_usage=pid.get("setup_future_usage"))
    ctx.emit("payment_intent.created", pi)
    session["payment_intent"] = pi["id"]
    if pm["type"] == "sepa_debit":  # the customer accepts the mandate on the page; paid when the debit settles
        mandate = sepa_debit.new_mandate(ctx, pm, {"type": "online", "accepted_at": now}, now,
                                         multi_use=bool(pid.get("setup_future_usage")), payment=pi)
        sepa_debit.start(ctx, pi, pm, now, mandate=mandate, checkout_session=session["id"])
        session["payment_status"] = "unpaid"
        return
    charge = invoicing.new_charge(ctx, {"amount_due": total, "currency": session["currency"],
                                    "customer": pi["customer"]}, pi, pm, now, paid=True)
    pi.update(status="succeeded", latest_charge=charge["id"], amount_received=total)
    ctx.emit("charge.succeeded", charge)
    ctx.emit("payment_intent.succeeded", pi)
    disputes.open_dispute(ctx, charge, pm, now)
    session["payment_intent"] = pi["id"]
    session["payment_status"] = "paid"


@route("POST", "/_sim/checkout/sessions/{cs_id}/complete", COMPLETE, admin=True)
def complete_route(ctx: Ctx, p: dict, cs_id: str):
    ctx.mode = ctx.store.mode_of(cs_id) or "test"
    session = ctx.get("checkout.session", cs_id)
    complete_session(ctx, session, payment_method=p.get("payment_method", "pm_card_visa"), email=p.get("email"),
                     name=p.get("name"), promotion_code=p.get("promotion_code"),
                     billing_country=p.get("billing_country"), postal_code=p.get("postal_code"))
    return public(session)


# ---- payment pages: what Stripe.js (and the Stripe CLI's fixtures) call to pay a hosted session --------

def _payment_page(ctx: Ctx, session: dict) -> dict:
    subtotal, discount = _amounts(ctx, session)
    return {"object": "payment_page", "id": session["id"], "amount_total": subtotal - discount,
            "currency": session["currency"], "customer_email": session["customer_email"], "mode": session["mode"],
            "livemode": session["livemode"], "status": session["status"], "success_url": session["success_url"],
            "line_items": session["line_items"], "session": public(session)}


@route("GET", "/v1/payment_pages/{cs_id}")
def payment_page(ctx: Ctx, p: dict, cs_id: str):
    session = ctx.get("checkout.session", cs_id)
    return _payment_page(ctx, session)


@route("POST", "/v1/payment_pages/{cs_id}/confirm", {"payment_method": Str(required=True),
                                                     "expected_amount": Int(min=0), "email": Email(),
                                                     "promotion_code": Str()})
def confirm_payment_page(ctx: Ctx, p: dict, cs_id: str):
    session = ctx.get("checkout.session", cs_id)
    if p.get("promotion_code"):
        apply_promotion_code(ctx, session, p["promotion_code"])
    subtotal, discount = _amounts(ctx, session)
    if p.get("expected_amount") is not None and p["expected_amount"] != subtotal - discount:
        raise InvalidRequest(f"The expected amount ({p['expected_amount']}) does not match the amount due "
                             f"({subtotal - discount}).", param="expected_amount")
    pm = payment_methods.lookup(ctx, p["payment_method"], "payment_method")
    email = p.get("email") or session["customer_email"] or (pm.get("billing_details") or {}).get("email")
    complete_session(ctx, session, payment_method=pm["id"], email=email,
                     name=(pm.get("billing_details") or {}).get("name"))
    return _payment_page(ctx, session)
