"""Run billing-e2e's built-in scenarios (PyPI `billing-e2e`, a third-party tool) against the Stripe simulator.

    pip install billing-e2e          # not a tiersync dependency: install it in your own venv
    python scripts/billing_e2e_against_sim.py [--failed-payments cancel|mark_unpaid|leave_past_due]

The simulator is started on a port the OS picks, seeded with two monthly prices (`monthly_price`,
`upgrade_price`), and set the way billing-e2e's `failed-renewal.yml` assumes ("cancel the subscription" after
the last retry; change it with --failed-payments). billing-e2e drives it with the official SDK, unmodified,
through its documented `Runner(config, client)`; the client is pointed at the simulator with
`base_addresses`. Prints one line per scenario and each failing step; exits 1 when one fails.
"""

from __future__ import annotations

import argparse
import sys

import stripe


def main(argv: list[str] | None = None) -> int:
    try:
        from billing_e2e.cli import BUILTIN
        from billing_e2e.runner import Runner
        from billing_e2e.scenario import Config, load_scenario
    except ImportError:
        print("error: billing-e2e is not installed (pip install billing-e2e)", file=sys.stderr)
        return 2
    from tiersync.server import ThreadedServer
    from tiersync.stripe_sim import StripeSim

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--failed-payments", default="cancel", choices=("cancel", "mark_unpaid", "leave_past_due"))
    args = ap.parse_args(argv)

    sim = StripeSim()
    sim.failed_payment_settings.update(test=args.failed_payments, live=args.failed_payments)
    server = ThreadedServer(sim, port=0).start()
    sim.public_url = server.url
    try:
        client = stripe.StripeClient(sim.test_key, base_addresses={"api": server.url})
        product = client.v1.products.create(params={"name": "billing-e2e plans"})
        prices = {name: client.v1.prices.create(params={
            "product": product.id, "unit_amount": amount, "currency": "usd", "recurring": {"interval": "month"}}).id
            for name, amount in (("monthly_price", 1500), ("upgrade_price", 4900))}
        runner = Runner(Config(stripe_key=sim.test_key, vars=prices), client)
        failed = 0
        for path in sorted(p for p in BUILTIN.iterdir() if p.name.endswith(".yml")):
            result = runner.run(load_scenario(path))
            failed += not result.passed
            print(f"{'PASS' if result.passed else 'FAIL'}  {path.name}  ({result.scenario})")
            for step in result.steps:
                if not step.passed:
                    print(f"      step {step.label}: {step.detail}")
            for error in result.errors:
                print(f"      error: {error}")
        return 1 if failed else 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
