"""A/B of the Stripe simulator's speed: this tree against another revision, in one sitting.

  .venv/bin/python bench/ab_stripe_api.py 4713f0e                 # this working tree (B) against 4713f0e (A)
  .venv/bin/python bench/ab_stripe_api.py 4713f0e --b main        # two revisions
  .venv/bin/python bench/ab_stripe_api.py 4713f0e --callgrind 100 # + server instructions per call

A revision is checked out into a temporary git worktree under /tmp (removed afterwards) and served by
`tiersync serve --stripe-only` from that tree, imported through a path mapping (no venv of its own: this
venv's dependencies serve both). Both servers get bench/stripe_api.py's workload through the same official
SDK client (customers.create with pm_card_visa + subscriptions.create on one monthly price: endpoints every
revision serves), in alternation ABBA ABBA..., so a busy spell on the shared machine falls on both. Per run:
server CPU per call (from /proc, all batches), and last batch / first batch (calls/s, as bench/stripe_api.py
reports it, and server CPU per call); with `--fill N`, the store is then filled to N customers with
subscriptions and one more batch measured against the first, and the server's peak RSS read.

`--callgrind K` adds a figure the load cannot move: the instructions the server process executes per call
(valgrind's callgrind) for K iterations of the same workload, the count of a run with 10 iterations subtracted
(start-up, set-up, shutdown).

Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


# ---- serving a tree -------------------------------------------------------------------------------

class TreeFinder(importlib.abc.MetaPathFinder):
    """Imports `tiersync` from a source tree, as pyproject's package-dir maps it (harness/ is `tiersync`)."""

    def __init__(self, tree: Path):
        self.roots = {"tiersync": tree / "harness", "tiersync.receiver": tree / "receiver",
                      "tiersync.scenarios": tree / "scenarios"}

    def find_spec(self, fullname, path=None, target=None):
        root = self.roots.get(fullname)
        if root is None:
            return None
        return importlib.util.spec_from_file_location(fullname, root / "__init__.py",
                                                      submodule_search_locations=[str(root)])


def use_tree(tree: Path):
    sys.meta_path.insert(0, TreeFinder(tree))


def wait_for_stop_signal():
    """`tiersync serve`'s wait for SIGTERM, looking at the flag every 0.2 s: under valgrind the signal may reach
    a server thread, and a main thread blocked in `Event.wait()` would never run the handler."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.2):
        pass


@contextmanager
def checked_out(rev: str):
    """`rev` in a temporary worktree, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ab-stripe-api-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), rev], check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)
        path.parent.rmdir()


def describe(tree: Path) -> str:
    out = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h %cs"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + (" + uncommitted changes" if dirty else "")


# ---- one timed run --------------------------------------------------------------------------------

