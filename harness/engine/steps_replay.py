"""The `replay` step: recorded events delivered to the target as `harness/engine/replay.py` describes."""

from __future__ import annotations

from .context import RunContext, StepFailed
from .replay import Replayer, ReplayError, plan


def replayer_for(ctx: RunContext, events: list[dict], objects: list[dict]) -> Replayer:
    """A Replayer on this run's simulator and target, recording each delivery in the step's exchanges."""

    def send(url: str, body: bytes, headers: dict) -> tuple[int, str]:
        r = ctx.http.post(url, content=body, headers=headers)
        return r.status_code, r.text

    return Replayer(events, ctx.target.webhook_url, ctx.target.webhook_secret, ctx.sim_post, send, objects)


def step_replay(ctx: RunContext, a) -> str:
    events = ctx.resolve(a.events)
    try:
        deliveries = plan(events, a.order, deliveries=ctx.resolve(a.deliveries), seed=a.seed)
    except ReplayError as exc:
        raise StepFailed(str(exc)) from None
    replayer = replayer_for(ctx, events, ctx.resolve(a.objects))
    sent = replayer.run(deliveries, after=lambda s: ctx.record(
        "POST", f"(replay) {s.delivery.event['type']} {s.delivery.event['id']}", s.status,
        "", s.error or s.body[:500], s.ms))
    if sent:
        ctx.last_response = ctx.current.exchanges[-1] if ctx.current and ctx.current.exchanges else None
    ctx.settle()
    statuses = ", ".join(str(s.status) for s in sent)
    return f"replayed {len(sent)} deliveries of {len(events)} events ({a.order}): {statuses}"
