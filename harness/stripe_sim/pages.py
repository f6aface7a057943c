"""Hosted pages: Checkout (`/c/pay/{session}`), payment links (`/b/{id}`), the Customer Portal
(`/p/session/{id}`) and invoices (`/i/{id}`), with the element ids and test ids that public end-to-end suites use against Stripe's
(CONTRACTS §5), so a browser journey written for the simulator reads like one written for Stripe."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route

from .errors import StripeError
from .resources import checkout, payment_links, payment_methods, sepa_debit
from .resources.subscriptions import cancel_subscription, update_subscription

STYLE = """
body{font-family:-apple-system,system-ui,sans-serif;background:#f6f9fc;margin:0;color:#1a1f36}
.wrap{display:flex;gap:48px;max-width:920px;margin:40px auto;padding:0 16px}
.col{flex:1} .card{background:#fff;border-radius:8px;box-shadow:0 2px 8px #0001;padding:24px}
label{display:block;font-size:13px;margin:12px 0 4px;color:#3c4257}
input,select{width:100%;box-sizing:border-box;padding:9px;border:1px solid #d5dbe1;border-radius:6px;font-size:15px}
.row{display:flex;gap:8px} .row>*{flex:1}
.SubmitButton,button{margin-top:18px;width:100%;padding:12px;border:0;border-radius:6px;background:#635bff;color:#fff;
font-size:16px;cursor:pointer} .secondary{background:#e3e8ee;color:#1a1f36}
.error{color:#df1b41;font-size:14px;margin-top:8px} .muted{color:#697386;font-size:14px}
.total{font-size:28px;font-weight:600;margin:8px 0} a{color:#635bff}
"""


ACTIONS = {"subscription": "Subscribe", "payment": "Pay", "setup": "Save card"}  # the page's heading and button


ZERO_DECIMAL = ("jpy", "krw", "vnd", "clp", "pyg", "ugx", "xaf", "xof")  # no minor unit (docs.stripe.com/currencies)


def _money(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, currency.upper() + " ")
    return f"{symbol}{amount / 100:,.2f}"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
                        f"</title><meta name='viewport' content='width=device-width, initial-scale=1'>"
                        f"<style>{STYLE}</style></head><body>{body}</body></html>", status_code=status)


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def hosted_pages(sim) -> Starlette:
    def find(kind: str, obj_id: str):
        mode = sim.store.mode_of(obj_id)
        return (mode, sim.store.find(mode, kind, obj_id)) if mode else (None, None)

    # ---- Checkout ---------------------------------------------------------------------------------
    def card_fields(session: dict, v: dict) -> str:
        if "card" not in session["payment_method_types"]:
            return ""
        return f"""<label for='cardNumber'>Card information</label>
<input id='cardNumber' name='cardNumber' placeholder='1234 1234 1234 1234' value='{html.escape(v.get('cardNumber', ''))}'
 autocomplete='cc-number'>
<div class='row'><input id='cardExpiry' name='cardExpiry' placeholder='MM / YY' value='{html.escape(v.get('cardExpiry', ''))}'>
<input id='cardCvc' name='cardCvc' placeholder='CVC' value='{html.escape(v.get('cardCvc', ''))}'></div>"""

    def iban_field(session: dict, v: dict) -> str:
        """SEPA Direct Debit, when the session takes it: the account's IBAN (the mandate is accepted by paying)."""
        if "sepa_debit" not in session["payment_method_types"]:
            return ""
        return f"""<label for='iban'>IBAN</label>
<input id='iban' name='iban' placeholder='DE00 0000 0000 0000 0000 00' value='{html.escape(v.get('iban', ''))}'>
<div class='muted' id='sepaMandate'>By paying, you authorise the business to debit your account (SEPA Direct Debit
mandate).</div>"""

    def checkout_html(session: dict, error: str = "", values: dict | None = None) -> str:
        v = values or {}
        items = "".join(f"<div class='muted'>{html.escape(li['description'] or '')} × {li['quantity']} — "
                        f"{_money(li['amount_subtotal'], session['currency'])}"
                        f"{' / ' + li['price']['recurring']['interval'] if li['price']['recurring'] else ''}</div>"
                        for li in session["line_items"]["data"])
        email = session["customer_email"] or (session["customer_details"] or {}).get("email") or v.get("email", "")
        promo = ""
        if session["allow_promotion_codes"]:
            promo = ("<label for='promotionCode'>Add promotion code</label><div class='row'>"
                     f"<input id='promotionCode' name='promotionCode' value='{html.escape(v.get('promotionCode', ''))}'>"
                     "<button type='button' id='applyPromotion' class='secondary' style='margin-top:0'>Apply</button>"
                     "</div><div class='error' id='promotionCodeError'></div>")
        countries = "".join(f"<option value='{c}'{' selected' if c == v.get('billingCountry', 'US') else ''}>{n}</option>"
                            for c, n in (("US", "United States"), ("GB", "United Kingdom"), ("DE", "Germany"),
                                         ("FR", "France"), ("CA", "Canada")))
        return f"""<div class='wrap'><div class='col'>
<div class='muted'>tiersync simulator · {'test' if not session['livemode'] else 'live'} mode</div>
<h2>{ACTIONS[session['mode']]}</h2>{items}
<div class='total' id='OrderDetails-TotalAmount'>{_money(session['amount_total'], session['currency'])
 if session['amount_total'] is not None else ''}</div>
{"<div class='muted' id='discount'>Discount: −" + _money(session['total_details']['amount_discount'], session['currency']) + "</div>"
 if session['total_details'] and session['total_details']['amount_discount'] else ""}
{f"<a href='{html.escape(session['cancel_url'])}' data-testid='cancel-link'>← Back</a>" if session['cancel_url'] else ''}
</div><div class='col card'><form method='post' id='payment-form'>
<label for='email'>Email</label><input id='email' name='email' type='email' value='{html.escape(email)}' required>
{card_fields(session, v)}{iban_field(session, v)}
<label for='billingName'>{'Name on card' if 'card' in session['payment_method_types'] else 'Account holder name'}</label><input id='billingName' name='billingName' value='{html.escape(v.get('billingName', ''))}'>
<label for='billingCountry'>Country or region</label><select id='billingCountry' name='billingCountry'>{countries}</select>
<label for='billingPostalCode'>ZIP</label><input id='billingPostalCode' name='billingPostalCode'
 value='{html.escape(v.get('billingPostalCode', ''))}'>
{promo}
<div class='error' id='payment-error' data-testid='payment-error'>{html.escape(error)}</div>
<button type='submit' class='SubmitButton' data-testid='hosted-payment-submit-button'>
{ACTIONS[session['mode']]}</button></form></div></div>
<script>
const apply = document.getElementById('applyPromotion');
if (apply) apply.onclick = async () => {{
  const code = document.getElementById('promotionCode').value;
  const res = await fetch(location.pathname + '/promotion_code', {{method: 'POST',
    headers: {{'content-type': 'application/x-www-form-urlencoded'}}, body: 'code=' + encodeURIComponent(code)}});
  const json = await res.json();
  if (!res.ok) {{ document.getElementById('promotionCodeError').textContent = json.error; return; }}
  document.getElementById('promotionCodeError').textContent = '';
  document.getElementById('OrderDetails-TotalAmount').textContent = json.total;
}};
</script>"""

    async def checkout_page(request: Request):
        mode, session = find("checkout.session", request.path_params["cs_id"])
        if session is None:
            return _page("Checkout", "<div class='wrap'><h2>Something went wrong</h2><p>This checkout link is not "
                         "valid.</p></div>", 404)
        if session["status"] != "open":
            return _page("Checkout", f"<div class='wrap'><h2>This checkout session is {session['status']}.</h2></div>",
                         410 if session["status"] == "expired" else 200)
        return _page("Checkout", checkout_html(session))

    async def checkout_pay(request: Request):
        cs_id = request.path_params["cs_id"]
        mode, session = find("checkout.session", cs_id)
        if session is None:
            return _page("Checkout", "<h2>Not found</h2>", 404)
        form = await _form(request)
        number = form.get("cardNumber", "").replace(" ", "")

        def pay(ctx):
            pm_id = None
            subtotal, discount = checkout._amounts(ctx, session)
            if form.get("iban") and not number:
                pm_id = sepa_debit.new_payment_method(
                    ctx, form["iban"], {"name": form.get("billingName") or None, "email": form.get("email") or None},
                    {}, param="iban")["id"]
            elif number:
                month, _, year = form.get("cardExpiry", "").replace(" ", "").partition("/")
                exp_month = int(month) if month.isdigit() else 12
                exp_year = int(year) + 2000 if year.isdigit() and len(year) == 2 else 2034
                pm_id = payment_methods.new_payment_method(
                    ctx, number, exp_month, exp_year, {"name": form.get("billingName") or None,
                                                       "email": form.get("email") or None}, param="cardNumber")["id"]
            return checkout.complete_session(ctx, session, payment_method=pm_id, email=form.get("email") or None,
                                             name=form.get("billingName") or None,
                                             promotion_code=form.get("promotionCode") or None,
                                             billing_country=form.get("billingCountry") or None,
                                             postal_code=form.get("billingPostalCode") or None)

        try:
            sim.operate(mode, pay)
        except StripeError as exc:
            return _page("Checkout", checkout_html(session, exc.message, form), 402 if exc.status == 402 else 400)
        target = (session["success_url"] or "/").replace("{CHECKOUT_SESSION_ID}", cs_id)
        return RedirectResponse(target, status_code=303)

    async def apply_code(request: Request):
        cs_id = request.path_params["cs_id"]
        mode, session = find("checkout.session", cs_id)
        if session is None:
            return JSONResponse({"error": "This checkout link is not valid."}, 404)
        code = (await _form(request)).get("code", "")
        try:
            sim.operate(mode, lambda ctx: checkout.apply_promotion_code(ctx, session, code))
        except StripeError as exc:
            return JSONResponse({"error": exc.message}, 400)
        return JSONResponse({"total": _money(session["amount_total"], session["currency"]),
                             "amount_total": session["amount_total"]})

    # ---- Customer Portal -------------------------------------------------------------------------------
    def portal_subs(mode: str, portal: dict) -> list[dict]:
        return [s for s in sim.store.ns(mode).table("subscription").rows.values()
                if s["customer"] == portal["customer"] and s["status"] not in ("canceled", "incomplete_expired")]

    async def portal_page(request: Request):
        mode, portal = find("billing_portal.session", request.path_params["bps_id"])
        if portal is None:
            return _page("Billing", "<div class='wrap'><h2>This link has expired.</h2></div>", 404)
        conf = sim.store.find(mode, "billing_portal.configuration", portal["configuration"])
        cancel_on = conf["features"]["subscription_cancel"]["enabled"]
        rows = []
        for sub in portal_subs(mode, portal):
            item = sub["items"]["data"][0]
            product = sim.store.find(mode, "product", item["price"]["product"]) or {}
            until = item["current_period_end"]
            state = (f"Cancels on <span data-testid='cancel-date'>{_date(until)}</span>"
                     if sub["cancel_at_period_end"] else f"Renews on {_date(until)}")
            action = (f"<a href='{request.url.path}/cancel/{sub['id']}' data-test='cancel-subscription'>Cancel "
                      "subscription</a>" if cancel_on and not sub["cancel_at_period_end"] else "")
            rows.append(f"<div class='card' data-testid='subscription' data-status='{sub['status']}'>"
                        f"<b data-testid='plan-name'>{html.escape(product.get('name', ''))}</b> "
                        f"{_money(item['price']['unit_amount'], item['price']['currency'])} per "
                        f"{item['price']['recurring']['interval']} · <span data-testid='subscription-status'>"
                        f"{sub['status']}</span><div class='muted'>{state}</div>{action}</div>")
        body = (f"<div class='wrap'><div class='col'><a href='{html.escape(portal['return_url'])}' "
                f"data-testid='return-to-business-link'>← Return to {html.escape(conf['business_profile']['headline'] or 'the app')}"
                "</a><h2>Current plan</h2>" + ("".join(rows) or "<p class='muted'>No active subscription.</p>")
                + "</div></div>")
        return _page("Billing", body)

    async def portal_cancel(request: Request):
        bps_id, sub_id = request.path_params["bps_id"], request.path_params["sub_id"]
        mode, portal = find("billing_portal.session", bps_id)
        sub = sim.store.find(mode, "subscription", sub_id) if portal else None
        if portal is None or sub is None or sub["customer"] != portal["customer"]:
            return _page("Billing", "<h2>Not found</h2>", 404)
        conf = sim.store.find(mode, "billing_portal.configuration", portal["configuration"])
        cancel = conf["features"]["subscription_cancel"]
        if request.method == "GET":
            reasons = ""
            if cancel["cancellation_reason"]["enabled"]:
                options = "".join(f"<option>{html.escape(o)}</option>" for o in cancel["cancellation_reason"]["options"])
                reasons = f"<label for='reason'>Why are you canceling?</label><select id='reason' name='reason'>{options}</select>"
            when = ("at the end of your billing period" if cancel["mode"] == "at_period_end" else "immediately")
            body = (f"<div class='wrap'><div class='col card'><h2>Cancel your plan</h2><p>Your subscription will be "
                    f"canceled {when}.</p><form method='post'>{reasons}"
                    "<button type='submit' data-testid='confirm'>Cancel plan</button></form>"
                    f"<a href='/p/session/{bps_id}' data-testid='go-back'>Go back</a></div></div>")
            return _page("Cancel plan", body)
        form = await _form(request)

        def do_cancel(ctx):
            details = {"feedback": None, "comment": form.get("reason") or None}
            if cancel["mode"] == "immediately":
                cancel_subscription(ctx, sub, details=details)
            else:
                update_subscription(ctx, sub, {"cancel_at_period_end": True, "cancellation_details": details})

        try:
            sim.operate(mode, do_cancel)
        except StripeError as exc:
            return _page("Cancel plan", f"<div class='wrap'><p class='error'>{html.escape(exc.message)}</p></div>", 400)
        return RedirectResponse(f"/p/session/{bps_id}", status_code=303)

    # ---- invoices ----------------------------------------------------------------------------------------------
    async def invoice_page(request: Request):
        mode, inv = find("invoice", request.path_params["inv_id"])
        if inv is None:
            return _page("Invoice", "<h2>Not found</h2>", 404)
        lines = "".join(f"<div>{html.escape(li['description'] or '')}: {_money(li['amount'], inv['currency'])}</div>"
                        for li in inv["lines"]["data"])
        return _page(f"Invoice {inv['number']}", f"<div class='wrap'><div class='col card'><h2>Invoice "
                     f"{html.escape(inv['number'] or '')}</h2>{lines}<div class='total'>{_money(inv['total'], inv['currency'])}"
                     f"</div><div data-testid='invoice-status'>{inv['status']}</div></div></div>")

    async def invoice_pdf(request: Request):
        mode, inv = find("invoice", request.path_params["inv_id"])
        if inv is None:
            return JSONResponse({"error": "not found"}, 404)
        return JSONResponse({"invoice": inv["id"], "number": inv["number"], "total": inv["total"],
                             "note": "the simulator renders invoices as HTML at /i/{id}"})

    # ---- a bank transfer's instructions (a PaymentIntent's `hosted_instructions_url`) ---------------------
    async def bank_transfer_instructions(request: Request):
        mode, pi = find("payment_intent", request.path_params["pi_id"])
        if pi is None:
            return _page("Bank transfer", "<div class='wrap'><h2>Not found</h2></div>", 404)
        action = (pi.get("next_action") or {}).get("display_bank_transfer_instructions")
        if action is None:  # paid, canceled, or never a bank transfer
            return _page("Bank transfer", f"<div class='wrap'><div class='card'><h2>No transfer is due</h2>"
                         f"<div data-testid='payment-status'>{html.escape(pi['status'])}</div></div></div>")
        rows = "".join(f"<div><span>{html.escape(k.replace('_', ' '))}</span>: <b data-testid='{html.escape(k)}'>"
                       f"{html.escape(str(v))}</b></div>"
                       for address in action.get("financial_addresses") or []
                       for k, v in address[address["type"]].items() if not k.endswith("_address") and v)
        minor = 1 if pi["currency"] in ZERO_DECIMAL else 100
        amount = f"{action['amount_remaining'] / minor:,.{0 if minor == 1 else 2}f} {pi['currency'].upper()}"
        return _page("Bank transfer", f"<div class='wrap'><div class='card'><h2>Send a bank transfer</h2>"
                     f"<div>Amount: <b data-testid='amount-remaining'>{amount}</b></div>"
                     f"<div>Reference: <b data-testid='reference'>{html.escape(action['reference'] or '')}</b>"
                     f"</div>{rows}</div></div>")

    # ---- Payment links: each visit opens a new Checkout Session ------------------------------------------
    async def payment_link_page(request: Request):
        mode, link = find("payment_link", request.path_params["plink_id"])
        if link is None:
            return _page("Payment link", "<div class='wrap'><h2>This link is not valid.</h2></div>", 404)
        try:
            session = sim.operate(mode, lambda ctx: payment_links.open_session(ctx, link))
        except StripeError as exc:
            return _page("Payment link", f"<div class='wrap'><h2>{html.escape(exc.message)}</h2></div>", 410)
        return RedirectResponse(session["url"], status_code=303)

    async def payment_link_done(request: Request):
        mode, link = find("payment_link", request.path_params["plink_id"])
        if link is None:
            return _page("Payment link", "<div class='wrap'><h2>This link is not valid.</h2></div>", 404)
        message = (link["after_completion"].get("hosted_confirmation") or {}).get("custom_message")
        return _page("Thanks", "<div class='wrap'><div class='card'><h2 data-testid='payment-link-confirmation'>"
                     f"Thanks for your payment</h2><p>{html.escape(message or '')}</p></div></div>")

    return Starlette(routes=[
        Route("/b/{plink_id}", payment_link_page, methods=["GET"]),
        Route("/b/{plink_id}/done", payment_link_done, methods=["GET"]),
        Route("/c/pay/{cs_id}", checkout_page, methods=["GET"]),
        Route("/c/pay/{cs_id}", checkout_pay, methods=["POST"]),
        Route("/c/pay/{cs_id}/promotion_code", apply_code, methods=["POST"]),
        Route("/p/session/{bps_id}", portal_page, methods=["GET"]),
        Route("/p/session/{bps_id}/cancel/{sub_id}", portal_cancel, methods=["GET", "POST"]),
        Route("/t/instructions/{pi_id}", bank_transfer_instructions, methods=["GET"]),
        Route("/i/{inv_id}", invoice_page, methods=["GET"]),
        Route("/i/{inv_id}/pdf", invoice_pdf, methods=["GET"]),
    ])


def _date(ts: int) -> str:
    import time
    return time.strftime("%b %d, %Y", time.gmtime(ts))


__all__ = ["hosted_pages"]
