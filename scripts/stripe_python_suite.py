"""Run stripe-python's own test suite against the Stripe simulator, the way it runs against stripe-mock.

    .venv/bin/python scripts/stripe_python_suite.py [--sdist stripe-X.tar.gz] [--cache DIR] [--workers N]
                                                    [--json OUT.json] [-- PYTEST ARGS...]

The suite ships in the PyPI sdist of the SDK (tests/, 77 files). It is downloaded (`pip download --no-binary`)
for the version installed next to tiersync, unpacked into a cache folder outside the repository (default
~/.cache/tiersync/stripe-python-suite, or $TIERSYNC_SDK_SUITE_CACHE) and run there, unmodified, in a venv of
its own holding the test requirements stripe-python lists (deps/test-requirements.txt: pytest, pytest-mock,
pytest-xdist, httpx, aiohttp, anyio[trio]). Nothing of the suite is copied into tiersync.

The suite finds stripe-mock through its documented settings: `STRIPE_MOCK_HOST`/`STRIPE_MOCK_PORT`, checked by
one `GET /` that only has to answer; it uses the key `sk_test_123`. So an empty simulator is started (in this
process, on a port the OS picks, with that key) and the suite is pointed at it.

Prints passed/failed/skipped per test module, and the failures of the tests that need a server (those that
use the suite's `http_client_mock` fixture, which `--nomock` skips) by class:
  missing endpoint    the simulator answers Stripe's 404 "Unrecognized request URL"
  missing parameter   "Received unknown parameter" for a parameter Stripe takes
  no such object      an id the test never created (stripe-mock answers any id with fixture data)
  other refusal       another 4xx from the simulator (often stripe-mock fixture values a stateful API refuses)
  shape difference    the request succeeded but the test's assertion on the answer failed
  other               anything else (a connection error, a timeout)
This file is also the pytest plugin (`-p stripe_python_suite`) that records each test's outcome, so it only
imports the standard library at the top.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import venv
from collections import Counter, defaultdict
from pathlib import Path

# stripe-python's deps/test-requirements.txt for Python >= 3.9 (with the versions unpinned where the pin
# predates Python 3.11 wheels), and the SDK's own runtime requirements.
SUITE_REQUIREMENTS = ["pytest>=8", "pytest-mock>=2.0.0", "pytest-xdist>=1.31.0", "httpx>=0.27.0", "aiohttp",
                      "anyio[trio]>=4", "requests>=2.20", "typing_extensions>=4.5.0"]
SERVER_FIXTURE = "http_client_mock"
SUITE_KEY = "sk_test_123"  # tests/conftest.py's MOCK_API_KEY
CLASSES = ("missing endpoint", "missing parameter", "no such object", "other refusal", "shape difference",
           "other")


# ---- the pytest plugin (runs inside the suite's own venv) ----

def pytest_collection_modifyitems(session, config, items):
    for item in items:
        item.user_properties.append(("needs_server", SERVER_FIXTURE in getattr(item, "fixturenames", ())))


def _error_line(text: str) -> str:
    """The most telling line of a failure: the Stripe error raised, else the first `E ` line."""
    lines = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    for ln in lines:
        if "stripe._error." in ln or "Error: Request req_" in ln:
            return ln
    return lines[0] if lines else (text.strip().splitlines() or [""])[-1]


_RESULTS: dict[str, dict] = {}


def pytest_runtest_logreport(report):
    out = os.environ.get("STRIPE_SUITE_RESULTS")
    if not out:
        return
    entry = _RESULTS.setdefault(report.nodeid, {"outcome": "passed", "needs_server": False, "error": ""})
    entry["needs_server"] = entry["needs_server"] or dict(report.user_properties).get("needs_server", False)
    if report.skipped and report.when in ("setup", "call"):
        entry["outcome"] = "skipped"
    elif report.failed and entry["outcome"] != "failed":
        entry["outcome"] = "failed"
        crash = getattr(report.longrepr, "reprcrash", None)
        entry["error"] = (crash.message if crash else _error_line(report.longreprtext))[:400]


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("STRIPE_SUITE_RESULTS")
    if out and not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
        Path(out).write_text(json.dumps(_RESULTS, indent=0))


# ---- the runner (runs in tiersync's venv) ----

def classify(error: str) -> str:
    if "Unrecognized request URL" in error:
        return "missing endpoint"
    if "Received unknown parameter" in error:
        return "missing parameter"
    if "No such " in error or "resource_missing" in error:
        return "no such object"
    if re.search(r"stripe\._error\.\w+Error|Error: Request req_", error):
        return "other refusal"
    if re.match(r"(AssertionError|assert |KeyError|AttributeError|TypeError|IndexError|ValueError)", error):
        return "shape difference"
    return "other"


def default_cache() -> Path:
    return Path(os.environ.get("TIERSYNC_SDK_SUITE_CACHE") or Path.home() / ".cache/tiersync/stripe-python-suite")


def fetch_suite(cache: Path, version: str, sdist: Path | None) -> Path:
    """The unpacked sdist (its tests/ run from there), downloaded once per version."""
    root = cache / f"stripe-{version}"
    if (root / "tests" / "conftest.py").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    if sdist is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        f"stripe=={version}", "-d", str(cache)], check=True)
        sdist = cache / f"stripe-{version}.tar.gz"
    with tarfile.open(sdist) as tar:
        tar.extractall(cache, filter="data")
    if not (root / "tests" / "conftest.py").exists():
        raise SystemExit(f"error: {sdist} holds no stripe-{version}/tests/conftest.py")
    return root


def suite_python(cache: Path) -> Path:
    """A venv of the suite's own (not tiersync's: its pytest plugins stay out of the suite)."""
    env_dir = cache / "venv"
    python = env_dir / "bin" / "python"
    if not (env_dir / ".ready").exists():
        venv.create(env_dir, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *SUITE_REQUIREMENTS], check=True)
        (env_dir / ".ready").touch()
    return python


def start_simulator():
    """An empty simulator that takes the suite's key, `sk_test_123`. `tiersync serve --accept-any-key` takes
    only keys shaped like Stripe's (4+ characters after `sk_test_`), so the simulator is built in-process with
    that key as one of its own (`StripeSim(keys)`), served on a port the OS picks."""
    from tiersync.server import ThreadedServer
    from tiersync.stripe_sim import StripeSim

    sim = StripeSim({SUITE_KEY: "test"})
    server = ThreadedServer(sim, port=0).start()
    sim.public_url = server.url
    return server


def report(results: dict[str, dict]) -> None:
    per_module: dict[str, Counter] = defaultdict(Counter)
    classes: Counter = Counter()
    examples: dict[str, Counter] = defaultdict(Counter)
    for nodeid, r in results.items():
        module = nodeid.split("::", 1)[0]
        per_module[module][r["outcome"]] += 1
        if r["needs_server"]:
            per_module[module]["server"] += 1
            per_module[module]["server_" + r["outcome"]] += 1
            if r["outcome"] == "failed":
                cls = classify(r["error"])
                classes[cls] += 1
                examples[cls][re.sub(r"req_\w+|\b(\w{2,8})_[A-Za-z0-9]{8,}\b", lambda m: m.group(1) or "req",
                                     r["error"])[:150]] += 1
    width = max([len(m) for m in per_module] + [6])
    print(f"{'module':<{width}}  passed  failed  skipped  | need a server: passed / all")
    totals: Counter = Counter()
    for module in sorted(per_module):
        c = per_module[module]
        totals.update(c)
        print(f"{module:<{width}}  {c['passed']:>6}  {c['failed']:>6}  {c['skipped']:>7}  |"
              f"  {c['server_passed']:>5} / {c['server']}")
    print(f"{'total':<{width}}  {totals['passed']:>6}  {totals['failed']:>6}  {totals['skipped']:>7}  |"
          f"  {totals['server_passed']:>5} / {totals['server']}")
    print("\nfailures of tests that need a server, by class:")
    for cls in CLASSES:
        print(f"  {cls:<18} {classes[cls]:>5}")
        for text, n in examples[cls].most_common(8):
            print(f"      {n:>4}  {text}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdist", type=Path, help="a stripe-X.tar.gz already downloaded (else pip download)")
    ap.add_argument("--cache", type=Path, default=default_cache(), help="where the suite and its venv live")
    ap.add_argument("--workers", default="0", help="pytest-xdist workers (the suite's default is auto)")
    ap.add_argument("--json", type=Path, help="also write each test's outcome and error here")
    ap.add_argument("pytest_args", nargs="*", help="after --: passed to pytest (e.g. tests/api_resources)")
    args = ap.parse_args(argv)
    import stripe  # the SDK installed next to tiersync decides which suite runs

    cache = args.cache.resolve() / stripe.VERSION
    root = fetch_suite(cache, stripe.VERSION, args.sdist)
    python = suite_python(cache)
    results_file = cache / "results.json"
    results_file.unlink(missing_ok=True)
    server = start_simulator()
    port = int(server.url.rsplit(":", 1)[1].rstrip("/"))
    try:
        env = dict(os.environ, STRIPE_MOCK_HOST="127.0.0.1", STRIPE_MOCK_PORT=str(port),
                   STRIPE_SUITE_RESULTS=str(results_file),
                   PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parent), str(root)]))
        cmd = [str(python), "-m", "pytest", "-p", "stripe_python_suite", "-p", "no:cacheprovider", "-o", "addopts=",
               "-n", args.workers, "-q", "--no-header", "-rN", "--tb=native", *(args.pytest_args or ["tests"])]
        print(f"stripe-python {stripe.VERSION} suite in {root}, simulator on 127.0.0.1:{port}", flush=True)
        with open(cache / "pytest.log", "w") as log:
            subprocess.run(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        server.stop()
    if not results_file.exists():
        print("error: the suite recorded no results", file=sys.stderr)
        return 2
    results = json.loads(results_file.read_text())
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
