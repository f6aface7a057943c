"""Replay an incident against a target and find, for each user, where the app's tier left what Stripe says.

Before each delivery the simulator holds the objects as Stripe did then (harness/engine/replay.py); after it,
the app's tier is read where the app keeps it (the target's profile) and compared with what a correct app
would show from that state (expected.py). The first delivery after which they differ, once the app has had
`settle` seconds to catch up, is where the app diverged."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..engine.context import RunContext, StepFailed
from ..engine.expectations import observed_tier
from ..engine.model import UserArgs
from ..engine.replay import Replayer, Sent, plan
from ..engine.steps import RUNNERS
from ..engine.steps_replay import replayer_for
from .expected import expected_tier
from .incident import Incident


@dataclass
class Observation:
    index: int  # 1-based delivery number
    event: str  # "evt_... (type)"
    copy: int
    status: int | None
    answer: str
    app: str | None
    expected: str | None
    attempts: int = 1


@dataclass
class UserReport:
    name: str  # u1, u2... (the incident's user ids are kept out of the names)
    incident_user: str
    expected_final: str | None = None
    app_final: str | None = None
    timeline: list[Observation] = field(default_factory=list)  # where the app's or the expected tier changed
    first_bad: Observation | None = None

    @property
    def ok(self) -> bool:
        return self.expected_final is None or self.app_final == self.expected_final and self.first_bad is None

    def consequence(self) -> str:
        if self.expected_final is None:
            return f"{self.name}: the expected tier is unknown (a product of theirs is not in the file: see --plan)"
        if self.first_bad is None:
            return f"{self.name}: the app agrees with Stripe ({self.expected_final})"
        bad = self.first_bad
        return (f"{self.name}: Stripe says {bad.expected}, the app says {bad.app}, from delivery {bad.index} "
                f"({bad.event}) on; at the end Stripe says {self.expected_final}, the app {self.app_final}")


@dataclass
class ReproReport:
    source: str
    order: str
    deliveries: int
    users: list[UserReport]
    warnings: list[str]
    answers: list[Sent]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(u.ok for u in self.users)


def _rewrite(value, mapping: dict[str, str]):
    """`value` with every string equal to a key of `mapping` replaced."""
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, dict):
        return {k: _rewrite(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, mapping) for v in value]
    return value


def _users_of(event: dict, incident: Incident, local: dict[str, str]) -> set[str]:
    """Local user ids the event concerns (its object's customer or userId)."""
    obj = event["data"]["object"]
    found = set()
    for key in ("customer", "id"):
        user = incident.customer_user.get(obj.get(key)) if isinstance(obj.get(key), str) else None
        if user:
            found.add(local[user])
    meta_user = (obj.get("metadata") or {}).get("userId") or obj.get("client_reference_id")
    if meta_user in local.values():
        found.add(meta_user)
    return found


def run_repro(incident: Incident, target, *, order: str, seed: int = 0, settle: float = 2.0) -> ReproReport:
    started = time.perf_counter()
    target.reset()
    ctx = RunContext(target, "repro", seed)
    names = {}
    for i, user in enumerate(incident.users, 1):
        names[user] = f"u{i}"
        RUNNERS["user"](ctx, UserArgs(name=f"u{i}"))
    local = {user: ctx.users[names[user]]["id"] for user in incident.users}  # incident id -> simulator id
    events = _rewrite(incident.events, local)
    customer_user = {c: local[u] for c, u in incident.customer_user.items()}
    profile = target.profile
    deliveries = plan(events, order, deliveries=incident.deliveries, seed=seed)
    replayer: Replayer = replayer_for(ctx, events, incident.extra_objects)
    reports = {local[u]: UserReport(names[u], u) for u in incident.users}
    by_local_name = {local[u]: names[u] for u in incident.users}
    expected = {uid: profile.free_tier for uid in reports}
    seen = {uid: profile.free_tier for uid in reports}

    def observe(uid: str) -> str | None:
        try:
            return observed_tier(ctx, by_local_name[uid])
        except StepFailed as exc:
            return f"(unreadable: {exc})"

    def after(sent: Sent):
        index = len(answers)
        state = replayer.state.as_of(replayer.frontier)
        concerned = _users_of(sent.delivery.event, incident, local) or set(reports)
        for uid in reports:
            expected[uid] = expected_tier(uid, state, customer_user, profile, expected[uid], incident.unknown_products)
        for uid in concerned:
            app = observe(uid)
            deadline = time.monotonic() + settle
            while app != expected[uid] and expected[uid] is not None and time.monotonic() < deadline:
                time.sleep(0.1)
                app = observe(uid)
            report = reports[uid]
            obs = Observation(index, f"{sent.delivery.event['id']} ({sent.delivery.event['type']})",
                              sent.delivery.copy, sent.status, sent.error or sent.body[:300], app, expected[uid],
                              sent.attempts)
            if not report.timeline or (report.timeline[-1].app, report.timeline[-1].expected) != (app, expected[uid]):
                report.timeline.append(obs)
            if report.first_bad is None and expected[uid] is not None and app != expected[uid]:
                report.first_bad = obs
            seen[uid] = app

    answers: list[Sent] = []

    def record(sent: Sent):
        answers.append(sent)
        after(sent)

    replayer.run(deliveries, after=record)
    final_state = replayer.state.as_of(len(events) - 1)
    for uid, report in reports.items():
        report.expected_final = expected_tier(uid, final_state, customer_user, profile, expected[uid],
                                              incident.unknown_products)
        report.app_final = observe(uid)
        if report.first_bad is None and report.expected_final is not None and report.app_final != report.expected_final:
            report.first_bad = Observation(len(answers), "(after the last delivery)", 0, None, "",
                                           report.app_final, report.expected_final)
    return ReproReport(incident.source, order, len(deliveries), list(reports.values()), list(incident.warnings),
                       answers, time.perf_counter() - started)
