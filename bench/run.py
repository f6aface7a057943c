"""`make bench`: run every benchmark in bench/ and print its tables.

Each benchmark is a module here with `main(argv) -> int`; add new ones to BENCHMARKS.
Options after `--` go to every benchmark, e.g. `.venv/bin/python bench/run.py --no-localstripe`.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCHMARKS = ["stripe_api", "webhook_delivery", "receiver", "engine"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    status = 0
    for name in BENCHMARKS:
        print(f"== bench/{name}.py ==", flush=True)
        t0 = time.monotonic()
        status |= importlib.import_module(name).main(argv)
        print(f"({name}: {time.monotonic() - t0:.0f}s)\n", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
