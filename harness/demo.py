"""`make demo` / `tiersync demo`: a scripted subscription story against the simulator, through the
official `stripe` SDK over HTTP, printed as a report. Later issues grow this into the scenario catalog."""

from __future__ import annotations

import time

import httpx
import stripe
from rich.console import Console
from rich.table import Table

from .server import ThreadedServer
from .stripe_sim import StripeSim

DAY = 86400


def run_demo(console: Console | None = None) -> int:
    console = console or Console()
    sim = StripeSim()
    with ThreadedServer(sim, port=0) as server:
        sim.public_url = server.url
        client = stripe.StripeClient(sim.test_key, base_addresses={"api": server.url})
        console.print(f"[bold]tiersync demo[/] — Stripe simulator on {server.url}, official stripe SDK "
                      f"{stripe.VERSION}\n")
        steps = Table("step", "result", title="A subscription story", show_lines=False)
        started = time.perf_counter()
        ok = _story(client, server.url, steps)
        elapsed = time.perf_counter() - started
        console.print(steps)
        events = client.v1.events.list(params={"limit": 100})
        kinds = Table("event", "count", title="Events recorded (what Stripe would send)")
        counts: dict[str, int] = {}
        for e in events.auto_paging_iter():
            counts[e.type] = counts.get(e.type, 0) + 1
        for name, n in sorted(counts.items()):
            kinds.add_row(name, str(n))
        console.print(kinds)
        calls = len(sim.request_log)
        console.print(f"{calls} API calls in {elapsed:.2f} s. " +
                      ("[green]All checks passed.[/]" if ok else "[red]Some checks failed.[/]"))
        return 0 if ok else 1


def _story(client: stripe.StripeClient, base: str, steps: Table) -> bool:
    ok = True

    def check(label: str, cond: bool, detail: str):
        nonlocal ok
        ok &= cond
        steps.add_row(label, ("[green]✔[/] " if cond else "[red]✘[/] ") + detail)

    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": int(time.time()), "name": "demo"})
    pro = client.v1.products.create(params={"name": "Pro Plan", "metadata": {"plan": "pro"}})
    ent = client.v1.products.create(params={"name": "Enterprise Plan", "metadata": {"plan": "enterprise"}})
    pro_price = client.v1.prices.create(params={"product": pro.id, "unit_amount": 2900, "currency": "usd",
                                                "recurring": {"interval": "month"}, "lookup_key": "pro_monthly"})
    ent_price = client.v1.prices.create(params={"product": ent.id, "unit_amount": 9900, "currency": "usd",
                                                "recurring": {"interval": "month"}})
    check("products", pro.metadata["plan"] == "pro", f"Pro {pro_price.id} $29/mo, Enterprise $99/mo")

    coupon = client.v1.coupons.create(params={"percent_off": 100, "duration": "once", "max_redemptions": 1})
    promo = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                     "code": "LAUNCH100", "max_redemptions": 1})
    check("100%-off code", promo.active, f"{promo.code} → coupon {coupon.id}")

    customer = client.v1.customers.create(params={"email": "ada+clerk_test@example.com", "test_clock": clock.id})
    session = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": pro_price.id, "quantity": 1}],
        "customer": customer.id, "client_reference_id": "user_ada", "allow_promotion_codes": True,
        "payment_method_collection": "if_required",  # a 100%-off first invoice then asks for no card
        "subscription_data": {"metadata": {"userId": "user_ada"}},
        "success_url": "http://127.0.0.1/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1/cancel"})
    check("checkout session", session.status == "open", f"{session.url[:60]}…")

    r = httpx.post(f"{base}/_sim/checkout/sessions/{session.id}/complete",
                   data={"promotion_code": "LAUNCH100"})
    done = client.v1.checkout.sessions.retrieve(session.id)
    check("pay with LAUNCH100", r.status_code == 200 and done.payment_status == "no_payment_required",
          f"status={done.status} payment_status={done.payment_status} total={done.amount_total}")

    sub = client.v1.subscriptions.retrieve(done.subscription, params={"expand": ["items.data.price.product"]})
    plan = sub["items"].data[0].price.product.metadata.to_dict().get("plan")
    check("subscription", sub.status == "active" and plan == "pro",
          f"{sub.id} {sub.status}, plan={plan}, userId={sub.metadata.to_dict().get('userId')}")

    item = sub["items"].data[0]
    sub = client.v1.subscriptions.update(sub.id, params={"items": [{"id": item.id, "price": ent_price.id}],
                                                         "proration_behavior": "none"})
    check("upgrade", sub["items"].data[0].price.id == ent_price.id, "Pro → Enterprise")

    end = sub["items"].data[0].current_period_end
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": end + 2 * 3600})
    invoices = client.v1.invoices.list(params={"subscription": sub.id})
    renewal = invoices.data[0]
    check("renewal", renewal.billing_reason == "subscription_cycle" and renewal.status == "open",
          f"invoice {renewal.number} ${renewal.amount_due / 100:.2f} {renewal.status} (no card on file)")

    sub = client.v1.subscriptions.retrieve(sub.id)
    check("past_due", sub.status == "past_due", "renewal payment failed: status past_due")

    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": pm.id}})
    paid = client.v1.invoices.pay(renewal.id)
    sub = client.v1.subscriptions.retrieve(sub.id)
    check("card fixed", paid.status == "paid" and sub.status == "active", "invoice paid, subscription active again")

    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    end = sub["items"].data[0].current_period_end
    check("cancel at period end", sub.cancel_at_period_end and sub.status == "active",
          f"still active until {time.strftime('%Y-%m-%d', time.gmtime(end))}")
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": end + DAY})
    sub = client.v1.subscriptions.retrieve(sub.id)
    check("period end", sub.status == "canceled" and sub.ended_at == end, f"status={sub.status}")

    deleted = client.v1.events.list(params={"type": "customer.subscription.deleted"})
    check("events", len(deleted.data) == 1, "one customer.subscription.deleted recorded")
    return ok
