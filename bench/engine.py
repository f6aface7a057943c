"""Issue 6's figures: (1) the whole catalog against the reference receiver (target < 15 s), with the share
of time in the engine versus the receiver; (2) a replay of signed events for many users (duplicates and
reordering on) straight to the receiver, with every end state checked (target: 10,000 events < 30 s).

    python bench/engine.py [--quick] [--users N] [--events-per-user N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_catalog() -> tuple[float, int, int]:
    from harness.cli_run import BUNDLED_CATALOG
    from harness.engine import load_paths, run_scenarios
    from harness.engine.target import reference_target
    scenarios = load_paths([BUNDLED_CATALOG])
    target = reference_target()
    try:
        t0 = time.perf_counter()
        run = run_scenarios(scenarios, target)
        seconds = time.perf_counter() - t0
    finally:
        target.close()
    return seconds, run.passed, len(run.results)


def bench_replay(users: int, per_user: int, concurrency: int, seed: int = 7) -> dict:
    """Users with subscriptions; for each, a series of plan changes whose `customer.subscription.updated`
    events are replayed signed, duplicated (1 in 3 twice) and shuffled; the last state must win."""
    import httpx

    from harness.signer import build_request
    from harness.stack import Stack
    from harness.stripe_sim.resources import customers, events, subscriptions

    rng = random.Random(seed)
    with Stack() as st:
        sim, world = st.stripe_sim, st.world
        tiers = list(world.prices)
        expected, payloads = {}, []
        t_setup = time.perf_counter()
        for i in range(users):
            user = st.clerk_sim.create_user(f"u{i}+clerk_test@example.com")
            ctx = sim.context()
            with sim._lock:
                cus = customers.new_customer(ctx, {"email": f"u{i}@example.com", "payment_method": "pm_card_visa",
                                                   "invoice_settings": {"default_payment_method": "pm_card_visa"}})
                sub = subscriptions.create_subscription(ctx, {"customer": cus["id"], "metadata": {"userId": user["id"]},
                                                              "items": [{"price": world.prices["pro"]}]})
                tier = "pro"
                for _ in range(per_user):
                    tier = rng.choice(tiers)
                    item = sub["items"]["data"][0]
                    subscriptions.update_subscription(ctx, sub, {"items": [{"id": item["id"],
                                                                            "price": world.prices[tier]}],
                                                                 "proration_behavior": "none"})
                updates = [e for e in ctx.events if e["type"] == "customer.subscription.updated"]
                ctx.events = []  # not delivered by the simulator: the bench replays them itself
                for e in updates[-per_user:]:
                    payloads.append(events.render({**e, "pending_webhooks": 1}))
            expected[user["id"]] = tier
        setup = time.perf_counter() - t_setup
        sends = []
        for p in payloads:
            sends.append(p)
            if rng.random() < 1 / 3:
                sends.append(p)
        rng.shuffle(sends)
        url, secret = st.receiver_server.url + "/webhook/stripe", world.webhook_secret
        client = httpx.Client(limits=httpx.Limits(max_connections=concurrency), timeout=60)

        def send(event):
            req = build_request(event, secret)
            return client.post(url, content=req.body, headers=req.headers).status_code

        cpu0, t0 = cpu_seconds(), time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            statuses = list(pool.map(send, sends))
        replay = time.perf_counter() - t0
        cpu = cpu_seconds() - cpu0
        wrong = [u for u, tier in expected.items()
                 if (st.clerk_sim.get_user(u)["public_metadata"] or {}).get("plan") != tier]
        client.close()
    return {"users": users, "events": len(sends), "unique": len(payloads), "setup_s": setup, "replay_s": replay,
            "events_per_s": len(sends) / replay, "non_200": sum(s != 200 for s in statuses), "wrong": len(wrong),
            "cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/engine.py")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int)
    parser.add_argument("--events-per-user", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    args, _ = parser.parse_known_args(argv)
    users = args.users or (100 if args.quick else 1000)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    seconds, passed, total = bench_catalog()
    print(f"catalog: {total} scenarios, {passed} passed, {seconds:.1f} s against the reference receiver "
          f"(target < 15 s): {'PASS' if seconds < 15 and passed == total else 'FAIL'}")
    r = bench_replay(users, args.events_per_user, args.concurrency)
    print(f"replay: {r['events']} signed events ({r['unique']} distinct, duplicates and shuffling on) for "
          f"{r['users']} users in {r['replay_s']:.1f} s = {r['events_per_s']:.0f} events/s; non-200: {r['non_200']}; "
          f"end states wrong: {r['wrong']} (set-up {r['setup_s']:.1f} s; CPU of this process, which runs the "
          f"simulators and the receiver, {r['cpu_s']:.1f} s)")
    scaled = r["replay_s"] * 10_000 / r["events"]
    print(f"replay of 10,000 events (target < 30 s): {'measured' if r['events'] >= 10_000 else 'scaled'} "
          f"{scaled:.1f} s: {'PASS' if scaled < 30 and not r['wrong'] else 'FAIL'}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
