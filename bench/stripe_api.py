"""Stripe API throughput: tiersync's simulator vs localstripe, through the official SDK.

Workload (one iteration = 2 API calls, as an app makes them):
  customers.create(email, payment_method=pm_card_visa, invoice_settings[default_payment_method]=pm_card_visa)
  subscriptions.create(customer, items=[{price: <monthly price>}])

The SDK sends through its own PycurlClient (`--sdk-http` picks another of its clients: requests, urllib).
Reported per batch of 50 iterations: calls/s and the server process's CPU time per call (from
/proc/<pid>/stat, so the simulator's own cost is visible apart from the SDK's), for
  - one SDK client running the iterations one after another;
  - 2 SDK client processes at once, one per core, each doing half of every batch (the issue's "overall on
    this 2-core machine": one client alone is bound by the SDK's own CPU per call, not by the server);
  - localstripe (PyPI) with one client, in its own venv, bound to 127.0.0.1, if it can be had.
Then peak RSS (VmHWM) of the simulator after 10,000 customers with subscriptions (the fill after the timed
part uses raw keep-alive HTTP from 2 worker processes: same two POSTs, less client CPU).

Every process started here is stopped in a `finally`. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import multiprocessing
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TIERSYNC = ROOT / ".venv" / "bin" / "tiersync"
LS_VENV = BENCH / ".venv-localstripe"
LS_PYTHON = LS_VENV / "bin" / "python"
LS_LAUNCHER = BENCH / "localstripe_launcher.py"
LS_REQUIREMENT = "localstripe==1.15.10"

ITERATIONS = 300
BATCH = 50
FILL_TO = 10_000
TARGET_CALLS_PER_S = 300.0
TARGET_RATIO = 0.8
TARGET_RSS_MB = 300.0
LS_BUDGET_S = 100.0  # localstripe slows down as its store grows: no batch is started that would end past this
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---- processes --------------------------------------------------------------------------------------

def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = [int(c) for c in children.read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found += kids
            todo += kids
    return found


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process (all its threads) and of its live descendants (worker
    processes, e.g. the receiver's with RECEIVER_WORKERS > 1)."""
    user = system = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # ended meanwhile
            continue
        user, system = user + int(fields[11]) / CLK_TCK, system + int(fields[12]) / CLK_TCK
    return user, system


