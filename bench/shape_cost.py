"""Cost of `objects.shape(kind, values)`, the one builder of every Stripe object the simulator sends.

    .venv/bin/python bench/shape_cost.py [--repeat 20000]

The values are those a resource gives: each object of a short in-process flow (customer, subscription,
invoice, payment, checkout, refund, event, a deleted stub) with the fields still at their empty value left
out. Reported: CPU microseconds (process time: the machine is shared) per `shape()` call for each kind,
best of 5 rounds. Never asserted.
"""

from __future__ import annotations

import argparse
import time
import timeit

from tiersync.stripe_sim import StripeSim
from tiersync.stripe_sim.objects import shape
from tiersync.stripe_sim.shapes import FIELDS, OPTIONAL, REQUIRED


def sample_objects() -> dict[str, dict]:
    sim = StripeSim(seed=3)
    cus = sim.request("POST", "/v1/customers", {"email": "bench@example.com", "payment_method": "pm_card_visa",
                                                "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    prod = sim.request("POST", "/v1/products", {"name": "Pro"})
    price = sim.request("POST", "/v1/prices", {"product": prod["id"], "unit_amount": 900, "currency": "usd",
                                               "recurring": {"interval": "month"}})
    sub = sim.request("POST", "/v1/subscriptions", {"customer": cus["id"], "items": [{"price": price["id"]}]})
    inv = sim.request("GET", f"/v1/invoices/{sub['latest_invoice']}", {})
    pi = sim.request("POST", "/v1/payment_intents", {"amount": 500, "currency": "usd", "customer": cus["id"],
                                                     "payment_method": "pm_card_visa", "confirm": True})
    charge = sim.request("GET", f"/v1/charges/{pi['latest_charge']}", {})
    refund = sim.request("POST", "/v1/refunds", {"payment_intent": pi["id"]})
    session = sim.request("POST", "/v1/checkout/sessions", {
        "mode": "subscription", "line_items": [{"price": price["id"], "quantity": 1}],
        "success_url": "https://app.example/ok"})
    event = sim.request("GET", "/v1/events", {"limit": 1})["data"][0]
    gone = sim.request("DELETE", f"/v1/products/{sim.request('POST', '/v1/products', {'name': 'x'})['id']}", {})
    return {"customer": cus, "subscription": sub, "invoice": inv, "payment_intent": pi, "charge": charge,
            "refund": refund, "checkout.session": session, "event": event, "deleted_product": gone}


def given_values(kind: str, obj: dict) -> dict:
    """What a resource passes: the computed fields, not those still at their empty value."""
    fields = FIELDS[kind]
    return {name: value for name, value in obj.items()
            if name in fields and (fields[name] is REQUIRED or name in OPTIONAL[kind] or value != fields[name])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20000)
    args, _ = parser.parse_known_args(argv)  # bench/run.py passes every benchmark the same options
    print(f"{'kind':<20} {'fields':>6} {'given':>6} {'us/shape()':>11}")
    for kind, obj in sample_objects().items():
        values = given_values(kind, obj)
        # CPU time, not wall time: the machine is shared
        timer = timeit.Timer(lambda k=kind, v=values: shape(k, v), timer=time.process_time)
        best = min(timer.repeat(number=args.repeat, repeat=5))
        print(f"{kind:<20} {len(FIELDS[kind]):>6} {len(values):>6} {best / args.repeat * 1e6:>11.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
