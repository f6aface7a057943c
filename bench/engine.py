"""Issue 6's figures: (1) the whole catalog against the reference receiver (target < 15 s), then again with the
receiver as its own process for the CPU split engine/receiver; (2) a replay of signed events for many users (duplicates and
reordering on) straight to the receiver, with every end state checked (target: 10,000 events < 30 s).

    python bench/engine.py [--quick] [--users N] [--events-per-user N] [--events N] [--concurrency N]
                           [--replay-only] [--profile]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))

from pyspy import profile_report, profile_start, profile_stop  # noqa: E402
from stripe_api import Proc, cpu_split, free_port, wait_listening  # noqa: E402


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_catalog() -> tuple[float, int, int]:
    from tiersync.catalog import catalog_dir
    from tiersync.engine import load_paths, run_scenarios
    from tiersync.engine.target import reference_target
    scenarios = load_paths([catalog_dir()])
    target = reference_target()
    try:
        t0 = time.perf_counter()
        run = run_scenarios(scenarios, target)
        seconds = time.perf_counter() - t0
    finally:
        target.close()
    return seconds, run.passed, len(run.results)


def bench_catalog_split() -> dict:
    """The catalog again with the reference receiver as its own process (`--target-cmd 'python -m tiersync.receiver'`):
    the CPU of the engine (with the simulators, this process) and of the receiver, separately. Scenarios that
    inspect the reference receiver's insides skip here."""
    from tiersync.catalog import catalog_dir
    from tiersync.engine import load_paths, run_scenarios
    from tiersync.engine.target import command_target
    scenarios = load_paths([catalog_dir()])
    target = command_target(f"exec {sys.executable} -m tiersync.receiver")
    try:
        r0, c0, t0 = sum(cpu_split(target.process.pid)), cpu_seconds(), time.perf_counter()
        run = run_scenarios(scenarios, target)
        wall = time.perf_counter() - t0
        engine, receiver = cpu_seconds() - c0, sum(cpu_split(target.process.pid)) - r0
    finally:
        target.close()
    return {"wall": wall, "passed": run.passed, "total": len(run.results), "engine": engine, "receiver": receiver,
            "skipped": sum(1 for r in run.results if getattr(r, "status", "") == "skipped")}


RECEIVER_SECRET = "whsec_benchreplay000000000000000000"


