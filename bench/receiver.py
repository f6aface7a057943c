"""The reference receiver under load: verified throughput against a bare endpoint, and full-sync latency.

Processes (all on 127.0.0.1, all stopped in a `finally`):
  world     `tiersync.stack.Stack(receiver_port=None)`, tuned as `tiersync serve` is (`tiersync.tuning`): the
            Stripe and Clerk simulators and the seeded world, plus the bench's users: USERS Clerk users, each
            with two Stripe customers (pm_card_visa) holding one active subscription each (pro and enterprise,
            `metadata[userId]`);
  receiver  `python -m tiersync.receiver` (its production entry: uvicorn, log_level=warning, INFO logging to
            stderr) with the world's environment, a fresh SQLite file (WAL) and its own webhook secret;
  bare      a Starlette app with the one route POST /webhook/stripe answering 200 {"received": true}
            without reading anything, served by the same `uvicorn.run(...)` call.

(a) throughput: pre-signed deliveries (`tiersync.signer.build_request`, distinct event ids) of an unhandled
    type (`invoice.created`): what the receiver does for them is verify + parse + livemode check + answer
    200 (unhandled types return before the dedupe claim). Load: `wrk` (Debian's, if installed: -t1,
    CONNECTIONS keep-alive connections, a Lua script cycling the requests), else an aiohttp client with
    as many concurrent connections. bare and receiver alternate for ROUNDS rounds (the machine is shared:
    alternating keeps both under the same load); the ratio is per round.
(b) latency: `customer.subscription.updated` events signed for the receiver (before the clock starts, as
    (a)'s are), 16 in flight at once (distinct ids, so dedupe never short-circuits), on 16 keep-alive
    connections opened by the warm-up. Each worker owns USERS/16 users and sends each user's
    two subscriptions in turn, so every event changes the user's Clerk metadata (plan, customer,
    subscription): the receiver re-fetches the subscription and the customer's subscriptions from the
    Stripe simulator (prices expanded, products read by id), reads the Clerk user and PATCHes its metadata.
    Per-request latency percentiles from the client, and each process's CPU per event. Reported, not a target
    (issue 15: the reference receiver is plain, with no machinery kept for speed alone).
`--profile` samples the receiver with py-spy during (a)'s last round and (b) and prints where its time goes (file:function).

Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from pyspy import profile_report, profile_start, profile_stop  # noqa: E402
from stripe_api import Proc, free_port, loadavg, verdict, wait_listening  # noqa: E402

USERS = 64
CONCURRENT = 16
CONNECTIONS = 16
ROUNDS = 2
SECONDS = 8.0
QUICK_SECONDS = 3.0
FULL_EVENTS = 800
QUICK_FULL_EVENTS = 160
TARGET_RATIO = 0.5
SECRET = "whsec_benchreceiver0000000000000000"

WORLD = r"""
import json, signal, sys
import stripe
from tiersync.stack import Stack
from tiersync.tuning import for_serving
for_serving()  # this process serves the simulators, as `tiersync serve` does (GC thresholds, GIL switching)
users, secret, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
st = Stack(receiver_port=None).start()
env = st.receiver_env(port=port)
env["STRIPE_WEBHOOK_SECRET"] = secret
sdk = stripe.StripeClient(st.stripe_sim.test_key, base_addresses={"api": st.stripe_server.url},
                          max_network_retries=0).v1
out = []
for i in range(users):
    user = st.clerk_sim.create_user(f"bench{i}+clerk_test@example.com", password="pw-bench-123456789")
    subs = []
    for tier in ("pro", "enterprise"):
        cus = sdk.customers.create(params={"email": f"bench{i}-{tier}@example.com", "payment_method": "pm_card_visa",
                                           "invoice_settings": {"default_payment_method": "pm_card_visa"}})
        sub = sdk.subscriptions.create(params={"customer": cus.id, "items": [{"price": st.world.prices[tier]}],
                                               "metadata": {"userId": user["id"]}})
        assert sub.status == "active", sub.status
        subs.append(sub.to_dict())
    out.append({"id": user["id"], "subs": subs})