def load_bench():
    spec = importlib.util.spec_from_file_location("bench_stripe_api", HERE / "stripe_api.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def timed_run(bench, side: str, tree: Path, args) -> dict:
    argv = [str(PYTHON), str(Path(__file__).resolve()), "--serve-tree", str(tree),
            "serve", "--port", "0", "--stripe-only", "--json"]
    run, late = bench.Run(side), None
    load0 = bench.loadavg()
    proc, server = bench.start_tiersync(argv)
    try:
        bench.run_workload(run, server, proc, use_plan=False, iterations=args.iterations, batch=args.batch)
        if args.fill > args.iterations + 1:
            bench.fill_store(server, args.fill - args.iterations - 1)
            late = bench.Run(side + "-late")  # the name goes into e-mail addresses
            bench.run_workload(late, server, proc, use_plan=False, iterations=args.batch, batch=args.batch)
            hwm_mb = proc.status_kb("VmHWM") / 1024
    finally:
        proc.stop()
    out = {"cpu_ms": run.overall_cpu_ms, "ratio": run.ratio, "cpu_ratio": run.cpu_ms(-1) / run.cpu_ms(0),
           "load": f"{load0.split()[0]}-{bench.loadavg().split()[0]}"}
    if late is not None:
        out["late_cpu_ratio"] = late.cpu_ms(0) / run.cpu_ms(0)
        out["hwm_mb"] = hwm_mb
    return out


# ---- instruction counts ---------------------------------------------------------------------------

def instructions(bench, tree: Path, iterations: int) -> int:
    """Instructions the server process executes in all (start-up, set-up, `iterations`, shutdown), under
    valgrind's callgrind, for the SDK workload."""
    with tempfile.TemporaryDirectory(prefix="ab-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(PYTHON),
                str(Path(__file__).resolve()), "--serve-tree", str(tree), "serve", "--port", "0", "--stripe-only",
                "--json"]
        os.environ["PYTHONHASHSEED"] = "0"  # the same dict layouts in every run
        proc, server = bench.start_tiersync(argv, timeout=600)  # ~50x slower under valgrind
        try:
            run = bench.Run("callgrind")
            bench.run_workload(run, server, proc, use_plan=False, iterations=iterations, batch=iterations)
            proc.p.terminate()  # tiersync serve stops on SIGTERM; callgrind writes its counts on the way out
            proc.p.wait(600)
        finally:
            proc.stop()
            del os.environ["PYTHONHASHSEED"]
        return int(re.search(r"^totals: (\d+)", out.read_text(), re.M).group(1))


def instructions_per_call(bench, tree: Path, iterations: int, base: int = 10) -> float:
    """Per API call: the count of a run with `base` + `iterations` iterations less that of one with `base`."""
    return (instructions(bench, tree, base + iterations) - instructions(bench, tree, base)) / (2 * iterations)


# ---- report ---------------------------------------------------------------------------------------

def spread(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-tree"]:  # the server process of one side
        use_tree(Path(argv[1]))
        from tiersync import cli
        cli._wait_for_stop_signal = wait_for_stop_signal
        return cli.main(argv[2:])
    ap = argparse.ArgumentParser(prog="bench/ab_stripe_api.py", description=__doc__.split("\n")[0])
    ap.add_argument("a", help="revision A (e.g. 4713f0e), checked out into a temporary worktree")
    ap.add_argument("--b", help="revision B (default: this working tree, uncommitted changes included)")
    ap.add_argument("--rounds", type=int, default=4, help="ABBA rounds: each side runs twice per round (0: none)")
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--fill", type=int, default=0, help="fill the store to N customers, then one more batch")
    ap.add_argument("--callgrind", type=int, default=0, metavar="K", help="instruction counts over K iterations")
    args = ap.parse_args(argv)
    bench = load_bench()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds through the finally blocks: worktrees go

    with ExitStack() as stack:
        trees = {"A": stack.enter_context(checked_out(args.a)),
                 "B": stack.enter_context(checked_out(args.b)) if args.b else ROOT}
        names = {side: describe(tree) for side, tree in trees.items()}
        for side, name in names.items():
            print(f"[ab] {side}: {name} ({trees[side]})", file=sys.stderr, flush=True)
        results: dict[str, list[dict]] = {"A": [], "B": []}
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        for r in range(args.rounds):
            for side in ("A", "B", "B", "A") if r % 2 == 0 else ("B", "A", "A", "B"):
                res = timed_run(bench, side, trees[side], args)
                results[side].append(res)
                print(f"[ab] round {r + 1} {side}: {res}", file=sys.stderr, flush=True)
        counts = {side: instructions_per_call(bench, tree, args.callgrind) for side, tree in trees.items()} \
            if args.callgrind else {}

    print(f"A/B, {started}, {args.rounds} ABBA rounds of {args.iterations} iterations (customers.create + "
          f"subscriptions.create, official SDK), batches of {args.batch}; median (min-max) over "
          f"{2 * args.rounds} runs per side" + (f"; server instructions per call over {args.callgrind} iterations "
                                                "(valgrind --tool=callgrind)" if counts else ""))
    head = (f"{'side':<4} | {'revision':<40}" + (f" | {'server CPU ms/call':>20} | {'last/first calls/s':>18} | "
            f"{'last/first CPU':>16}" if args.rounds else "")
            + (f" | {'late/first CPU @' + str(args.fill):>22} | {'peak RSS MB':>14}" if args.fill and args.rounds else "")
            + (f" | {'instructions/call':>17}" if counts else "")
            + (" | load (1 min) at start-end of each run" if args.rounds else ""))
    print(head)
    print("-" * len(head))
    for side in ("A", "B"):
        rs = results[side]
        line = f"{side:<4} | {names[side]:<40}"
        if rs:
            line += (f" | {spread([x['cpu_ms'] for x in rs], '.2f'):>20} | {spread([x['ratio'] for x in rs], '.2f'):>18}"
                     f" | {spread([x['cpu_ratio'] for x in rs], '.2f'):>16}")
        if args.fill and rs:
            line += (f" | {spread([x['late_cpu_ratio'] for x in rs], '.2f'):>22}"
                     f" | {spread([x['hwm_mb'] for x in rs], '.0f'):>14}")
        if counts:
            line += f" | {counts[side] / 1e6:>15.2f} M"
        print(line + (" | " + ", ".join(x["load"] for x in rs) if rs else ""))
    ratios = []
    if args.rounds:
        a = statistics.median(x["cpu_ms"] for x in results["A"])
        b = statistics.median(x["cpu_ms"] for x in results["B"])
        ratios.append(f"server CPU per call (medians) {b / a:.3f}")
    if counts:
        ratios.append(f"instructions per call {counts['B'] / counts['A']:.3f}")
    print("B / A: " + "; ".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
