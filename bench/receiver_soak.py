"""The reference receiver soaked: EVENTS signed deliveries sent at an even rate over SECONDS (20,000 in 60 s by
default, issue 17), then the error rate, latency percentiles and the receiver's memory at start and end.

Processes (all on 127.0.0.1, all stopped in a `finally`): the world (the Stripe and Clerk simulators with USERS
users, each with two customers holding one active subscription each: bench/receiver.py's), and the receiver,
`python -m tiersync.receiver` with a fresh SQLite file.

The deliveries, all signed before the clock starts, shuffled: HANDLED_SHARE of them `customer.subscription.updated`
for the bench's subscriptions (each a full sync: the customer's subscriptions and products re-read from Stripe,
the Clerk user read, and its metadata written, since each user's two customers alternate between pro and
enterprise), DUPLICATE_SHARE copies of earlier deliveries (answered from the dedupe), the rest unhandled types a
Stripe account also sends (invoice.*, payment_intent.*, charge.*: verified and acknowledged). Each is sent at its
scheduled time, at most IN_FLIGHT at once on keep-alive connections; a request is an error if it is not answered
2xx within TIMEOUT_S. Latency is reported from the request's own start and from its scheduled time (which adds
the wait for a free connection when the receiver falls behind).

Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib.util
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from stripe_api import Proc, free_port, loadavg  # noqa: E402

EVENTS = 20_000
SECONDS = 60.0
USERS = 64
HANDLED_SHARE = 0.2
DUPLICATE_SHARE = 0.05
IN_FLIGHT = 128
TIMEOUT_S = 20.0
UNHANDLED_TYPES = ("invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded",
                   "payment_intent.created", "payment_intent.succeeded", "charge.succeeded")


def _bench_receiver():
    """bench/receiver.py as a module (by path: the project's `receiver/` folder would shadow the name)."""
    spec = importlib.util.spec_from_file_location("bench_receiver", ROOT / "bench" / "receiver.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log(msg: str):
    print(f"[soak] {msg}", file=sys.stderr, flush=True)


def deliveries(br, users: list[dict], total: int, rng: random.Random) -> list[tuple[str, bytes, dict]]:
    """(kind, body, headers) for `total` sends, signed now, in the order they will be sent."""
    from tiersync.signer import build_request
    handled = int(total * HANDLED_SHARE)
    copies = int(total * DUPLICATE_SHARE)
    out = []
    for n in range(handled):
        user = users[n % len(users)]
        sub = user["subs"][(n // len(users)) % 2]  # each user's two customers in turn: every sync writes
        out.append(("handled", br.event(f"evt_soak_sub{n:08d}", "customer.subscription.updated", sub,
                                        {"metadata": {}})))
    for n in range(total - handled - copies):
        kind = UNHANDLED_TYPES[n % len(UNHANDLED_TYPES)]
        obj = {"id": f"in_soak{n:08d}", "object": kind.split(".")[0], "amount_due": 2900, "currency": "usd",
               "customer": users[n % len(users)]["subs"][0]["customer"], "status": "paid"}
        out.append(("unhandled", br.event(f"evt_soak_other{n:08d}", kind, obj)))
    rng.shuffle(out)
    # duplicates of deliveries sent earlier, each placed after its original (as Stripe's retries come later)
    for _ in range(copies):
        i = rng.randrange(len(out) // 2)
        out.insert(rng.randrange(i + 1, len(out) + 1), ("duplicate", out[i][1]))
    secret = br.SECRET
    signed = []
    for kind, ev in out:
        req = build_request(ev, secret, test_mode=True)
        signed.append((kind, req.body, req.headers))
    return signed


async def soak(url: str, sends: list, seconds: float, in_flight: int) -> dict:
    import aiohttp
    interval = seconds / len(sends)
    results = []  # (kind, status or error, latency ms from start, latency ms from schedule)
    limit = asyncio.Semaphore(in_flight)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight), timeout=timeout) as session:
        t0 = time.perf_counter() + 0.5
        loop = asyncio.get_running_loop()

        async def send(i: int, kind: str, body: bytes, headers: dict):
            scheduled = t0 + i * interval
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            async with limit:
                start = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as r:
                        await r.read()
                        outcome = r.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    outcome = type(exc).__name__
                end = time.perf_counter()
            results.append((kind, outcome, 1000 * (end - start), 1000 * (end - scheduled)))

        tasks = [loop.create_task(send(i, *s)) for i, s in enumerate(sends)]
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
    return {"results": results, "wall": wall}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def render(run: dict, rss: dict, cpu: float, args, load: tuple[str, str], final: dict) -> str:
    results = run["results"]
    bad = collections.Counter(str(o) for _, o, _, _ in results if not (isinstance(o, int) and 200 <= o < 300))
    out = [f"Receiver soak: {len(results)} signed deliveries at an even {len(results) / args.seconds:.0f}/s for "
           f"{args.seconds:.0f} s ({HANDLED_SHARE:.0%} customer.subscription.updated full syncs, {DUPLICATE_SHARE:.0%} "
           f"duplicates, the rest unhandled types), at most {args.in_flight} in flight, timeout {TIMEOUT_S:.0f} s; "
           "`python -m tiersync.receiver`, one process"]
    out.append(f"sent over {run['wall']:.1f} s (the last answer included): {len(results) / run['wall']:.0f} answered/s")
    out.append(f"errors (not 2xx in time): {sum(bad.values())} = {100 * sum(bad.values()) / len(results):.2f}%"
               + (f"  ({', '.join(f'{k} x{n}' for k, n in bad.most_common(4))})" if bad else ""))
    head = f"{'deliveries':<12} | {'count':>6} | {'p50 ms':>8} | {'p90 ms':>8} | {'p99 ms':>8} | {'max ms':>8} | " \
           f"{'p99 from schedule':>17}"
    out += [head, "-" * len(head)]
    for kind in ("all", "handled", "unhandled", "duplicate"):
        mine = [r for r in results if kind == "all" or r[0] == kind]
        lat, late = [r[2] for r in mine], [r[3] for r in mine]
        out.append(f"{kind:<12} | {len(mine):>6} | {pct(lat, 50):>8.1f} | {pct(lat, 90):>8.1f} | {pct(lat, 99):>8.1f} | "
                   f"{max(lat, default=float('nan')):>8.1f} | {pct(late, 99):>17.1f}")
    out.append(f"receiver RSS: {rss['start'] / 1024:.1f} MiB at start, {rss['peak'] / 1024:.1f} MiB peak (sampled), "
               f"{rss['end'] / 1024:.1f} MiB at end; receiver CPU {cpu:.1f} s "
               f"({1000 * cpu / len(results):.2f} ms per delivery)")
    out.append(f"after the soak: /health {final['health']}; users whose Clerk plan is what Stripe says for the "
               f"customer synced last: {final['right']}/{final['users']}")
    out.append(f"machine: {os.cpu_count()} cores shared by the load client, the receiver and the simulators; "
               f"load average (1/5/15 min) {load[0]} at start, {load[1]} at end")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/receiver_soak.py", description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=EVENTS)
    ap.add_argument("--seconds", type=float, default=SECONDS)
    ap.add_argument("--in-flight", type=int, default=IN_FLIGHT)
    ap.add_argument("--quick", action="store_true", help="2,000 events in 10 s")
    args, _ = ap.parse_known_args(argv)
    if args.quick:
        args.events, args.seconds = 2_000, 10.0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    br = _bench_receiver()
    load_start = loadavg()
    procs: list[Proc] = []
    tmp = tempfile.TemporaryDirectory(prefix="bench-soak-")
    try:
        port = free_port()
        log(f"starting the simulators and creating {USERS} users x 2 subscriptions ...")
        world, info = br.start_world(USERS, port)
        procs.append(world)
        env = {**info["env"], "RECEIVER_DATABASE": os.path.join(tmp.name, "receiver.sqlite")}
        recv = br.start_server([sys.executable, "-m", "tiersync.receiver"], "receiver", port, env)
        procs.append(recv)
        url = f"http://127.0.0.1:{port}/webhook/stripe"
        log(f"signing {args.events} deliveries ...")
        sends = deliveries(br, info["users"], args.events, random.Random(17))
        rss = {"start": recv.status_kb("VmRSS")}
        rss["peak"] = rss["start"]
        cpu0 = recv.cpu_seconds()
        log(f"sending for {args.seconds:.0f} s (load {loadavg()}) ...")

        async def with_sampling():
            async def sample():
                while True:
                    rss["peak"] = max(rss["peak"], recv.status_kb("VmRSS"))
                    await asyncio.sleep(0.5)
            sampler = asyncio.get_running_loop().create_task(sample())
            try:
                return await soak(url, sends, args.seconds, args.in_flight)
            finally:
                sampler.cancel()
        run = asyncio.run(with_sampling())
        cpu = recv.cpu_seconds() - cpu0
        rss["end"] = recv.status_kb("VmRSS")
        rss["peak"] = max(rss["peak"], rss["end"])
        import httpx
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        final = {"health": f"{health.status_code} {health.json()}", "users": len(info["users"]),
                 "right": _right_plans(info, port)}
    finally:
        for proc in reversed(procs):
            proc.stop()
        tmp.cleanup()
    print(render(run, rss, cpu, args, (load_start, loadavg()), final), flush=True)
    return 0


def _right_plans(info: dict, port: int) -> int:
    """Users whose Clerk metadata names one of their two customers with that customer's tier (the last sync's):
    plan and customer written together, never a mix of two syncs."""
    import httpx
    env = info["env"]
    tier_of = {}
    for user in info["users"]:
        for sub in user["subs"]:
            tier_of[sub["customer"]] = ("pro", "enterprise")[user["subs"].index(sub)]
    right = 0
    with httpx.Client(base_url=env["CLERK_API_URL"], headers={"Authorization": f"Bearer {env['CLERK_SECRET_KEY']}"},
                      timeout=10) as clerk:
        for user in info["users"]:
            meta = clerk.get(f"/v1/users/{user['id']}").json().get("public_metadata") or {}
            right += tier_of.get(meta.get("stripeCustomerId")) == meta.get("plan")
    return right


if __name__ == "__main__":
    sys.exit(main())