print(json.dumps({"env": env, "users": out}, default=str), flush=True)  # Decimal: Stripe sends a string
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    signal.pause()
"""

BARE = r"""
import logging, os, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def webhook(request):
    return JSONResponse({"received": True})
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
app = Starlette(routes=[Route("/webhook/stripe", webhook, methods=["POST"])])
uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ["PORT"]), log_level="warning")
"""


def log(msg: str):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ---- processes --------------------------------------------------------------------------------------

def start_world(users: int, receiver_port: int) -> tuple[Proc, dict]:
    proc = Proc([sys.executable, "-c", WORLD, str(users), SECRET, str(receiver_port)], "world", cwd=str(ROOT),
                stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.p.stdout], [], [], 120)
    line = proc.p.stdout.readline() if ready else ""
    if not line:
        err = proc.stderr_tail()
        proc.stop()
        raise RuntimeError(f"world process printed no JSON line: {err}")
    return proc, json.loads(line)


def start_server(argv: list[str], name: str, port: int, env: dict) -> Proc:
    proc = Proc(argv, name, cwd=str(ROOT), env={**os.environ, **env, "PORT": str(port)},
                stdout=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
    except Exception:
        proc.stop()
        raise
    return proc


# ---- requests ---------------------------------------------------------------------------------------

def event(event_id: str, event_type: str, obj: dict, previous: dict | None = None) -> dict:
    return {"id": event_id, "object": "event", "api_version": "2025-03-31.basil", "created": int(time.time()),
            "data": {"object": obj, **({"previous_attributes": previous} if previous else {})},
            "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
            "type": event_type}


def unhandled_requests(count: int) -> list[tuple[bytes, dict]]:
    from tiersync.signer import build_request
    out = []
    for i in range(count):
        obj = {"id": f"in_bench{i:08d}", "object": "invoice", "amount_due": 2900, "currency": "usd",
               "customer": f"cus_bench{i:08d}", "status": "draft", "lines": {"object": "list", "data": []}}
        req = build_request(event(f"evt_benchunhandled{i:08d}", "invoice.created", obj), SECRET, test_mode=True)
        out.append((req.body, req.headers))
    return out


def check(url: str, body: bytes, headers: dict, want: dict):
    import httpx
    r = httpx.post(url, content=body, headers=headers, timeout=10)
    got = r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text
    if r.status_code != 200 or any(got.get(k) != v for k, v in want.items()):
        raise RuntimeError(f"{url} answered {r.status_code} {got!r}, expected 200 with {want}")


def wrk_script(requests: list[tuple[bytes, dict]], path: str) -> str:
    lines = ["local reqs = {}", "init = function(args)"]
    for body, headers in requests:
        hdrs = ", ".join(f'["{k}"] = [==[{v}]==]' for k, v in headers.items())
        lines.append(f'  reqs[#reqs + 1] = wrk.format("POST", "{path}", {{{hdrs}}}, [==[{body.decode()}]==])')
    lines += ["end", "local i = 0", "request = function()", "  i = i % #reqs + 1", "  return reqs[i]", "end"]
    return "\n".join(lines) + "\n"


def run_wrk(url: str, script: str, seconds: float, connections: int) -> dict:
    res = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", script,
                          url], capture_output=True, text=True, timeout=seconds + 60)
    out = res.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if res.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed: {res.stdout[-500:]} {res.stderr[-500:]}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)

    def ms(label):
        m2 = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not m2:
            return float("nan")
        return float(m2.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m2.group(2)]
    total = re.search(r"(\d+) requests in", out)
    return {"rate": float(m.group(1)), "requests": int(total.group(1)) if total else 0,
            "bad": int(non2xx.group(1)) if non2xx else 0, "errors": errors.group(1).strip() if errors else "",
            "p50": ms(50), "p99": ms(99)}


async def _aiohttp_load(url: str, requests: list[tuple[bytes, dict]], seconds: float, connections: int) -> dict:
    import aiohttp
    lat, bad = [], 0
    stop = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker(session):
        nonlocal bad
        while time.perf_counter() < stop:
            body, headers = requests[next(counter) % len(requests)]
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as r:
                await r.read()
                bad += r.status != 200
            lat.append(1000 * (time.perf_counter() - t0))

    conn = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=conn) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        wall = time.perf_counter() - t0
    return {"rate": len(lat) / wall, "requests": len(lat), "bad": bad, "errors": "", "p50": pct(lat, 50),
            "p99": pct(lat, 99)}


def throughput(url: str, requests, script: str | None, seconds: float, connections: int) -> dict:
    if script:
        return run_wrk(url, script, seconds, connections)
    return asyncio.run(_aiohttp_load(url, requests, seconds, connections))


def _full_sync_requests(users: list[dict], total: int, concurrent: int, tag: str) -> list[list]:
    """Each load worker's signed deliveries, made before the clock starts (as wrk's are in (a)): signing is
    Stripe's work, and on this 2-core machine the load client's CPU would otherwise compete with the receiver's."""
    from tiersync.signer import build_request
    per = total // concurrent
    seq = iter(range(10**9))
    out = []
    for w in range(concurrent):
        mine, reqs = users[w::concurrent], []
        for n in range(per):
            sub = mine[n % len(mine)]["subs"][(n // len(mine)) % 2]
            reqs.append(build_request(event(f"evt_bench{tag}{next(seq):08d}", "customer.subscription.updated", sub,
                                            {"metadata": {}}), SECRET, test_mode=True))
        out.append(reqs)
    return out


async def _send_all(session, url: str, requests: list[list]) -> dict:
    lat, bad, tiers = [], collections.Counter(), collections.Counter()

    async def worker(mine: list):
        for req in mine:
            t0 = time.perf_counter()
            async with session.post(url, data=req.body, headers=req.headers) as r:
                got = await r.json(content_type=None)
                status = r.status
            lat.append(1000 * (time.perf_counter() - t0))
            if status != 200 or "tier" not in got:
                bad[f"{status} {json.dumps(got)[:120]}"] += 1
            else:
                tiers[got["tier"]] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(mine) for mine in requests))
    wall = time.perf_counter() - t0
    return {"events": len(lat), "wall": wall, "rate": len(lat) / wall, "p50": pct(lat, 50), "p90": pct(lat, 90),
            "p99": pct(lat, 99), "max": max(lat, default=float("nan")), "bad": bad, "tiers": tiers}


