"""Every Stripe object the simulator sends has the fields of the vendored field lists, and only those.

One of each object type the simulator serves is made through the official SDK (in both modes: in-process
and over HTTP), then everything it answered, every event and every list is crawled: each object (a dict
with an `object` of the reference; `deleted_*` when `deleted` is true) must have every always-present field
and no field Stripe's types do not have; so must the nested objects at the paths the reference describes.
And no resource module writes a Stripe object as a dict literal: they build through `objects.shape()`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import stripe

from tiersync.stripe_sim.objects import shape

# derived from the stripe npm package's type files by scripts/vendor_reference.py (see the README there)
SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "reference" / "stripe_fields_2026-10-28.json"
SIM = Path(__file__).resolve().parents[2] / "harness" / "stripe_sim"
NOT_STRIPE_OBJECTS = {"list", "search_result"}  # envelopes; `sim.*` are the simulator's control answers


@pytest.fixture(scope="module")
def schemas() -> dict:
    return json.loads(SCHEMAS.read_text())["resources"]


def plain(obj):
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj


def key_problems(ref: dict, obj: dict) -> list[str]:
    known = set(ref["required"]) | set(ref["optional"])
    return ([f"unknown field {name!r}" for name in sorted(set(obj) - known)]
            + [f"missing field {name!r}" for name in sorted(set(ref["required"]) - set(obj))])


def crawl(value, schemas: dict, found: dict[str, list], problems: dict[str, list]) -> None:
    """Record each object by kind in `found`, each shape problem under `kind[:nested path]` in `problems`."""
    if isinstance(value, list):
        for item in value:
            crawl(item, schemas, found, problems)
        return
    if not isinstance(value, dict):
        return
    kind = value.get("object")
    if not isinstance(kind, str) or kind in NOT_STRIPE_OBJECTS:
        for inner in value.values():
            crawl(inner, schemas, found, problems)
        return
    if value.get("deleted") is True and f"deleted_{kind}" in schemas:
        kind = f"deleted_{kind}"
    found.setdefault(kind, []).append(value)
    ref = schemas.get(kind)
    if ref is None:
        problems.setdefault(kind, ["not an object type of the reference"])
        return
    _check(kind, ref, "", value, schemas, found, problems)


def _check(kind, ref, path, obj, schemas, found, problems):
    label = f"{kind}:{path.rstrip('.')}" if path else kind
    for problem in key_problems(ref, obj):
        if problem not in problems.setdefault(label, []):
            problems[label].append(problem)
    nested = schemas[kind].get("nested", {})
    for name, inner in obj.items():
        for sub, item in ((f"{path}{name}", inner), (f"{path}{name}[]", inner)):
            items = [item] if not sub.endswith("[]") else (item if isinstance(item, list) else [])
            if sub.endswith("[]") == isinstance(item, list) and sub in nested:
                for each in items:
                    if isinstance(each, dict) and "object" not in each:
                        _check(kind, nested[sub], sub + ".", each, schemas, found, problems)
        crawl(inner, schemas, found, problems)


def make_one_of_each(client: stripe.StripeClient) -> list:
    """Every object type the simulator serves, made or answered once; returns what the SDK received."""
    v1, got = client.v1, []

    def keep(obj):
        got.append(plain(obj))
        return obj

    clock = keep(v1.test_helpers.test_clocks.create(params={"frozen_time": 1_767_225_600, "name": "crawl"}))
    cus = keep(v1.customers.create(params={"email": "crawl@example.com", "payment_method": "pm_card_visa",
                                           "invoice_settings": {"default_payment_method": "pm_card_visa"}}))
    prod = keep(v1.products.create(params={"name": "Crawl"}))
    price = keep(v1.prices.create(params={"product": prod.id, "unit_amount": 1200, "currency": "usd",
                                          "recurring": {"interval": "month"}}))
    once = keep(v1.prices.create(params={"product": prod.id, "unit_amount": 700, "currency": "usd"}))
    plan = keep(v1.plans.create(params={"product": prod.id, "amount": 900, "currency": "usd", "interval": "month"}))
    coupon = keep(v1.coupons.create(params={"percent_off": 10, "duration": "forever"}))
    keep(v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "CRAWL"}))
    keep(v1.tax_rates.create(params={"display_name": "VAT", "percentage": 20, "inclusive": False}))
    tax_id = keep(v1.customers.tax_ids.create(cus.id, params={"type": "eu_vat", "value": "DE123456789"}))
    keep(v1.customers.balance_transactions.create(cus.id, params={"amount": -500, "currency": "usd"}))
    card = keep(v1.customers.payment_sources.create(cus.id, params={"source": "tok_visa"}))
    sub = keep(v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                               "discounts": [{"coupon": coupon.id}]}))
    keep(v1.invoices.retrieve(sub.latest_invoice))
    keep(v1.invoices.line_items.list(sub.latest_invoice))
    extra = keep(v1.subscription_items.create(params={"subscription": sub.id, "price": plan.id,
                                                      "proration_behavior": "none"}))
    keep(v1.subscription_items.delete(extra.id))
    keep(v1.subscriptions.retrieve(sub.id, params={"expand": ["discounts"]}))
    keep(v1.subscriptions.delete_discount(sub.id))
    pi = keep(v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "customer": cus.id,
                                                "payment_method": "pm_card_visa", "confirm": True}))
    keep(v1.charges.retrieve(pi.latest_charge))
    keep(v1.refunds.create(params={"payment_intent": pi.id, "amount": 500}))
    disputed = keep(v1.payment_intents.create(params={"amount": 3000, "currency": "usd",
                                                      "payment_method": "pm_card_createDispute", "confirm": True}))
    keep(v1.disputes.list(params={"payment_intent": disputed.id}))
    debit = keep(v1.payment_intents.create(params={
        "amount": 1000, "currency": "eur", "payment_method_types": ["sepa_debit"], "payment_method": "pm_success_de",
        "confirm": True, "mandate_data": {"customer_acceptance": {"type": "offline"}}}))
    mandate = keep(v1.charges.retrieve(debit.latest_charge)).payment_method_details.sepa_debit.mandate
    keep(v1.mandates.retrieve(mandate))
    keep(v1.payment_intents.retrieve(debit.id))
    keep(v1.setup_intents.create(params={"customer": cus.id, "payment_method": "pm_card_visa", "confirm": True}))
    keep(v1.payment_methods.list(params={"customer": cus.id}))
    keep(v1.invoice_items.create(params={"customer": cus.id, "amount": 300, "currency": "usd"}))
    draft = keep(v1.invoices.create(params={"customer": cus.id, "pending_invoice_items_behavior": "include"}))
    keep(v1.invoice_items.create(params={"customer": cus.id, "amount": 100, "currency": "usd"}))
    paid = keep(v1.invoices.finalize_invoice(draft.id))
    keep(v1.invoices.pay(paid.id))
    note = keep(v1.credit_notes.create(params={"invoice": paid.id, "credit_amount": 100, "lines": [
        {"type": "custom_line_item", "unit_amount": 100, "quantity": 1, "description": "Goodwill"}]}))
    keep(v1.credit_notes.line_items.list(note.id))
    quote = keep(v1.quotes.create(params={"customer": cus.id, "line_items": [{"price": price.id, "quantity": 1}]}))
    keep(v1.quotes.line_items.list(quote.id))
    keep(v1.subscription_schedules.create(params={"customer": cus.id, "start_date": "now", "end_behavior": "release",
                                                  "phases": [{"items": [{"price": price.id}], "iterations": 1}]}))
    link = keep(v1.payment_links.create(params={"line_items": [{"price": once.id, "quantity": 1}]}))
    keep(v1.payment_links.line_items.list(link.id))
    session = keep(v1.checkout.sessions.create(params={
        "mode": "payment", "line_items": [{"price": once.id, "quantity": 1}], "success_url": "https://app.example/ok"}))
    keep(v1.checkout.sessions.line_items.list(session.id))
    conf = keep(v1.billing_portal.configurations.create(params={"features": {"invoice_history": {"enabled": True}}}))
    keep(v1.billing_portal.sessions.create(params={"customer": cus.id, "configuration": conf.id,
                                                     "return_url": "https://app.example/account"}))
    endpoint = keep(v1.webhook_endpoints.create(params={"url": "https://app.example/hook", "enabled_events": ["*"]}))
    # the deleted stubs
    keep(v1.webhook_endpoints.delete(endpoint.id))
    keep(v1.customers.tax_ids.delete(cus.id, tax_id.id))
    keep(v1.customers.payment_sources.delete(cus.id, card.id))
    loose = keep(v1.invoice_items.create(params={"customer": cus.id, "amount": 100, "currency": "usd"}))
    keep(v1.invoice_items.delete(loose.id))
    keep(v1.invoices.delete(keep(v1.invoices.create(params={"customer": cus.id})).id))
    keep(v1.plans.delete(plan.id))
    keep(v1.coupons.delete(coupon.id))
    spare = keep(v1.products.create(params={"name": "Spare"}))
    keep(v1.products.delete(spare.id))
    gone = keep(v1.customers.create(params={"email": "gone@example.com"}))
    keep(v1.customers.delete(gone.id))
    keep(v1.test_helpers.test_clocks.delete(clock.id))
    for evt in v1.events.list(params={"limit": 100}).auto_paging_iter():
        keep(evt)
    for service in (v1.customers, v1.products, v1.prices, v1.plans, v1.coupons, v1.promotion_codes, v1.tax_rates,
                    v1.subscriptions, v1.invoices, v1.invoice_items, v1.payment_intents, v1.charges, v1.refunds,
                    v1.setup_intents, v1.credit_notes, v1.quotes, v1.subscription_schedules, v1.payment_links,
                    v1.checkout.sessions, v1.billing_portal.configurations, v1.webhook_endpoints):
        keep(service.list(params={"limit": 100}))
    return [obj for obj in got if obj is not None]


EVERY_KIND = {  # what the flow above must have met, so a type nobody crawls cannot hide
    "customer", "product", "price", "coupon", "promotion_code", "checkout.session", "subscription",
    "subscription_item", "invoice", "billing_portal.session", "billing_portal.configuration", "webhook_endpoint",
    "event", "test_helpers.test_clock", "balance_transaction", "card", "charge", "credit_note",
    "credit_note_line_item", "customer_balance_transaction", "discount", "dispute", "invoice_payment",
    "invoiceitem", "item", "line_item", "mandate", "payment_intent", "payment_link", "payment_method", "plan", "quote",
    "refund", "setup_intent", "subscription_schedule", "tax_id", "tax_rate",
    "deleted_customer", "deleted_product", "deleted_coupon", "deleted_subscription_item",
    "deleted_webhook_endpoint", "deleted_test_helpers.test_clock", "deleted_card", "deleted_discount",
    "deleted_invoice", "deleted_invoiceitem", "deleted_plan", "deleted_tax_id",
}


def test_every_object_the_simulator_sends_has_the_reference_fields(client, schemas):
    found, problems = {}, {}
    crawl(make_one_of_each(client), schemas, found, problems)
    assert sorted(EVERY_KIND - set(found)) == []
    assert problems == {}, json.dumps(problems, indent=1)


def test_the_crawl_flags_unknown_and_missing_fields(schemas):
    obj = shape("tax_rate", {"id": "txr_1", "active": True, "created": 1, "display_name": "VAT", "inclusive": False,
                             "livemode": False, "percentage": 20.0})
    found, problems = {}, {}
    crawl([{**obj, "colour": "red"}, {k: v for k, v in obj.items() if k != "active"}], schemas, found, problems)
    assert problems == {"tax_rate": ["unknown field 'colour'", "missing field 'active'"]}


def test_the_crawl_checks_nested_objects(schemas):
    found, problems = {}, {}
    crawl({"id": "du_1", "object": "dispute", "evidence_details": {"due_by": 1}}, schemas, found, problems)
    assert "unknown field 'due_by'" not in problems["dispute"]
    assert "missing field 'has_evidence'" in problems["dispute:evidence_details"]


# ---- no Stripe object is written by hand ----------------------------------------------------------------

OBJECT_LITERAL = re.compile(r"""["']object["']\s*:\s*["']([a-z_.]+)["']""")


def object_literals() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted(SIM.rglob("*.py")):
        if path.name == "shapes.py":  # generated: the field lists themselves
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for kind in OBJECT_LITERAL.findall(line):
                if kind not in NOT_STRIPE_OBJECTS and not kind.startswith("sim.") and kind != "payment_page":
                    out.append((str(path.relative_to(SIM)), number, kind))
    return out


def test_no_resource_writes_a_stripe_object_as_a_dict_literal():
    # build it with objects.shape(kind, values): `payment_page` is Stripe.js's private API, in no type file
    assert object_literals() == []


def test_the_literal_check_can_fail(tmp_path, monkeypatch):
    bad = tmp_path / "resources" / "bad.py"
    bad.parent.mkdir()
    bad.write_text('def f():\n    return {"id": "x", "object": "charge"}\n')
    monkeypatch.setattr(f"{__name__}.SIM", tmp_path)
    assert object_literals() == [("resources/bad.py", 2, "charge")]
