"""Webhook delivery throughput and lag: the Stripe simulator's deliverer against a trivial receiver.

Workload: the Stripe simulator runs in this process, tuned as `tiersync serve` tunes its own
(`tiersync.tuning.for_serving`: GC thresholds, a 1 ms GIL switch interval); each state
change is `customers.new_customer` + `sim.commit` (one `customer.created` event) on a fresh simulator with
one webhook endpoint (`enabled_events=["*"]`) pointing at a trivial receiver: a raw-ASGI app under uvicorn
in its own process on 127.0.0.1 that answers every POST with 200 `{"received": true}`.

For each `sim.webhooks.concurrency` (1 and 8):
  paced     N state changes at 1,000/s; achieved delivery rate (N / first commit -> last delivery) and the
            p50/p99 of `lag_ms` (commit -> 2xx response, from the deliverer's own log);
  flat-out  N state changes as fast as this process makes them; events/s (N / first commit -> last
            delivery) and lag percentiles (which then include queueing behind the backlog).
Then the floor: `stripe.Webhook.construct_event` verifying the same bodies and signature headers, one
thread, events/s (what a receiver must at least spend per event: HMAC + JSON parse + StripeObject).

Every process started here is stopped in a `finally`. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from stripe_api import Proc, free_port, loadavg, verdict, wait_listening  # noqa: E402

EVENTS = 10_000
QUICK_EVENTS = 2_000
PACE = 1000.0  # events/s for the paced run
CONCURRENCIES = (1, 8)
TARGET_RATE = 1000.0
TARGET_P50_MS = 5.0
TARGET_P99_MS = 50.0
RUN_BUDGET_S = 30.0  # a run's deliveries are cut off this long after its first state change (bounded runtime)
FLOOR_EVENTS = 2000

# The receiver: raw ASGI (no framework), reads the body, answers 200. Run with `python -c`.
RECEIVER = r"""
import sys, uvicorn
BODY = b'{"received": true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        msg = await receive()
        more = msg.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
            lifespan="off")
"""


def log(msg: str):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def start_receiver() -> tuple[Proc, str]:
    port = free_port()
    proc = Proc([sys.executable, "-c", RECEIVER, str(port)], "trivial receiver")
    try:
        wait_listening(port, proc)
    except Exception:
        proc.stop()
        raise
    return proc, f"http://127.0.0.1:{port}/webhook"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Bench:
    """A fresh simulator with one `*` endpoint at `url`, its deliverer at `concurrency`."""

    def __init__(self, url: str, concurrency: int):
        from tiersync.stripe_sim import StripeSim
        from tiersync.stripe_sim.resources import webhook_endpoints
        self.sim = StripeSim()
        self.sim.webhooks.concurrency = concurrency
        ctx = self.sim.context()
        with self.sim._lock:
            we = webhook_endpoints.create(ctx, {"url": url, "enabled_events": ["*"]})
            self.sim.commit(ctx)
        self.endpoint, self.secret = we["id"], we["secret"]
        self.n = 0

    def change(self):
        from tiersync.stripe_sim.resources.customers import new_customer
        ctx = self.sim.context()
        with self.sim._lock:
            new_customer(ctx, {"email": f"bench-{self.n}@example.com", "metadata": {"n": str(self.n)}})
            self.sim.commit(ctx)
        self.n += 1

    def run(self, count: int, pace: float | None) -> dict:
        """`count` state changes (at `pace`/s, or flat out), then wait for every delivery."""
        hooks = self.sim.webhooks
        start_log = len(hooks.log)
        t0 = time.perf_counter()
        if pace:
            for i in range(count):
                due = t0 + i / pace
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                self.change()
        else:
            for _ in range(count):
                self.change()
        produced = time.perf_counter() - t0
        done = hooks.wait_idle(max(1.0, RUN_BUDGET_S - produced))
        wall = time.perf_counter() - t0
        entries = list(hooks.log[start_log:])
        ok = [e for e in entries if e["outcome"] == "delivered"]
        lags = [e["lag_ms"] for e in ok]
        lat = [e["latency_ms"] for e in ok]
        return {"count": count, "delivered": len(ok), "other": len(entries) - len(ok), "wall": wall,
                "produced": produced, "rate": len(ok) / wall, "produce_rate": count / produced,
                "p50": pct(lags, 50), "p99": pct(lags, 99), "max": max(lags, default=float("nan")),
                "lat50": pct(lat, 50), "lat99": pct(lat, 99), "cut": not done}

    def signed_requests(self, count: int) -> list[tuple[bytes, str]]:
        """The last `count` events' bodies and signature headers, exactly as the deliverer renders them."""
        from tiersync.signer import build_request, render_event
        from tiersync.stripe_sim.resources.events import render
        events = list(self.sim.store.ns("test").table("event").rows.values())[-count:]
        now = int(time.time())
        out = []
        for event in events:
            req = build_request(render_event(render(event)), self.secret, timestamp=now, test_mode=True)
            out.append((req.body, req.headers["Stripe-Signature"]))
        return out

    def close(self):
        self.sim.webhooks.close()


def verify_floor(requests: list[tuple[bytes, str]], secret: str) -> dict:
    import stripe
    t0 = time.perf_counter()
    for body, header in requests:
        stripe.Webhook.construct_event(body, header, secret)
    wall = time.perf_counter() - t0
    return {"count": len(requests), "rate": len(requests) / wall, "us": 1e6 * wall / len(requests),
            "bytes": statistics.mean(len(b) for b, _ in requests)}


