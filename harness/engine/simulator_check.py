"""`tiersync run` (and `repro`) only ever talk to tiersync's own simulators: a stack file that names the real
Stripe or Clerk, an address that is not a simulator, or a live key as the test key is refused before the
first call that carries a key. Only `tiersync preflight` and `tiersync smoke` may reach the real services."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

REAL_HOSTS = ("stripe.com", "stripe.network", "clerk.com", "clerk.dev", "clerk.accounts.dev", "clerk.services")
PRODUCTION_HINT = "only `tiersync preflight` and `tiersync smoke` talk to the real Stripe and Clerk"


class NotASimulator(Exception):
    """The message says which URL or key was refused and why."""


def _real_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in REAL_HOSTS)


def _answers_as(url: str, path: str, check) -> str | None:
    """None when `url + path` answers as a simulator does; else what it did instead (no key is sent)."""
    try:
        r = httpx.get(url.rstrip("/") + path, timeout=5)
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__})"
    try:
        return None if r.status_code == 200 and check(r.json()) else f"answered {r.status_code}"
    except ValueError:
        return f"answered {r.status_code} without JSON"


def check_simulators(stripe_url: str, clerk_url: str, stripe_test_key: str, source: str):
    """Raise NotASimulator unless both URLs are tiersync simulators and the test key is a test key."""
    for name, url in (("Stripe", stripe_url), ("Clerk", clerk_url)):
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise NotASimulator(f"{source}: the {name} URL {url!r} is not an http(s) URL")
        if _real_host(url):
            raise NotASimulator(f"{source}: the {name} URL {url} is the real {name}, not a simulator; "
                                f"{PRODUCTION_HINT}")
    if not isinstance(stripe_test_key, str) or not stripe_test_key.startswith(("sk_test_", "rk_test_")):
        shown = (stripe_test_key or "")[:8] + "…" if isinstance(stripe_test_key, str) else repr(stripe_test_key)
        raise NotASimulator(f"{source}: the Stripe test key ({shown}) is not a test-mode key; {PRODUCTION_HINT}")
    problem = _answers_as(stripe_url, "/_sim/health", lambda body: body.get("object") == "sim.health")
    if problem:
        raise NotASimulator(f"{source}: {stripe_url} is not a tiersync Stripe simulator (GET /_sim/health "
                            f"{problem}); start one with `tiersync serve`")
    problem = _answers_as(clerk_url, "/_sim/info", lambda body: "instance_id" in body and "api_url" in body)
    if problem:
        raise NotASimulator(f"{source}: {clerk_url} is not a tiersync Clerk simulator (GET /_sim/info "
                            f"{problem}); start one with `tiersync serve`")
