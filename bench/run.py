"""`make bench`: run every benchmark in bench/ and print its tables.

Each benchmark is a module here with `main(argv) -> int`; add new ones to BENCHMARKS.
Options after `--` go to every benchmark, e.g. `.venv/bin/python bench/run.py --no-localstripe`.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the project root first, bench/ last: `import tiersync.receiver` is the package, never bench/receiver.py
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

BENCHMARKS = ["stripe_api", "shape_cost", "webhook_delivery", "receiver", "engine", "worker"]


def load(name: str):
    """bench/<name>.py as module `bench_<name>`: bench/receiver.py must not shadow the `receiver` package."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    status = 0
    for name in BENCHMARKS:
        print(f"== bench/{name}.py ==", flush=True)
        t0 = time.monotonic()
        status |= load(name).main(argv)
        print(f"({name}: {time.monotonic() - t0:.0f}s)\n", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
