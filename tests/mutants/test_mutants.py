"""Proof that the scenario catalog catches bugs: every module of tests/mutants/ is the reference receiver
with one realistic bug, and the scenario whose `catches:` names that bug must fail against it, while the
reference receiver passes the whole catalog.

By default each mutant plays two scenarios: the one that names its bug (`CAUGHT_BY`, which must fail) and
the basic card upgrade (which must pass: the bugs are subtle, not broken receivers). The whole catalog
against every mutant takes ~25 s a mutant on two busy cores; `TIERSYNC_MUTANTS_FULL=1` does it (and then
only asks that the named scenario be among the failures), as does `python -m tests.mutants`, which
prints the kill matrix. The mutation score is printed at the end of the run (conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiersync.engine import load_paths, run_scenarios
from tiersync.engine.target import reference_target

from ._base import mutant_target, mutants

CATALOG = load_paths([Path(__file__).resolve().parents[2] / "scenarios"])
BY_NAME = {s.name: s for s in CATALOG}
MUTANTS = mutants()
SMOKE = "upgrade-pro-with-card"
FULL = os.environ.get("TIERSYNC_MUTANTS_FULL", "") not in ("", "0")


# the mutants (and the catalog's faults) make the receiver log errors on purpose
pytestmark = pytest.mark.usefixtures("quiet_receiver_log")


def _failures(scenarios, target) -> dict[str, str]:
    """Scenarios that did not hold, hardening advice included (--strict): a mutant without a livemode guard
    is caught by advice, and the reference receiver takes that advice."""
    try:
        run = run_scenarios(scenarios, target, strict=True)
    finally:
        target.close()
    return {r.name: r.message for r in run.results if not r.passed}


def test_every_mutant_names_a_scenario():
    assert len(MUTANTS) >= 10
    for name, mutant in MUTANTS.items():
        assert mutant.__doc__ and "Bug:" in mutant.__doc__, f"{name}: the docstring must say what the bug is"
        assert mutant.CAUGHT_BY in BY_NAME, f"{name}: CAUGHT_BY {mutant.CAUGHT_BY!r} is not a scenario"
        assert mutant.CAUGHT_BY in mutant.__doc__, f"{name}: the docstring must name {mutant.CAUGHT_BY!r}"


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_catalog_catches(name, record_property):
    mutant = MUTANTS[name]
    scenarios = CATALOG if FULL else [BY_NAME[mutant.CAUGHT_BY], BY_NAME[SMOKE]]
    failed = _failures(scenarios, mutant_target(mutant.create_app))
    record_property("mutant", name)
    record_property("caught", mutant.CAUGHT_BY in failed)
    record_property("failed", sorted(failed))
    assert failed, f"no scenario catches the mutant {name}"
    assert mutant.CAUGHT_BY in failed, (f"{mutant.CAUGHT_BY} passes against the mutant {name}; "
                                        f"failed instead: {sorted(failed)}")
    if not FULL:
        assert SMOKE not in failed, f"the mutant {name} breaks the basic upgrade: {failed[SMOKE]}"


def test_reference_passes_the_catalog():
    failed = _failures(CATALOG, reference_target())
    assert not failed, "the reference receiver fails:\n" + "\n".join(f"  {k}: {v}" for k, v in failed.items())
