"""What every broken receiver is built from: the reference receiver (`receiver.create_app`) with one piece
swapped, and a scenario-engine `Target` that serves it on a fresh stack.

A mutant module has a docstring (the bug, and which scenario catches it), `CAUGHT_BY` (that scenario's
name) and `create_app(settings, storage)`, the factory `tiersync.stack.Stack(receiver_factory=...)` calls
for every world (each reset builds a fresh app, so a mutant's state never leaks between scenarios).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

from starlette.requests import Request
from starlette.routing import Route

from tiersync.engine.target import Target, _from_stack
from tiersync.receiver import create_app as reference_app  # noqa: F401  (re-exported for the mutants)
from tiersync.stack import Stack

WEBHOOK_PATH = "/webhook/stripe"


def with_webhook(app, endpoint):
    """Serve `endpoint` at POST /webhook/stripe in place of the reference's `stripe_webhook`."""
    app.router.routes = [Route(WEBHOOK_PATH, endpoint, methods=["POST"]) if getattr(r, "path", None) == WEBHOOK_PATH
                         else r for r in app.router.routes]
    return app


def with_route(app, path: str, endpoint, methods: list[str]):
    """Serve `endpoint` at `path` in place of the reference's route."""
    app.router.routes = [Route(path, endpoint, methods=methods) if getattr(r, "path", None) == path else r
                         for r in app.router.routes]
    return app


def with_sync(app, sync_class):
    """Use a `receiver.sync.BillingSync` subclass for the tier sync."""
    state = app.state
    state.sync = sync_class(state.settings, state.stripe, state.clerk, state.storage)
    return app


async def peek_event(request: Request) -> dict:
    """The event in the request body, unverified (Starlette caches the body: the reference can read it again)."""
    try:
        event = json.loads(await request.body())
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def mutant_target(factory) -> Target:
    """A stack serving `factory`'s receiver, as a target the engine resets like the reference one."""
    stack = Stack(receiver_factory=factory).start()
    info = stack.info()
    return _from_stack("reference", stack, info, info["receiver"]["url"])


def mutants() -> dict[str, object]:
    """Every mutant module of this package, by name."""
    here = Path(__file__).parent
    found = {}
    for mod in pkgutil.iter_modules([str(here)]):
        if mod.name.startswith(("_", "test_")) or mod.name == "conftest":
            continue
        found[mod.name] = importlib.import_module(f"{__package__}.{mod.name}")
    return found
