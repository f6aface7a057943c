"""Play scenarios against a target, one after another, recording a timeline per scenario."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from .context import RunContext, StepFailed, StepRecord
from .expectations import clerk_metadata, run_expect
from .model import Scenario
from .steps import RUNNERS
from .target import Target


@dataclass
class ScenarioResult:
    name: str
    catches: str
    group: str
    path: str | None
    passed: bool
    message: str = ""
    failed_step: int | None = None
    seconds: float = 0.0
    timeline: list[StepRecord] = field(default_factory=list)
    skipped: bool = False
    advice: bool = False  # did not hold, but it is hardening advice, not a user-visible bug (no --strict)
    consequence: str | None = None
    evidence: str = ""  # what was seen, for a failure or advice

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else "advice" if self.advice else "passed" if self.passed else "failed"


@dataclass
class RunResult:
    target: str
    results: list[ScenarioResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r.passed and not r.skipped for r in self.results)

    @property
    def skipped(self) -> int:
        return sum(r.skipped for r in self.results)

    @property
    def advised(self) -> int:
        return sum(r.advice for r in self.results)

    @property
    def failed(self) -> int:
        return sum(not r.passed and not r.advice for r in self.results)

    @property
    def ok(self) -> bool:
        return self.failed == 0


def describe(step) -> str:
    fields = step.args.model_dump(exclude_defaults=True, by_alias=True)
    return f"{step.kind} " + ", ".join(f"{k}={v}" for k, v in fields.items())


def _begin(ctx: RunContext):
    ctx.started_at = ctx.sim_post("/_sim/webhooks/advance", {"seconds": 0})["now"]
    ctx.started_wall = time.time()
    clock = ctx.stripe.v1.test_helpers.test_clocks.create(params={"frozen_time": int(time.time()),
                                                                  "name": ctx.scenario_name[:300]})
    ctx.clock_id = clock.id
    ctx.sim_post("/_sim/test_clocks/default", {"test_clock": clock.id})
    ctx.delivery_mark = ctx.scenario_mark = ctx.delivery_count()


def _end(ctx: RunContext):
    for call in (lambda: ctx.http.delete(f"{ctx.target.stripe_url}/_sim/webhooks/faults"),
                 lambda: ctx.http.delete(f"{ctx.target.stripe_url}/_sim/api_faults"),
                 lambda: ctx.http.delete(f"{ctx.target.clerk_api_url}/_sim/faults"),
                 lambda: ctx.sim_post("/_sim/test_clocks/default", {"test_clock": ""}),
                 ctx.settle):
        try:
            call()
        except Exception:  # cleaning up must go on
            pass


def _snapshot(ctx: RunContext, record: StepRecord):
    record.deliveries = ctx.deliveries(ctx.delivery_mark)
    ctx.delivery_mark += len(record.deliveries)
    state = {}
    for name, user in ctx.users.items():
        try:
            state[name] = {"id": user["id"], "public_metadata": clerk_metadata(ctx, name),
                           "customer": user.get("customer"), "subscription": user.get("subscription")}
        except Exception as exc:  # a broken Clerk fault must not hide the step's own result
            state[name] = {"error": str(exc)}
    record.state = state


def skip_reason(scenario: Scenario, target: Target) -> str | None:
    """Why the app cannot play this scenario (its profile says it lacks what the scenario needs), or None."""
    if "reference" in scenario.targets and not target.reference:
        return "needs the reference receiver (it reads what that receiver records, e.g. /admin/sync-errors)"
    profile = getattr(target, "profile", None)
    for need in scenario.needs if profile is not None else ():
        reason = profile.lacks(need)
        if reason:
            return f"needs {need}: {reason}"
    return None


def _judge(result: ScenarioResult, scenario: Scenario, evidence: str, strict: bool):
    """A failure says first what a user or the SaaS owner would see, then the evidence."""
    result.passed, result.evidence = False, evidence
    result.advice = scenario.severity == "advice" and not strict
    lead = "advice (not a user-visible bug): " if result.advice else ""
    result.message = f"{lead}{scenario.consequence}. Evidence: {evidence}" if scenario.consequence \
        else f"{lead}{evidence}"


def run_scenario(scenario: Scenario, target: Target, *, seed: int | None = None,
                 strict: bool = False) -> ScenarioResult:
    started = time.perf_counter()
    result = ScenarioResult(scenario.name, scenario.catches, scenario.group, scenario.path, passed=True,
                            consequence=scenario.consequence)
    reason = skip_reason(scenario, target)
    if reason:
        result.message, result.skipped = f"skipped: {reason}", True
        return result
    try:
        target.reset()
    except Exception as exc:
        result.passed, result.message = False, f"could not reset the world: {exc!r}"
        return result
    ctx = RunContext(target, scenario.name, seed)
    try:
        _begin(ctx)
        for i, step in enumerate(scenario.steps):
            record = StepRecord(i + 1, step.kind, describe(step))
            ctx.current = record
            result.timeline.append(record)
            t0 = time.perf_counter()
            try:
                if step.kind == "expect":
                    record.summary = run_expect(ctx, step.args)
                else:
                    record.summary = RUNNERS[step.kind](ctx, step.args)
            except StepFailed as exc:
                record.ok, record.message = False, str(exc)
            except Exception as exc:  # an engine bug or a target gone: report, don't crash the run
                record.ok = False
                record.message = f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)
            record.ms = (time.perf_counter() - t0) * 1000
            _snapshot(ctx, record)
            if not record.ok:
                result.failed_step = i + 1
                _judge(result, scenario, f"step {i + 1} ({step.kind}): {record.message.splitlines()[0]}", strict)
                break
    except Exception as exc:
        result.passed, result.message = False, f"could not run: {type(exc).__name__}: {exc}"
    finally:
        _end(ctx)
        ctx.close()
        result.seconds = time.perf_counter() - started
    return result


def run_scenarios(scenarios: list[Scenario], target: Target, *, seed: int | None = None, strict: bool = False,
                  on_result: Callable[[ScenarioResult], None] | None = None) -> RunResult:
    run = RunResult(target=target.kind)
    started = time.perf_counter()
    for scenario in scenarios:
        res = run_scenario(scenario, target, seed=seed, strict=strict)
        run.results.append(res)
        if on_result:
            on_result(res)
    run.seconds = time.perf_counter() - started
    return run