class Proc:
    """A child process that is always stopped: SIGTERM, then SIGKILL after a grace period."""

    def __init__(self, argv: list[str], name: str, **kw):
        self.name = name
        self.errfile = tempfile.TemporaryFile()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=self.errfile, **kw)

    @property
    def pid(self) -> int:
        return self.p.pid

    def stderr_tail(self, n: int = 1500) -> str:
        self.errfile.seek(0)
        return self.errfile.read().decode(errors="replace")[-n:]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all its threads)."""
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        return cpu_split(self.pid)

    def status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.errfile.close()


def start_tiersync(argv: list[str] | None = None, timeout: float = 30) -> tuple[Proc, dict]:
    """`tiersync serve --stripe-only` (or `argv`, which prints the same JSON line: bench/ab_stripe_api.py)."""
    argv = argv or [str(TIERSYNC), "serve", "--port", "0", "--stripe-only", "--json"]
    proc = Proc(argv, "tiersync", stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.p.stdout], [], [], timeout)
    line = proc.p.stdout.readline() if ready else ""
    if not line:
        err = proc.stderr_tail()
        proc.stop()
        raise RuntimeError(f"tiersync serve printed no JSON line: {err}")
    info = json.loads(line)["stripe"]
    return proc, {"url": info["url"], "key": info["test_key"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: Proc, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.p.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.p.returncode}): {proc.stderr_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def ensure_localstripe_venv() -> str | None:
    """Create bench/.venv-localstripe if missing. Returns None when usable, else why not."""
    if LS_PYTHON.exists():
        check = subprocess.run([str(LS_PYTHON), "-c", "import localstripe.server"], capture_output=True, text=True)
        if check.returncode == 0:
            return None
        log("bench/.venv-localstripe exists but cannot import localstripe; reinstalling")
    log(f"creating {LS_VENV.relative_to(ROOT)} and installing {LS_REQUIREMENT} (once)")
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(LS_VENV)], check=True, capture_output=True,
                       timeout=120)
        res = subprocess.run([str(LS_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              LS_REQUIREMENT], capture_output=True, text=True, timeout=240)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"could not create the venv: {exc}"
    if res.returncode != 0:
        lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
        return f"pip install {LS_REQUIREMENT} failed: {' | '.join(lines[-3:])[:300]}"
    return None


def start_localstripe(workdir: str) -> tuple[Proc, dict]:
    port = free_port()
    proc = Proc([str(LS_PYTHON), str(LS_LAUNCHER), str(port), os.path.join(workdir, "localstripe.pickle")],
                "localstripe", stdout=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
    except Exception:
        proc.stop()
        raise
    return proc, {"url": f"http://127.0.0.1:{port}", "key": "sk_test_bench_localstripe"}


# ---- the workload -----------------------------------------------------------------------------------

@dataclass
class Run:
    name: str
    batches: list[tuple[int, float, float]] = field(default_factory=list)  # (calls, wall s, server cpu s)
    client_cpu: float = 0.0  # this process's CPU seconds over the timed batches (the SDK's side)
    wall: float = 0.0  # clock time of the whole run, when batches overlap (several clients)
    note: str = ""
    error: str = ""

    @property
    def calls(self) -> int:
        return sum(b[0] for b in self.batches)

    @property
    def seconds(self) -> float:
        return sum(b[1] for b in self.batches)

    def rate(self, i: int) -> float:
        calls, wall, _ = self.batches[i]
        return calls / wall

    def cpu_ms(self, i: int) -> float:
        calls, _, cpu = self.batches[i]
        return 1000 * cpu / calls

    @property
    def overall(self) -> float:
        return self.calls / (self.wall or self.seconds) if self.batches else 0.0

    @property
    def overall_cpu_ms(self) -> float:
        return 1000 * sum(b[2] for b in self.batches) / self.calls if self.batches else 0.0

    @property
    def ratio(self) -> float:
        return self.rate(-1) / self.rate(0) if len(self.batches) > 1 else 0.0


SDK_HTTP = {"pycurl": "PycurlClient", "requests": "RequestsClient", "urllib": "UrllibClient"}
# --sdk-http; pycurl is not a dependency of tiersync any more: `pip install -e '.[bench]'` (or '.[dev]')
DEFAULT_SDK_HTTP = "pycurl" if importlib.util.find_spec("pycurl") else "requests"
sdk_http = DEFAULT_SDK_HTTP


def sdk_client(server: dict):
    """The official SDK with one of its own HTTP clients (`sdk_http`). pycurl by default: the SDK's
    RequestsClient costs ~3.5-4 ms of client CPU per call here, which alone caps one sequential client
    near 250 calls/s whatever the server does; its PycurlClient (one keep-alive libcurl handle per client,
    which is how it is used here: one client per thread) costs a fraction of that. Otherwise the SDK's
    defaults: with max_network_retries=2 it sends an Idempotency-Key on every POST, as an app's calls would."""
    import stripe
    http_client = getattr(stripe, SDK_HTTP[sdk_http])()
    return stripe.StripeClient(server["key"], base_addresses={"api": server["url"]}, http_client=http_client).v1


def setup_catalog(v1, use_plan: bool) -> dict:
    """One product + one monthly price; returns the subscription item spec."""
    product = v1.products.create(params={"name": "Bench plan"})
    if use_plan:  # localstripe has no /v1/prices
        plan = v1.plans.create(params={"product": product.id, "amount": 1500, "currency": "usd",
                                       "interval": "month"})
        return {"plan": plan.id}
    price = v1.prices.create(params={"product": product.id, "unit_amount": 1500, "currency": "usd",
                                     "recurring": {"interval": "month"}})
    return {"price": price.id}


