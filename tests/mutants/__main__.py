"""`python -m tests.mutants [mutant ...]`: play the whole catalog against each mutant; print the kill matrix."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from tiersync.engine import load_paths, run_scenarios

from ._base import mutant_target, mutants


def main(argv: list[str]) -> int:
    logging.getLogger("tiersync.receiver").setLevel(logging.CRITICAL)
    catalog = load_paths([Path(__file__).resolve().parents[2] / "scenarios"])
    found = mutants()
    caught = 0
    for name in argv or sorted(found):
        mutant = found[name]
        started = time.perf_counter()
        target = mutant_target(mutant.create_app)
        try:
            run = run_scenarios(catalog, target, strict=True)  # advice (a livemode guard) counts here
        finally:
            target.close()
        failed = [r.name for r in run.results if not r.passed]
        caught += mutant.CAUGHT_BY in failed
        mark = "caught" if mutant.CAUGHT_BY in failed else "MISSED"
        print(f"{mark} {name} ({time.perf_counter() - started:.0f}s): named {mutant.CAUGHT_BY}; "
              f"{len(failed)}/{len(run.results)} scenarios fail: {', '.join(failed)}", flush=True)
    print(f"mutation score: {caught}/{len(argv or found)}")
    return 0 if caught == len(argv or found) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
