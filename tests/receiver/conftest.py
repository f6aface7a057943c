"""Fixtures for the reference receiver's tests.

- the stack is the pytest plugin's `tiersync_stack` (Stripe simulator + Clerk simulator + the receiver, all
  on loopback, one per xdist worker), `reset()` before every test (new ids, same seeded world, fresh
  receiver storage) once the previous test's deliveries have settled.
- `app`: an `App` driver over that stack with the helpers the tests share: a signed-in user and token,
  a checkout through the receiver's own API, paying it the way the hosted page does, waiting for the
  Stripe simulator's deliveries, reading the user's tier from Clerk, hand-signed webhook posts.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import httpx
import pytest
import stripe

from tiersync.signer import build_request
from tiersync.stack import Stack

_emails = itertools.count(1)


@dataclasses.dataclass
class User:
    id: str
    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class App:
    def __init__(self, stack: Stack):
        self.st = stack
        self.url = stack.receiver_server.url
        self.http = httpx.Client(base_url=self.url, timeout=15)
        self.stripe = stripe.StripeClient(stack.stripe_sim.test_key, base_addresses={"api": stack.stripe_server.url},
                                          max_network_retries=0)

    # ---- people -------------------------------------------------------------------------------------
    def user(self, email: str | None = None, *, template: str | None = None, **create) -> User:
        email = email or f"user{next(_emails)}+clerk_test@example.com"
        created = self.st.clerk_sim.create_user(email, password="pw-123456789", **create)
        return User(created["id"], email, self.st.clerk_sim.mint_token(user_id=created["id"], template=template))

    def token(self, user: User, **kw) -> str:
        return self.st.clerk_sim.mint_token(user_id=user.id, **kw)

    def metadata(self, user: User | str) -> dict:
        return self.st.clerk_sim.get_user(getattr(user, "id", user))["public_metadata"]

    def plan(self, user: User | str) -> str | None:
        return self.metadata(user).get("plan")

    def clerk_calls(self, pattern: str, *, status: int | None = None) -> list:
        return self.st.clerk_sim.request_log.find(pattern, status=status)

    def metadata_patches(self, user: User, *, status: int | None = 200) -> list:
        return self.clerk_calls(f"PATCH /v1/users/{user.id}/metadata", status=status)

    # ---- billing ------------------------------------------------------------------------------------
    def checkout(self, user: User, tier: str = "pro") -> str:
        r = self.http.post("/api/create-checkout", json={"tier": tier}, headers=user.auth)
        assert r.status_code == 200, r.text
        return r.json()["id"]

    def pay(self, session_id: str, *, wait: bool = True, **form) -> dict:
        """What the hosted Checkout page does when the customer pays (default: a 100%-off code, no card)."""
        if not form:
            form = {"promotion_code": "LAUNCH100"}
        r = httpx.post(f"{self.st.stripe_server.url}/_sim/checkout/sessions/{session_id}/complete", data=form)
        assert r.status_code == 200, r.text
        if wait:
            self.wait()
        return r.json()

    def upgrade(self, user: User, tier: str = "pro", **form) -> dict:
        """Checkout through the receiver + pay + wait for every delivery; returns the completed session."""
        return self.pay(self.checkout(user, tier), **form)

    def subscription(self, user: User):
        subs = self.stripe.v1.subscriptions.list(params={"customer": self.metadata(user)["stripeCustomerId"],
                                                         "status": "all"}).data
        assert len(subs) == 1
        return subs[0]

    def wait(self, timeout: float = 10.0):
        assert self.st.stripe_sim.webhooks.wait_idle(timeout), "webhook deliveries did not settle"

    def deliveries(self, event_type: str | None = None, *, outcome: str | None = None) -> list[dict]:
        return [a for a in list(self.st.stripe_sim.webhooks.log)
                if (event_type is None or a["type"] == event_type) and (outcome is None or a["outcome"] == outcome)]

    def retry_due(self, seconds: float = 3600):
        """Let the Stripe simulator's virtual clock run its next retries."""
        self.st.stripe_sim.webhooks.advance(seconds)
        self.wait()

    # ---- the receiver's own state -------------------------------------------------------------------
    @property
    def storage(self):
        return self.st.receiver_app.state.storage

    def sync_errors(self, kind: str | None = None) -> list[dict]:
        r = self.http.get("/admin/sync-errors", headers={"X-Admin-Token": self.st.admin_token})
        assert r.status_code == 200
        return [e for e in r.json()["sync_errors"] if kind is None or e["kind"] == kind]

    def set_settings(self, **changes):
        """Change the running receiver's settings for this test (the next reset restores the stack's)."""
        from tiersync.receiver.sync import BillingSync
        state = self.st.receiver_app.state
        state.settings = dataclasses.replace(state.settings, **changes)
        state.sync = BillingSync(state.settings, state.stripe, state.clerk, state.storage)

    # ---- hand-signed deliveries ---------------------------------------------------------------------
    def post_event(self, payload, *, secret: str | None = None, **faults) -> httpx.Response:
        req = build_request(payload, secret or self.st.world.webhook_secret, test_mode=True, **faults)
        return self.http.post("/webhook/stripe", content=req.body, headers=req.headers)


def event(event_type: str = "customer.subscription.updated", obj: dict | None = None, *,
          event_id: str = "evt_test_hand_built", livemode: bool = False) -> dict:
    """A minimal Stripe event, as the unit-level webhook checks send it."""
    return {"id": event_id, "object": "event", "api_version": "2026-10-28", "created": 1700000000,
            "livemode": livemode, "pending_webhooks": 1, "type": event_type,
            "data": {"object": obj if obj is not None else {"id": "sub_hand_built", "object": "subscription"}}}


@pytest.fixture
def app(tiersync_stack: Stack) -> Iterator[App]:
    """The pytest plugin's stack (deliveries of the previous test settled, then re-seeded) with our helpers."""
    stack = tiersync_stack
    state = stack.receiver_app.state
    clerk = state.clerk
    driver = App(stack)
    try:
        yield driver
    finally:
        driver.http.close()
        if state.clerk is not clerk:  # a test swapped the Clerk gateway: put the stack's back
            state.clerk = clerk