def render_report(results: list[tuple[int, str, dict]], floor: dict, recv_cpu: float, total: int,
                  load: tuple[str, str], http_client: str) -> str:
    out = [f"Webhook delivery: {results[0][2]['count']} customer.created events per run, in-process Stripe "
           f"simulator -> trivial uvicorn receiver (separate process, 127.0.0.1); deliverer HTTP client: "
           f"{http_client}"]
    head = (f"{'workers':>7} | {'run':>14} | {'events':>6} | {'delivered/s':>11} | {'changes/s':>9} | "
            f"{'lag p50 ms':>10} | {'lag p99 ms':>10} | {'lag max ms':>10} | {'HTTP p50 ms':>11} | "
            f"{'not 2xx':>7}")  # attempts that failed (a cut run's undelivered backlog is not counted)
    out += [head, "-" * len(head)]
    for conc, name, r in results:
        cut = "*" if r["cut"] else " "
        out.append(f"{conc:>7} | {name:>14} | {r['count']:>6} | {r['rate']:>10.0f}{cut} | {r['produce_rate']:>9.0f} | "
                   f"{r['p50']:>10.2f} | {r['p99']:>10.2f} | {r['max']:>10.1f} | {r['lat50']:>11.2f} | "
                   f"{r['other']:>7}")
    if any(r["cut"] for _, _, r in results):
        out.append(f"* cut off {RUN_BUDGET_S:.0f}s after the first state change with deliveries still pending: "
                   "delivered/s counts those delivered by then; lag percentiles cover only those (so understate); "
                   + ", ".join(f"workers={c} {n}: {r['count'] - r['delivered']} undelivered" for c, n, r in results
                               if r["cut"]))
    out.append("")
    out.append(f"floor: stripe.Webhook.construct_event on {floor['count']} of the same events "
               f"({floor['bytes']:.0f} B bodies), one thread: {floor['rate']:.0f} events/s "
               f"({floor['us']:.0f} us/event)")
    out.append(f"receiver process CPU: {1e3 * recv_cpu / max(total, 1):.3f} ms per delivery over {total} deliveries")
    out.append("delivered/s = events delivered / (first state change -> last 2xx); changes/s = how fast this "
               "process made the state changes (paced runs are capped at the pace). lag = commit -> 2xx "
               "response (deliverer's lag_ms); HTTP = request -> response (latency_ms).")
    out.append(f"machine: 2 cores shared with the receiver process; load average (1/5/15 min) {load[0]} at start, "
               f"{load[1]} at end")
    out.append("")
    out.append("Targets:")
    for conc, name, r in results:
        if name.startswith("paced"):
            out.append(f"  workers={conc} paced: delivered >= {TARGET_RATE:.0f}/s x 0.95  {r['rate']:8.0f}   "
                       f"{verdict(r['rate'] >= 0.95 * TARGET_RATE)}")
            out.append(f"  workers={conc} paced: lag p50 < {TARGET_P50_MS:.0f} ms          {r['p50']:8.2f}   "
                       f"{verdict(r['p50'] < TARGET_P50_MS)}")
            out.append(f"  workers={conc} paced: lag p99 < {TARGET_P99_MS:.0f} ms         {r['p99']:8.2f}   "
                       f"{verdict(r['p99'] < TARGET_P99_MS)}")
        else:
            out.append(f"  workers={conc} flat-out: >= {TARGET_RATE:.0f} events/s        {r['rate']:8.0f}   "
                       f"{verdict(r['rate'] >= TARGET_RATE)}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/webhook_delivery.py", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS} events per run instead of {EVENTS}")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCIES))
    args, _ = ap.parse_known_args(argv)  # run.py passes every benchmark the same options
    count = args.events or (QUICK_EVENTS if args.quick else EVENTS)
    from tiersync.tuning import for_serving
    for_serving()  # this process serves the simulator, as `tiersync serve` does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from tiersync.stripe_sim.webhooks import delivery
    http_client = getattr(delivery, "CLIENT_NAME", "httpx.AsyncClient")
    load_start = loadavg()
    results, floor, benches = [], None, []
    recv, url = start_receiver()
    try:
        cpu0 = recv.cpu_seconds()
        for conc in args.concurrency:
            for name, pace in (("paced 1000/s", PACE), ("flat-out", None)):
                bench = Bench(url, conc)  # a fresh simulator per run: no backlog carried over
                benches.append(bench)
                bench.run(min(200, count), None)  # warm-up: connections, first-call costs
                r = bench.run(count, pace)
                bench.close()  # drops whatever a cut-off run left pending
                log(f"workers={conc} {name}: {r['rate']:.0f} delivered/s, lag p50 {r['p50']:.2f} ms "
                    f"p99 {r['p99']:.2f} ms (load {loadavg()})")
                results.append((conc, name, r))
        recv_cpu = recv.cpu_seconds() - cpu0
        floor = verify_floor(benches[-1].signed_requests(min(count, FLOOR_EVENTS)), benches[-1].secret)
        log(f"construct_event floor: {floor['rate']:.0f} events/s")
    finally:
        for bench in benches:
            bench.close()
        recv.stop()
    total = sum(r["delivered"] for _, _, r in results) + len(benches) * min(200, count)
    print(render_report(results, floor, recv_cpu, total, (load_start, loadavg()), http_client), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