async def _full_sync(url: str, warm_up: list[list], requests: list[list], clock_starts, clock_stops) -> dict:
    """The warm-up, then the measured deliveries, on the same keep-alive connections (one per load worker):
    new connections, and the receiver's first calls on them, are not what (b) measures."""
    import aiohttp
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(requests))) as session:
        await _send_all(session, url, warm_up)
        clock_starts()
        try:
            return await _send_all(session, url, requests)
        finally:
            clock_stops()


def measure_full(recv: Proc, world: Proc, url: str, users: list[dict], total: int, concurrency: int, tag: str,
                 spy_path: str | None, label: str) -> dict:
    """(b) against one running receiver: a warm-up (connections, links, first PATCHes), then `total` events."""
    warm_up = _full_sync_requests(users, 2 * len(users), concurrency, f"warm{tag}")
    requests = _full_sync_requests(users, total, concurrency, f"run{tag}")
    marks, spy = {}, []

    def counters() -> dict:
        return {"recv": recv.cpu_seconds(), "sys": recv.cpu_split()[1], "world": world.cpu_seconds(),
                "own": time.process_time(), "wall": time.perf_counter()}

    def clock_starts():
        marks["start"] = counters()
        if spy_path:
            spy.append(profile_start(recv.pid, 3600, spy_path))

    def clock_stops():
        if spy:
            profile_stop(spy[0])
        marks["stop"] = counters()

    full = asyncio.run(_full_sync(url, warm_up, requests, clock_starts, clock_stops))
    used = {k: (marks["stop"][k] - marks["start"][k]) * 1000 / full["events"] for k in marks["start"]}  # ms/event
    full.update(client_cpu=used["own"], recv_cpu=used["recv"], recv_sys=used["sys"], world_cpu=used["world"])
    full["label"] = label
    log(f"(b) {label}: {full['events']} events in {marks['stop']['wall'] - marks['start']['wall']:.1f}s: "
        f"p50 {full['p50']:.1f} ms, p99 {full['p99']:.1f} ms (load {loadavg()})")
    return full


