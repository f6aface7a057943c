"""A copy of the simulator's world, to put back later: every object of both modes, the webhook signing
secrets, the clock, the default test clock, delivery bookkeeping and the idempotency cache. What a seeded
world needs to come back exactly, ids and secrets kept, after scenarios changed it.

Not in it, on purpose: the id generator (ids made after a restore stay new, so a receiver that remembers
an event or customer id from before never meets it again for another object), the keys and account
settings (kept across reset too), the request and delivery logs (inspection, not state) and `tiersync
listen` sessions (a developer's terminal, not the account)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from .store import Namespace, copy_tree


@dataclass(frozen=True)
class Snapshot:
    modes: dict[str, Namespace]
    webhook_secrets: dict[str, list[dict]]
    clock: tuple[float, int | None]  # (offset, frozen)
    default_test_clock: str | None
    deliveries: dict[str, dict[str, set]]
    idempotency: OrderedDict


def take(sim) -> Snapshot:
    """Call with the simulator's lock held."""
    sessions = sim.webhooks.sessions
    return Snapshot(
        modes=sim.store.snapshot(),
        webhook_secrets=copy_tree({k: v for k, v in sim.webhook_secrets.items() if k not in sessions}, {}),
        clock=(sim.clock.offset, sim.clock.frozen),
        default_test_clock=sim.default_test_clock,
        deliveries=_copy_deliveries(sim.deliveries),
        idempotency=OrderedDict(sim._idempotency),
    )


def put_back(sim, snapshot: Snapshot):
    """Call with the simulator's lock held, after pending deliveries were dropped. `snapshot` stays usable."""
    sim.store.restore(snapshot.modes)
    sessions = {k: v for k, v in sim.webhook_secrets.items() if k in sim.webhooks.sessions}
    sim.webhook_secrets.clear()
    sim.webhook_secrets.update(copy_tree(snapshot.webhook_secrets, {}))
    sim.webhook_secrets.update(sessions)
    sim.clock.offset, sim.clock.frozen = snapshot.clock
    sim.default_test_clock = snapshot.default_test_clock
    sim.deliveries.clear()
    sim.deliveries.update(_copy_deliveries(snapshot.deliveries))
    sim._idempotency.clear()
    sim._idempotency.update(snapshot.idempotency)
    sim.api_faults.clear()


def _copy_deliveries(deliveries: dict[str, dict[str, set]]) -> dict[str, dict[str, set]]:
    return {event_id: {k: set(v) for k, v in state.items()} for event_id, state in deliveries.items()}
