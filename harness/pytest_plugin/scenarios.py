"""Scenarios as parametrized tests: ``pytest_generate_tests`` over the scenario files, and
``tiersync_scenario`` (a ``ScenarioCase``) that plays one against the target and fails with its story."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from ..catalog import catalog_dir
from .options import isolation, option, resolve_path
from .targets import TiersyncTarget


# ---- scenario parametrization ------------------------------------------------------------------------------
def _scenario_paths(metafunc: pytest.Metafunc) -> list[Path]:
    marker = metafunc.definition.get_closest_marker("tiersync_scenarios")
    if marker is not None and marker.args:
        base = Path(metafunc.definition.path).parent
        return [resolve_path(str(a), base) for a in marker.args]
    value, base = option(metafunc.config, "scenarios")
    if value:
        return [resolve_path(v, base) for v in value if v.strip()]
    return [catalog_dir()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tiersync_scenario" not in metafunc.fixturenames:
        return
    from tiersync.engine import ScenarioError, load_paths
    problem = None
    try:
        scenarios = load_paths(_scenario_paths(metafunc))
    except ScenarioError as exc:
        problem = "tiersync: the scenarios do not load:\n" + "\n".join(f"  {p}" for p in exc.problems)
    except FileNotFoundError as exc:
        problem = f"tiersync: {exc}"
    if problem:
        pytest.fail(problem, pytrace=False)
    if not scenarios:
        pytest.fail("tiersync: no scenarios (*.yaml, *.yml) under " +
                    ", ".join(map(str, _scenario_paths(metafunc))), pytrace=False)
    metafunc.parametrize("tiersync_scenario", scenarios, ids=[s.name for s in scenarios], indirect=True)



class ScenarioCase:
    """One scenario of the parametrization: ``.scenario``, ``.run()``, ``.result`` after it.

    Where it runs: the reference receiver and a remote target are the session's ``tiersync_target`` (the
    engine re-seeds the reference world before each scenario; a remote one cannot be). A command target is
    started afresh for each scenario (new simulators, new world, new process), since scenarios change the
    world (product metadata, extra endpoints, a one-time promotion code) and a process keeps its state;
    ``--tiersync-isolation session`` shares one instead (faster; scenarios may then disturb each other)."""

    def __init__(self, scenario, request: pytest.FixtureRequest):
        self.scenario = scenario
        self._request = request
        self.result = None

    @property
    def name(self) -> str:
        return self.scenario.name

    def _fresh(self) -> bool:
        config = self._request.config
        return bool(option(config, "target-cmd")[0]) and isolation(config) == "scenario"

    def run(self, *, seed: int | None = None, check: bool = True):
        """Play the scenario; with ``check`` (the default) fail the test when it fails, skip it when it does
        not apply to this target. Returns the engine's ``ScenarioResult``."""
        from tiersync.engine.runner import run_scenario
        from tiersync.engine.target import TargetError
        fresh = self._fresh()
        if fresh:
            pool = self._request.getfixturevalue("_tiersync_fresh_targets")
            problem = None
            try:
                target = TiersyncTarget(pool.take(prestart_next=_next_wants_scenario(self._request)))
            except TargetError as exc:
                problem = f"tiersync: cannot start the target: {exc}"
            if problem:
                pytest.fail(problem, pytrace=False)
        else:
            target = self._request.getfixturevalue("tiersync_target")
        try:
            self.result = run_scenario(self.scenario, target.target, seed=seed)
            message = format_failure(self.scenario, self.result, target) if not self.result.passed else ""
        finally:
            if fresh:
                target.close()
        if check:
            if self.result.passed and self.result.message.startswith("skipped"):
                pytest.skip(f"{self.name}: {self.result.message}")
            if self.result.advice:  # hardening advice, not a user-visible bug: reported, not failed
                warnings.warn(f"tiersync advice: {self.name}: {self.result.message}", stacklevel=2)
            elif not self.result.passed:
                pytest.fail(message, pytrace=False)
        return self.result

    def __repr__(self) -> str:
        return f"<tiersync scenario {self.name}>"


_NEXT_ITEM = pytest.StashKey[object]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    item.stash[_NEXT_ITEM] = nextitem  # to start the next scenario's target while this one runs
    yield


def _next_wants_scenario(request: pytest.FixtureRequest) -> bool:
    nextitem = request.node.stash.get(_NEXT_ITEM, None)
    return nextitem is not None and "tiersync_scenario" in getattr(nextitem, "fixturenames", ())


def format_failure(scenario, result, target: TiersyncTarget | None = None) -> str:
    lines = [f"scenario {scenario.name!r} failed: {result.message}",
             f"  catches: {scenario.catches}"]
    if scenario.path:
        lines.append(f"  file:    {scenario.path}")
    lines.append("  timeline:")
    for rec in result.timeline:
        mark = "ok  " if rec.ok else "FAIL"
        lines.append(f"    {mark} {rec.index:>2}. {rec.summary or rec.kind}"
                     f" ({rec.ms:.0f} ms)")
    failed = next((r for r in result.timeline if not r.ok), None)
    if failed is not None:
        lines.append(f"  failing step {failed.index} ({failed.kind}): {failed.message}")
        for ex in failed.exchanges[-3:]:
            lines.append(f"    {ex.method} {ex.url} -> {ex.status}: {ex.response_body[:300]}")
        for d in failed.deliveries[-5:]:
            lines.append(f"    delivery {d.get('type')} -> {d.get('status')} {d.get('outcome')} "
                         f"{(d.get('response_body') or d.get('error') or '')[:200]}")
            lines += [f"      | {c[:300]}" for c in (d.get("console") or [])[-12:]]  # a Worker's console
        if failed.state:
            lines.append(f"    state after the step: {json.dumps(failed.state, default=str)[:600]}")
    if target is not None:
        tail = target.log_tail()
        if tail:
            lines.append(f"  the target's output ({target.log_path}, last lines):")
            lines += ["    " + line for line in tail.splitlines()]
    return "\n".join(lines)


@pytest.fixture
def tiersync_scenario(request: pytest.FixtureRequest) -> ScenarioCase:
    if not hasattr(request, "param"):
        pytest.fail("tiersync_scenario is parametrized by the tiersync plugin; is it disabled (-p no:tiersync)?",
                    pytrace=False)
    return ScenarioCase(request.param, request)