# ---- report -----------------------------------------------------------------------------------------

def render(rounds, full, cpu, load, tool, seconds, profile_lines, users, concurrency) -> str:
    out = [f"Receiver benchmark (a): unhandled invoice.created deliveries, signed, distinct ids, {tool}, "
           f"{CONNECTIONS} keep-alive connections, {seconds:.0f}s per measurement, bare and receiver alternating"]
    head = (f"{'round':>5} | {'bare req/s':>10} | {'bare p50/p99 ms':>15} | {'receiver req/s':>14} | "
            f"{'receiver p50/p99 ms':>19} | {'ratio':>5} | {'non-2xx':>7}")
    out += [head, "-" * len(head)]
    for i, (bare, recv) in enumerate(rounds):
        out.append(f"{i + 1:>5} | {bare['rate']:>10.0f} | {bare['p50']:>7.2f}/{bare['p99']:<7.2f} | "
                   f"{recv['rate']:>14.0f} | {recv['p50']:>9.2f}/{recv['p99']:<9.2f} | "
                   f"{recv['rate'] / bare['rate']:>5.2f} | {bare['bad'] + recv['bad']:>7}")
    ratio = sorted(r['rate'] / b['rate'] for b, r in rounds)[len(rounds) // 2]
    out.append(f"receiver CPU per unhandled delivery: {cpu['recv_a']:.3f} ms; bare: {cpu['bare_a']:.3f} ms")
    if profile_lines.get("a"):
        out.append("receiver profile during (a), last round (py-spy, samples of the thread holding the GIL: where the CPU goes):")
        out += profile_lines["a"]
    out.append("")
    out.append(f"Receiver benchmark (b): customer.subscription.updated, {concurrency} in flight, {full[0]['events']} "
               f"events over {users} users x 2 subscriptions (every event changes the user's Clerk metadata); "
               "`python -m tiersync.receiver`")
    width = max(len(f["label"]) for f in full)
    head = (f"{'receiver':<{width}} | {'events/s':>8} | {'p50 ms':>7} | {'p90 ms':>7} | {'p99 ms':>7} | {'max ms':>7} | "
            f"{'not 200+tier':>12} | {'receiver CPU/event (system)':>27} | {'simulators CPU/event':>20} | "
            f"{'load client CPU/event':>21}")
    out += [head, "-" * len(head)]
    for f in full:
        recv_cpu = f"{f['recv_cpu']:.2f} ms ({f['recv_sys']:.2f})"
        out.append(f"{f['label']:<{width}} | {f['rate']:>8.1f} | {f['p50']:>7.1f} | {f['p90']:>7.1f} | {f['p99']:>7.1f} | "
                   f"{f['max']:>7.1f} | {sum(f['bad'].values()):>12} | {recv_cpu:>27} | {f['world_cpu']:>17.2f} ms | "
                   f"{f['client_cpu']:>18.2f} ms")
        for what, n in f["bad"].most_common(3):
            out.append(f"  not ok x{n}: {what}")
    if profile_lines.get("b"):
        out.append("receiver profile during (b) (py-spy, samples of the thread holding the GIL: where the CPU goes):")
        out += profile_lines["b"]
    out.append(f"machine: {os.cpu_count()} cores shared by the load client, the receiver and the simulators; "
               f"load average (1/5/15 min) {load[0]} at start, {load[1]} at end")
    out.append("")
    out.append("Targets:")
    out.append(f"  (a) receiver >= {TARGET_RATIO:.0%} of bare (median round)  {ratio:8.2f}   "
               f"{verdict(ratio >= TARGET_RATIO)}")
    out.append("  (b) latency: measured above, no target (every event answered 200 with a tier: "
               f"{'yes' if not any(f['bad'] for f in full) else 'NO'})")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/receiver.py", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter measurements, fewer events")
    ap.add_argument("--seconds", type=float, default=None, help="per throughput measurement")
    ap.add_argument("--events", type=int, default=None, help="full-sync events for (b)")
    ap.add_argument("--no-wrk", action="store_true", help="use the aiohttp load client even if wrk is installed")
    ap.add_argument("--concurrency", type=int, default=CONCURRENT, help="deliveries in flight in (b)")
    ap.add_argument("--profile", action="store_true", help="py-spy the receiver during (a)'s last round and (b)")
    ap.add_argument("--profile-dir", default=None, help="keep py-spy's raw samples there")
    args, _ = ap.parse_known_args(argv)  # run.py passes every benchmark the same options
    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    total = args.events or (QUICK_FULL_EVENTS if args.quick else FULL_EVENTS)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    load_start = loadavg()
    procs: list[Proc] = []
    tmp = tempfile.TemporaryDirectory(prefix="bench-receiver-")
    try:
        recv_port, bare_port = free_port(), free_port()
        log(f"starting the simulators and creating {USERS} users x 2 subscriptions ...")
        world, info = start_world(USERS, recv_port)
        procs.append(world)
        # the rows say which settings they use: none come from the caller's environment
        env = {**info["env"], "RECEIVER_DATABASE": os.path.join(tmp.name, "receiver.sqlite")}
        recv = start_server([sys.executable, "-m", "tiersync.receiver"], "receiver", recv_port, env)
        procs.append(recv)
        bare = start_server([sys.executable, "-c", BARE], "bare", bare_port, {})
        procs.append(bare)
        recv_url, bare_url = (f"http://127.0.0.1:{p}/webhook/stripe" for p in (recv_port, bare_port))

        # (a)
        reqs = unhandled_requests(500)
        check(recv_url, *reqs[0], {"received": True, "handled": False})
        check(bare_url, *reqs[0], {"received": True})
        script, tool = None, f"aiohttp load client ({CONNECTIONS} concurrent)"
        if not args.no_wrk and shutil.which("wrk"):
            script = os.path.join(tmp.name, "unhandled.lua")
            Path(script).write_text(wrk_script(reqs, "/webhook/stripe"))
            tool = "wrk -t1"
        throughput(bare_url, reqs, script, 1, CONNECTIONS)  # warm-up
        throughput(recv_url, reqs, script, 1, CONNECTIONS)
        rounds, cpu = [], {"recv_a": 0.0, "bare_a": 0.0}
        spy_a, spy_out = (os.path.join(args.profile_dir or tmp.name, f"receiver-{x}.spy") for x in "ab")
        n_recv = n_bare = 0
        for i in range(ROUNDS):
            c0 = bare.cpu_seconds()
            b = throughput(bare_url, reqs, script, seconds, CONNECTIONS)
            cpu["bare_a"] += bare.cpu_seconds() - c0
            n_bare += b["requests"]
            c0 = recv.cpu_seconds()
            spy = profile_start(recv.pid, 3600, spy_a) if args.profile and i == ROUNDS - 1 else None
            try:
                r = throughput(recv_url, reqs, script, seconds, CONNECTIONS)
            finally:
                profile_stop(spy)
            cpu["recv_a"] += recv.cpu_seconds() - c0
            n_recv += r["requests"]
            rounds.append((b, r))
            log(f"(a) round {i + 1}: bare {b['rate']:.0f} req/s, receiver {r['rate']:.0f} req/s "
                f"(load {loadavg()})")
        cpu["recv_a"] = 1000 * cpu["recv_a"] / max(n_recv, 1)
        cpu["bare_a"] = 1000 * cpu["bare_a"] / max(n_bare, 1)

        # (b): the same receiver process
        users = info["users"]
        full = [measure_full(recv, world, recv_url, users, total, args.concurrency, "w1",
                             spy_out if args.profile else None, "reference receiver")]
        recv.stop()
        profile_lines = {}
        if args.profile:
            for part, path in (("a", spy_a), ("b", spy_out)):
                profile_lines[part] = (profile_report(path) if os.path.exists(path) else
                                       ["  py-spy gave no profile (not installed, or no ptrace permission)"])
    finally:
        for proc in reversed(procs):
            proc.stop()
        tmp.cleanup()
    print(render(rounds, full, cpu, (load_start, loadavg()), tool, seconds, profile_lines, len(users),
                 args.concurrency), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
