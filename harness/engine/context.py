"""What a running scenario carries: clients for the simulators and the target, named things it made
(users, products, coupons, tokens), variables, and the timeline the report shows."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe

from ..signer import mask
from .target import Target

_REF = re.compile(r"\$\{([^}]+)\}")
_INNER = re.compile(r"\$\{([^${}]+)\}(?=[^{]*\})")  # a reference inside another one


class StepFailed(Exception):
    """A step or an expectation did not hold; the message says what was expected and what was seen."""


@dataclass
class Exchange:
    method: str
    url: str
    status: int | None
    request_body: str = ""
    response_body: str = ""
    ms: float = 0.0
    headers: dict = field(default_factory=dict)


@dataclass
class StepRecord:
    index: int
    kind: str
    summary: str
    ok: bool = True
    message: str = ""
    ms: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)
    state: dict = field(default_factory=dict)


_FAKER = None


def _faker():
    """One Faker per process: building one loads every provider (~100 ms); scenarios reseed it."""
    global _FAKER
    if _FAKER is None:
        from faker import Faker
        _FAKER = Faker()
    return _FAKER


def _clients(target: Target):
    """SDK and HTTP clients, made once per target and kept (connection reuse across scenarios)."""
    clients = getattr(target, "_clients", None)
    if clients is None:
        opts = {"base_addresses": {"api": target.stripe_url}, "max_network_retries": 0}
        clients = (stripe.StripeClient(target.stripe_key, **opts), stripe.StripeClient(target.stripe_live_key, **opts),
                   httpx.Client(timeout=30))
        target._clients = clients
    return clients


class RunContext:
    def __init__(self, target: Target, scenario_name: str, seed: int | None = None):
        self.target = target
        self.scenario_name = scenario_name
        self.stripe, self.stripe_live, self.http = _clients(target)
        self.users: dict[str, dict] = {}
        self.products: dict[str, dict] = {}
        self.coupons: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}
        self.last_response: Exchange | None = None
        self.last_requests: list[dict] = []
        self.timeline: list[StepRecord] = []
        self.current: StepRecord | None = None
        self.clock_id: str | None = None
        self.delivery_mark = 0
        self.faker = _faker()
        # a given seed is mixed with the scenario's name: each scenario's users differ (an app that is not
        # reset between scenarios keeps them, and Clerk refuses an e-mail address twice) and stay the same
        # from run to run
        self.faker.seed_instance(f"{seed}:{scenario_name}" if seed is not None else int(time.time() * 1000) % 2**31)
        self.run_tag = self.faker.bothify("??##").lower()

    def close(self):
        pass  # the clients belong to the target (see _clients)

    # ---- variables ----------------------------------------------------------------------------------
    def lookup(self, path: str):
        root, *rest = path.split(".")
        spaces = {"users": self.users, "products": self.products, "coupons": self.coupons, "tokens": self.tokens,
                  "world": self.target.world, "profile": self.target.profile.variables()}
        if root not in spaces:
            raise StepFailed(f"unknown variable ${{{path}}}: it starts with one of {', '.join(spaces)}")
        node: Any = spaces[root]
        for part in rest:
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise StepFailed(f"unknown variable ${{{path}}}: no {part!r} (made so far: "
                                 f"{', '.join(node) if isinstance(node, dict) else node!r})")
        return node

    def resolve(self, value):
        """Fill in `${...}` references in strings, lists and mappings."""
        if isinstance(value, str):
            while (inner := _INNER.search(value)) and inner.group(0) != value:  # ${a.${b}}: ${b} first
                found = self.lookup(inner.group(1))
                value = value[:inner.start()] + str(found) + value[inner.end():]
            whole = _REF.fullmatch(value)
            if whole:
                return self.lookup(whole.group(1))
            return _REF.sub(lambda m: str(self.lookup(m.group(1))), value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    # ---- recording ------------------------------------------------------------------------------------
    def record(self, method: str, url: str, status: int | None, request_body="", response_body="", ms=0.0,
               headers=None) -> Exchange:
        ex = Exchange(method, url, status, mask(str(request_body))[:4000], mask(str(response_body))[:4000],
                      round(ms, 2), {k: mask(v) for k, v in (headers or {}).items()})
        if self.current is not None:
            self.current.exchanges.append(ex)
        return ex

    # ---- the simulators' control routes ---------------------------------------------------------------
    def sim_post(self, path: str, data: dict | None = None) -> dict:
        r = self.http.post(self.target.stripe_url + path, data=data or {})
        if r.status_code >= 400:
            raise StepFailed(f"simulator control {path} failed: {r.status_code} {r.text[:300]}")
        return r.json()

    def sim_get(self, path: str, params: dict | None = None) -> dict:
        r = self.http.get(self.target.stripe_url + path, params=params or {})
        r.raise_for_status()
        return r.json()

    def settle(self, timeout: float = 15.0):
        """Wait until the simulator has no delivery queued or in flight."""
        self.http.post(self.target.stripe_url + "/_sim/webhooks/wait_idle", data={"timeout": timeout},
                       timeout=timeout + 5)

    def deliveries(self, offset: int = 0) -> list[dict]:
        """Delivery attempts to the target's endpoint, from the `offset`-th on."""
        params = {"endpoint": self.target.endpoint_id} if self.target.endpoint_id else {}
        if offset:
            params["offset"] = offset
        data = self.sim_get("/_sim/webhooks/log", params)["data"]
        annotate = getattr(self.target, "annotate_deliveries", None)  # a Worker's console lines per try
        if annotate is not None:
            annotate(data)
        return data

    def delivery_count(self) -> int:
        params = {"endpoint": self.target.endpoint_id} if self.target.endpoint_id else {}
        return self.sim_get("/_sim/webhooks/log", {**params, "limit": 1})["total_count"]

    def clerk(self, method: str, path: str, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.target.clerk_secret_key}"}
        return self.http.request(method, f"{self.target.clerk_api_url}{path}", headers=headers, **kw)

    def token_for(self, user: str, template: str | None = None) -> str:
        """A fresh session token for a named user, through Clerk's Backend API."""
        u = self.user(user)
        if not u.get("session"):
            r = self.clerk("POST", "/v1/sessions", json={"user_id": u["id"]})
            if r.status_code >= 400:
                raise StepFailed(f"Clerk would not open a session for {user}: {r.status_code} {r.text[:200]}")
            u["session"] = r.json()["id"]
        path = f"/v1/sessions/{u['session']}/tokens" + (f"/{template}" if template else "")
        r = self.clerk("POST", path, json={})
        if r.status_code >= 400:
            raise StepFailed(f"Clerk would not mint a token for {user}: {r.status_code} {r.text[:200]}")
        return r.json()["jwt"]

    def user(self, name: str) -> dict:
        if name not in self.users:
            raise StepFailed(f"no user {name!r} yet: add a `- user: {name}` step first")
        return self.users[name]

    def price_for(self, tier: str | None, price: str | None) -> str:
        if price:
            return self.resolve(price)
        if tier in self.target.world.get("prices", {}):
            return self.target.world["prices"][tier]
        if tier in self.products:
            return self.products[tier]["price"]
        raise StepFailed(f"no price for tier {tier!r}: the world has {', '.join(self.target.world.get('prices', {}))}")