def iteration(v1, item: dict, tag: str, i: int):
    cus = v1.customers.create(params={"email": f"bench-{tag}-{i}@example.com", "payment_method": "pm_card_visa",
                                      "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = v1.subscriptions.create(params={"customer": cus.id, "items": [dict(item)]})
    if sub.customer != cus.id:
        raise RuntimeError(f"subscription {sub.id} names customer {sub.customer}, expected {cus.id}")


def run_workload(run: Run, server: dict, proc: Proc, *, use_plan: bool, iterations: int, batch: int,
                 budget: float | None = None):
    v1 = sdk_client(server)
    item = setup_catalog(v1, use_plan)
    iteration(v1, item, "warmup", 0)  # connection + first-call costs out of the timed part
    for b in range(iterations // batch):
        if budget is not None and run.batches and run.seconds + 1.25 * run.batches[-1][1] > budget:
            run.note = (f"stopped after batch {b} of {iterations // batch}: the next batch would end past the "
                        f"{budget:.0f}s budget for this server (its last batch took {run.batches[-1][1]:.0f}s); "
                        "its 'all' row covers the batches run")
            break
        cpu0, own0, t0 = proc.cpu_seconds(), time.process_time(), time.perf_counter()
        for i in range(batch):
            iteration(v1, item, run.name, b * batch + i)
        wall, cpu = time.perf_counter() - t0, proc.cpu_seconds() - cpu0
        run.client_cpu += time.process_time() - own0
        run.batches.append((2 * batch, wall, cpu))
        log(f"{run.name}: batch {b + 1}: {2 * batch / wall:.1f} calls/s, server {1000 * cpu / (2 * batch):.2f} ms "
            "CPU/call")


def _sdk_worker(server: dict, server_pid: int, item: dict, tag: str, batches: int, per_batch: int, go, results):
    try:
        v1 = sdk_client(server)
        iteration(v1, item, tag, -1)  # warm the connection before the clock starts
        results.put(("ready", tag))
        go.wait(60)
        shares = []  # (wall s, server CPU s) of each of this client's shares
        for b in range(batches):
            t0, cpu0 = time.perf_counter(), sum(cpu_split(server_pid))
            for i in range(per_batch):
                iteration(v1, item, tag, b * per_batch + i)
            shares.append((time.perf_counter() - t0, sum(cpu_split(server_pid)) - cpu0))
        results.put(("done", shares))
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _expect(results, want: str, timeout: float):
    kind, detail = results.get(timeout=timeout)
    if kind != want:
        raise RuntimeError(f"client process: {detail}")
    return detail


def run_parallel_sdk(run: Run, server: dict, proc: Proc, clients: int, iterations: int, batch: int):
    """The workload from `clients` SDK processes at once (one per core), `iterations` in all. Batch k is every
    client's k-th share of `batch` iterations: its rate is the sum of the clients' rates over their shares
    (they run side by side); its server CPU per call is the server's CPU during a share (spent on every
    client's calls) over the calls of all clients in that time, averaged over the clients."""
    ctx = multiprocessing.get_context("fork")
    item = setup_catalog(sdk_client(server), use_plan=False)
    go, results = ctx.Event(), ctx.Queue()
    per_batch = batch // clients
    batches = iterations // batch
    procs = [ctx.Process(target=_sdk_worker, args=(server, proc.pid, item, f"par{c}", batches, per_batch, go, results),
                         daemon=True) for c in range(clients)]
    try:
        for p in procs:
            p.start()
        for _ in procs:
            _expect(results, "ready", 60)
        t0 = time.perf_counter()
        go.set()
        shares = [_expect(results, "done", 300) for _ in procs]
        wall = time.perf_counter() - t0
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join()
    calls = 2 * per_batch * clients
    for b in range(batches):
        rate = sum(2 * per_batch / mine[b][0] for mine in shares)
        cpu_per_call = sum(mine[b][1] / (mine[b][0] * rate) for mine in shares) / clients
        run.batches.append((calls, calls / rate, cpu_per_call * calls))
    run.wall = wall


def _fill_worker(server: dict, price: str, tag: str, n: int, results):
    """Raw keep-alive HTTP: the same two POSTs per customer, with none of the SDK's client-side cost."""
    u = urlsplit(server["url"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Authorization": f"Bearer {server['key']}", "Content-Type": "application/x-www-form-urlencoded"}
    failures = 0
    try:
        for i in range(n):
            conn.request("POST", "/v1/customers", urlencode({
                "email": f"fill-{tag}-{i}@example.com", "payment_method": "pm_card_visa",
                "invoice_settings[default_payment_method]": "pm_card_visa"}), headers)
            resp = conn.getresponse()
            body = json.loads(resp.read())
            if resp.status != 200:
                failures += 1
                continue
            conn.request("POST", "/v1/subscriptions", urlencode({"customer": body["id"], "items[0][price]": price}),
                         headers)
            resp = conn.getresponse()
            resp.read()
            failures += resp.status != 200
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        results.put(("error", f"{type(exc).__name__}: {exc}"))
        return
    finally:
        conn.close()
    results.put(("done", failures))


def fill_store(server: dict, count: int, workers: int = 2) -> tuple[float, int]:
    """Add `count` customers with subscriptions. Returns (seconds, failed calls)."""
    ctx = multiprocessing.get_context("fork")
    price = setup_catalog(sdk_client(server), use_plan=False)["price"]
    results = ctx.Queue()
    shares = [count // workers + (1 if w < count % workers else 0) for w in range(workers)]
    procs = [ctx.Process(target=_fill_worker, args=(server, price, f"w{w}", n, results), daemon=True)
             for w, n in enumerate(shares)]
    t0 = time.perf_counter()
    failures = 0
    try:
        for p in procs:
            p.start()
        for _ in procs:
            kind, detail = results.get(timeout=600)
            if kind != "done":
                raise RuntimeError(f"fill worker: {detail}")
            failures += detail
        return time.perf_counter() - t0, failures
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join()


# ---- report -----------------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def render(ts: Run, ls: Run | None, ls_skip: str, parallel: Run | None, fill: dict, iterations: int,
           batch: int, load: tuple[str, str], late: Run | None = None) -> str:
    out = []
    out.append(f"Stripe API benchmark: {iterations} iterations x (customers.create + subscriptions.create), "
               f"official SDK (stripe {_stripe_version()}, its {SDK_HTTP[sdk_http]}); batches of {batch} "
               f"iterations = {2 * batch} calls. '1 client': one SDK client, sequential; '2 clients': two SDK "
               f"client processes at once (one per core), each doing half of every batch")
    runs = [(r, label, len(label) + 7) for r, label in ((ts, "tiersync 1 client"), (parallel, "tiersync 2 clients"),
                                                        (ls, "localstripe 1 client")) if r is not None and r.batches]
    head = f"{'batch':>5} | {'iterations':>11}" + "".join(
        f" | {label + ' call/s':>{w}} | {'server CPU ms/call':>18}" for _, label, w in runs)
    out.append(head)
    out.append("-" * len(head))
    for i in range(max(len(r.batches) for r, _, _ in runs)):
        line = f"{i + 1:>5} | {f'{i * batch + 1}-{(i + 1) * batch}':>11}"
        for r, _, w in runs:
            line += (f" | {r.rate(i):>{w}.1f} | {r.cpu_ms(i):>18.2f}" if i < len(r.batches)
                     else f" | {'-':>{w}} | {'-':>18}")
        out.append(line)
    out.append("-" * len(head))
    line = f"{'all':>5} | {f'1-{len(ts.batches) * batch}':>11}"
    for r, _, w in runs:
        line += f" | {r.overall:>{w}.1f} | {r.overall_cpu_ms:>18.2f}"
    out.append(line)
    line = f"{'last/first':>19}"
    for r, _, w in runs:
        line += f" | {r.ratio:>{w}.2f} | {r.cpu_ms(-1) / r.cpu_ms(0):>18.2f}"
    out.append(line)
    out.append("")
    if ls is None:
        out.append(f"localstripe: skipped: {ls_skip}")
    else:
        out.append(f"localstripe {LS_REQUIREMENT.split('==')[1]}: same SDK and customer params (accepted as sent); "
                   "it has no /v1/prices, so the monthly price is a /v1/plans plan and the item is "
                   "items[0][plan]; bound to 127.0.0.1 by bench/localstripe_launcher.py (its CLI binds ::), "
                   "empty store, pickling to a private file after every write as its CLI does, no access log.")
        if ls.note:
            out.append(f"localstripe: {ls.note}")
        if ls.error:
            out.append(f"localstripe: error: {ls.error}")
    if ts.batches:
        client_ms = 1000 * ts.client_cpu / ts.calls
        out.append(f"tiersync: per call {1000 / ts.overall:.2f} ms wall; {ts.overall_cpu_ms:.2f} ms server CPU, "
                   f"{client_ms:.2f} ms SDK client CPU (this process), the rest waiting (loopback, scheduling). "
                   f"With a zero-cost server one sequential SDK client would top out near {1000 / client_ms:.0f} "
                   "calls/s here.")
    if fill:
        out.append(f"tiersync store fill: +{fill['added']} customers with subscriptions ({fill['total']} in total) "
                   f"in {fill['seconds']:.1f}s via raw keep-alive HTTP from 2 worker processes "
                   f"({2 * fill['added'] / fill['seconds']:.0f} calls/s, {fill['failures']} failed calls); "
                   f"server RSS now {fill['rss_mb']:.0f} MB, peak (VmHWM) {fill['hwm_mb']:.0f} MB.")
    if late is not None and late.batches:
        out.append(f"tiersync, one more batch of {batch} SDK iterations with {fill['total']} customers in the store: "
                   f"{late.rate(0):.1f} calls/s, {late.cpu_ms(0):.2f} ms server CPU/call "
                   f"({late.cpu_ms(0) / ts.cpu_ms(0):.2f}x batch 1's).")
    out.append(f"machine: {os.cpu_count()} cores; load average (1/5/15 min) {load[0]} at start, {load[1]} at end "
               "(other work on the machine slows both servers and the SDK client; server CPU ms/call is the "
               "steadier figure).")
    out.append("")
    out.append("Targets (tiersync; 'overall on this 2-core machine': the 2-client run, one client per core):")
    if parallel is not None and parallel.batches:
        out.append(f"  overall >= {TARGET_CALLS_PER_S:.0f} calls/s (2 clients)      {parallel.overall:8.1f}   "
                   f"{verdict(parallel.overall >= TARGET_CALLS_PER_S)}")
        out.append(f"  last/first batch >= {TARGET_RATIO:.1f} (2 clients)      {parallel.ratio:8.2f}   "
                   f"{verdict(parallel.ratio >= TARGET_RATIO)}")
    else:
        out.append("  2-client run: not measured (--no-parallel)")
    out.append(f"  one sequential client, for reference: {ts.overall:.1f} calls/s "
               f"({'at or above' if ts.overall >= TARGET_CALLS_PER_S else 'below'} {TARGET_CALLS_PER_S:.0f}), "
               f"last/first {ts.ratio:.2f}")
    if fill:
        out.append(f"  peak RSS @ {fill['total']} subs < {TARGET_RSS_MB:.0f} MB   {fill['hwm_mb']:6.0f} MB   "
                   f"{verdict(fill['hwm_mb'] < TARGET_RSS_MB)}")
    else:
        out.append("  peak RSS: not measured (--fill 0)")
    return "\n".join(out)


def _stripe_version() -> str:
    import stripe
    return stripe.VERSION


# ---- entry ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/stripe_api.py", description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=ITERATIONS)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--fill", type=int, default=FILL_TO, help="customers in the store for the RSS figure (0: skip)")
    ap.add_argument("--no-localstripe", action="store_true", help="skip the localstripe comparison")
    ap.add_argument("--no-parallel", action="store_true", help="skip the 2-client-process run")
    ap.add_argument("--sdk-http", choices=sorted(SDK_HTTP), default=DEFAULT_SDK_HTTP,
                    help="the SDK's HTTP client for the benchmark's clients (default pycurl when installed)")
    args = ap.parse_args(argv)
    global sdk_http
    sdk_http = args.sdk_http

    # SIGTERM (e.g. from make's parent) unwinds through the finally blocks below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    ts = Run("tiersync")
    parallel, fill, late = None, {}, None
    load_start = loadavg()
    proc, server = start_tiersync()
    try:
        log(f"tiersync simulator on {server['url']} (pid {proc.pid})")
        run_workload(ts, server, proc, use_plan=False, iterations=args.iterations, batch=args.batch)
        created = args.iterations + 1
        if not args.no_parallel:
            parallel = Run("tiersync-2")
            run_parallel_sdk(parallel, server, proc, 2, args.iterations, args.batch)
            created += args.iterations + 2
            log(f"tiersync, 2 SDK clients: {parallel.overall:.1f} calls/s")
        if args.fill > created:
            log(f"filling the store to {args.fill} customers with subscriptions ...")
            seconds, failures = fill_store(server, args.fill - created)
            fill = {"added": args.fill - created, "total": args.fill, "seconds": seconds, "failures": failures,
                    "rss_mb": proc.status_kb("VmRSS") / 1024, "hwm_mb": proc.status_kb("VmHWM") / 1024}
            log(f"fill done in {seconds:.1f}s, peak RSS {fill['hwm_mb']:.0f} MB")
            late = Run("tiersync-late")
            run_workload(late, server, proc, use_plan=False, iterations=args.batch, batch=args.batch)
    finally:
        proc.stop()

    ls, ls_skip = None, ""
    if args.no_localstripe:
        ls_skip = "--no-localstripe"
    else:
        ls_skip = ensure_localstripe_venv() or ""
    if not ls_skip:
        ls = Run("localstripe")
        with tempfile.TemporaryDirectory(prefix="bench-localstripe-") as workdir:
            try:
                lproc, lserver = start_localstripe(workdir)
            except Exception as exc:  # noqa: BLE001 - any failure to start means "skipped"
                ls, ls_skip = None, f"could not start: {exc}"
            else:
                try:
                    log(f"localstripe on {lserver['url']} (pid {lproc.pid})")
                    run_workload(ls, lserver, lproc, use_plan=True, iterations=args.iterations, batch=args.batch,
                                 budget=LS_BUDGET_S)
                except Exception as exc:  # noqa: BLE001 - report, keep tiersync's figures
                    ls.error = f"{type(exc).__name__}: {exc}"[:300]
                finally:
                    lproc.stop()
        if ls is not None and not ls.batches:
            ls, ls_skip = None, f"no batch completed ({ls.error or ls.note})"

    print(render(ts, ls, ls_skip, parallel, fill, args.iterations, args.batch, (load_start, loadavg()), late), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
