"""Issue 14's figures: a Cloudflare Worker as the target. (1) Worker start-up: bundling (esbuild) and
Miniflare/workerd until the Worker answers, repeated (target < 2 s); (2) the whole catalog against the seed's
Worker (../shared/third_party/plug-saas/api, with examples/plug-saas/tiersync.toml; target < 30 s), start-up
included and not.

    python bench/worker.py [--worker PATH] [--profile FILE] [--starts N]

The toolchain and the Worker's dependencies are installed (first use) before anything is timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_WORKER = ROOT.parent / "shared" / "third_party" / "plug-saas" / "api"
DEFAULT_PROFILE = ROOT / "examples" / "plug-saas" / "tiersync.toml"


def _children_cpu() -> float:
    """CPU seconds of waited-for child processes (esbuild, node, and workerd under node)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench_start(worker: Path, starts: int) -> list[dict]:
    """Start and stop the Worker `starts` times on a running stack: bundle seconds, start seconds (driver
    launched until GET / answered), total (WorkerRuntime.start())."""
    from tiersync.profile_load import load_profile
    from tiersync.stack import Stack
    from tiersync.worker.runtime import WorkerRuntime
    from tiersync.worker.target import routes_for
    stack = Stack(receiver_port=None, profile=load_profile(DEFAULT_PROFILE)).start()
    rows = []
    try:
        stack.seed_for_app("http://127.0.0.1:8787")
        bindings, routes = stack.app_env("http://127.0.0.1:8787", port=8787), routes_for(stack.info())
        WorkerRuntime(worker, bindings, routes).start().close()  # installs, warms the caches
        for _ in range(starts):
            c0 = _children_cpu()
            t0 = time.perf_counter()
            runtime = WorkerRuntime(worker, bindings, routes).start()
            total = time.perf_counter() - t0
            runtime.close()  # the children's CPU is counted once they are waited for
            rows.append({"bundle": runtime.timings.bundle_s, "start": runtime.timings.start_s, "total": total,
                         "cpu": _children_cpu() - c0})
    finally:
        stack.stop()
    return rows


def bench_catalog(worker: Path, profile_path: Path) -> dict:
    from tiersync.catalog import catalog_dir
    from tiersync.engine.loader import load_paths
    from tiersync.engine.runner import run_scenarios
    from tiersync.profile_load import load_profile
    from tiersync.worker.target import worker_target
    scenarios = load_paths([catalog_dir()])
    t0 = time.perf_counter()
    target = worker_target(str(worker), profile=load_profile(profile_path))
    started = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        run = run_scenarios(scenarios, target)
        scenarios_s = time.perf_counter() - t1
    finally:
        target.close()
    statuses = [getattr(r, "status", "passed" if r.passed else "failed") for r in run.results]
    return {"start": started, "scenarios": scenarios_s, "total": time.perf_counter() - t0,
            "count": len(run.results), **{s: statuses.count(s) for s in ("passed", "failed", "advice", "skipped")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", type=Path, default=DEFAULT_WORKER)
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE)
    parser.add_argument("--starts", type=int, default=5)
    args, _ = parser.parse_known_args(argv)
    if not args.worker.is_dir():
        print(f"bench/worker.py: no Worker at {args.worker} (../shared is absent): nothing measured")
        return 0
    rows = bench_start(args.worker, args.starts)
    print(f"Worker start-up, {len(rows)} starts (target < 2 s); load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print("| phase | median s | max s |\n|---|---|---|")
    for key, label in (("bundle", "bundle (esbuild)"), ("start", "driver launched (beside the bundling) until the Worker answers"),
                       ("total", "total"), ("cpu", "CPU of esbuild + node + workerd (start and stop)")):
        values = [r[key] for r in rows]
        print(f"| {label} | {statistics.median(values):.2f} | {max(values):.2f} |")
    c = bench_catalog(args.worker, args.profile)
    print(f"\nWhole catalog against {args.worker.name} (target < 30 s)")
    print("| scenarios | passed | failed | advice | skipped | start s | scenarios s | total s |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {c['count']} | {c['passed']} | {c['failed']} | {c['advice']} | {c['skipped']} | {c['start']:.1f} | "
          f"{c['scenarios']:.1f} | {c['total']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