def bench_replay(users: int, per_user: int, concurrency: int, total: int | None = None, seed: int = 7,
                 profile: str | None = None) -> dict:
    """Users with subscriptions; for each, `per_user` plan changes whose `customer.subscription.updated` events
    are replayed signed, some twice (enough to make `total` sends), all shuffled; the last state must win.

    The simulators and this replay run in this process (the harness side); the reference receiver runs as its
    own process (`python -m tiersync.receiver`, as `tiersync run --target-cmd` runs a user's receiver), so each side's
    CPU is measured separately. `profile`: a path for py-spy's samples of the receiver during the replay."""
    import asyncio

    import aiohttp

    from tiersync.signer import build_request
    from tiersync.stack import Stack
    from tiersync.stripe_sim.resources import customers, events, subscriptions

    rng = random.Random(seed)
    with Stack(receiver_port=None) as st, tempfile.TemporaryDirectory() as tmp:
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
                    tier = rng.choice([t for t in tiers if t != tier])  # every update changes the plan
                    item = sub["items"]["data"][0]
                    subscriptions.update_subscription(ctx, sub, {"items": [{"id": item["id"],
                                                                            "price": world.prices[tier]}],
                                                                 "proration_behavior": "none"})
                updates = [e for e in ctx.events if e["type"] == "customer.subscription.updated"]
                ctx.events = []  # not delivered by the simulator: the bench replays them itself
                for e in updates[-per_user:]:
                    payloads.append({**events.render(e), "pending_webhooks": 1})
            expected[user["id"]] = tier
        copies = max(0, (total or len(payloads) * 4 // 3) - len(payloads))
        sends = payloads + rng.sample(payloads, min(copies, len(payloads)))
        rng.shuffle(sends)
        port = free_port()
        env = {**os.environ, **st.receiver_env(port=port), "STRIPE_WEBHOOK_SECRET": RECEIVER_SECRET,
               "RECEIVER_DATABASE": os.path.join(tmp, "receiver.sqlite"), "PORT": str(port)}
        receiver = Proc([sys.executable, "-m", "tiersync.receiver"], "receiver", cwd=str(Path(__file__).resolve().parent.parent),
                        env=env, stdout=subprocess.DEVNULL)
        try:
            wait_listening(port, receiver)
            setup = time.perf_counter() - t_setup
            url = f"http://127.0.0.1:{port}/webhook/stripe"

            async def replay():
                queue = iter(sends)
                statuses = []

                async def worker(session):
                    for event in queue:
                        req = build_request(event, RECEIVER_SECRET)
                        async with session.post(url, data=req.body, headers=req.headers) as r:
                            await r.read()
                            statuses.append(r.status)

                connector = aiohttp.TCPConnector(limit=concurrency)
                async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as s:
                    await asyncio.gather(*(worker(s) for _ in range(concurrency)))
                return statuses

            spy = profile_start(receiver.pid, 3600, profile) if profile else None
            cpu0, (ru0, rs0), t0 = cpu_seconds(), receiver.cpu_split(), time.perf_counter()
            try:
                statuses = asyncio.run(replay())
            finally:
                profile_stop(spy)
            wall = time.perf_counter() - t0
            cpu, (ru, rs) = cpu_seconds() - cpu0, receiver.cpu_split()
            rcpu, rsys = ru - ru0 + rs - rs0, rs - rs0
        finally:
            receiver.stop()
        wrong = [u for u, tier in expected.items()
                 if (st.clerk_sim.get_user(u)["public_metadata"] or {}).get("plan") != tier]
    return {"users": users, "events": len(sends), "unique": len(payloads), "setup_s": setup, "replay_s": wall,
            "events_per_s": len(sends) / wall, "non_200": sum(s != 200 for s in statuses), "wrong": len(wrong),
            "cpu_s": cpu, "receiver_cpu_s": rcpu, "receiver_sys_s": rsys, "concurrency": concurrency}


def report_replay(r: dict):
    print(f"replay, {r['concurrency']} deliveries in flight: {r['events']} signed events "
          f"({r['unique']} distinct, the rest duplicates, all shuffled) for {r['users']} users in {r['replay_s']:.1f} s "
          f"= {r['events_per_s']:.0f} events/s; non-200: {r['non_200']}; end states wrong: {r['wrong']} "
          f"(set-up {r['setup_s']:.1f} s)")
    both = r["cpu_s"] + r["receiver_cpu_s"]
    print(f"  CPU: harness (engine's signing and sending + the simulators' API answers, one process) "
          f"{r['cpu_s']:.1f} s = {100 * r['cpu_s'] / both:.0f}%; reference receiver {r['receiver_cpu_s']:.1f} s = "
          f"{100 * r['receiver_cpu_s'] / both:.0f}% ({1000 * r['receiver_cpu_s'] / max(r['unique'], 1):.2f} ms per "
          f"distinct event, of which system {1000 * r['receiver_sys_s'] / max(r['unique'], 1):.2f} ms)")
    scaled = r["replay_s"] * 10_000 / r["events"]
    print(f"  replay of 10,000 events (target < 30 s): {'measured' if r['events'] >= 10_000 else 'scaled'} "
          f"{scaled:.1f} s: {'PASS' if scaled < 30 and not r['wrong'] else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/engine.py")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int)
    parser.add_argument("--events-per-user", type=int, default=8)
    parser.add_argument("--events", type=int, default=None, help="sends in the replay (default 10,000; --quick 1,000)")
    parser.add_argument("--concurrency", type=int, default=32, help="deliveries in flight in the replay")
    parser.add_argument("--replay-only", action="store_true", help="skip the two catalog runs")
    parser.add_argument("--profile", action="store_true", help="py-spy the receiver during the replay")
    args, _ = parser.parse_known_args(argv)
    users = args.users or (100 if args.quick else 1000)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    if not args.replay_only:
        seconds, passed, total = bench_catalog()
        print(f"catalog: {total} scenarios, {passed} passed, {seconds:.1f} s against the reference receiver "
              f"(target < 15 s): {'PASS' if seconds < 15 and passed == total else 'FAIL'}")
        split = bench_catalog_split()
        both = split["engine"] + split["receiver"]
        print(f"catalog, receiver in its own process: {split['wall']:.1f} s, {split['passed']} passed, "
              f"{split['skipped']} skipped (they inspect the reference receiver's insides); CPU: engine + simulators "
              f"{split['engine']:.1f} s = {100 * split['engine'] / both:.0f}%, receiver {split['receiver']:.1f} s = "
              f"{100 * split['receiver'] / both:.0f}%")
    total = args.events or (1_000 if args.quick else 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        spy_out = os.path.join(tmp, "receiver.spy") if args.profile else None
        r = bench_replay(users, args.events_per_user, args.concurrency, total, profile=spy_out)
        profile_lines = profile_report(spy_out) if spy_out and os.path.exists(spy_out) else []
    report_replay(r)
    if args.profile:
        print("receiver profile during the replay (py-spy):")
        print("\n".join(profile_lines or ["  (py-spy not installed, or no samples)"]))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
