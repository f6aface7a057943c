"""Configuration from the seed's environment variable names (plus STRIPE_API_BASE and CLERK_API_URL).
Every problem is found at start-up and reported by name, all in one message."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

_STRIPE_KEY = re.compile(r"^(sk|rk)_(test|live)_\w+$")
_CLERK_KEY = re.compile(r"^sk_(test|live)_\w+$")
_FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}

# Monthly request limits per tier; None is unlimited. One table for the whole receiver.
DEFAULT_TIERS: dict[str, int | None] = {"free": 5, "pro": 50, "enterprise": None}


def parse_cpu_affinity(text: str) -> tuple[tuple[int, ...], str | None]:
    """RECEIVER_CPU_AFFINITY: "" (the OS decides), "auto" (every CPU this process may use) or a list such as
    "2,3" or "0-3". Returns (cpus, problem)."""
    if text.lower() in ("", "off", "none"):
        return (), None
    if not hasattr(os, "sched_setaffinity"):
        return (), "cannot be applied on this system (no sched_setaffinity: Linux only)"
    allowed = sorted(os.sched_getaffinity(0))
    if text.lower() == "auto":
        return tuple(allowed), None
    def refused(outside) -> tuple[tuple[int, ...], str]:
        return (), (f"names CPU {', '.join(map(str, outside))}, which this process may not use "
                    f"(it may use {', '.join(map(str, allowed))})")

    cpus: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or (high and int(high) < int(low)):
            return (), "is not auto, off or a list of CPU numbers such as 2,3 or 0-3"
        first, last = int(low), int(high or low)
        if last > allowed[-1]:  # checked before the range is spelled out: "0-999999999" must not take a while
            return refused([last])
        cpus += [c for c in range(first, last + 1) if c not in cpus]
    outside = [c for c in cpus if c not in allowed]
    return refused(outside) if outside else (tuple(cpus), None)


class ConfigError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("receiver configuration is not usable:\n" + "\n".join(f"  - {p}" for p in problems))


def _mask(value: str) -> str:
    return value[:8] + "****" + value[-4:] if len(value) > 12 else "****"


@dataclass
class Settings:
    stripe_secret_key: str
    stripe_webhook_secret: str
    clerk_secret_key: str
    price_ids: dict[str, str] = field(default_factory=dict)  # tier -> price id
    portal_config_id: str | None = None
    clerk_publishable_key: str | None = None
    frontend_url: str = "http://127.0.0.1:8787"
    stripe_api_base: str | None = None
    clerk_api_url: str = "https://api.clerk.com"
    clerk_frontend_url: str | None = None  # where the hosted sign-in/sign-up pages live
    database: str = "receiver.sqlite"
    tiers: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    past_due_keeps_plan: bool = True
    webhook_tolerance: int = 300
    admin_token: str | None = None
    request_timeout: float = 10.0
    sync_threads: int = 4  # webhook handlers running at once (the rest wait in line)
    workers: int = 1  # processes serving the receiver (`python -m tiersync.receiver`), sharing the SQLite file
    # for this long after Clerk was written (or read) with a user's state, an event that leaves the state as
    # it is makes no Clerk call; after it, such an event re-reads the user (a hand edit is put right)
    clerk_trust_seconds: float = 60.0
    # RECEIVER_CPU_AFFINITY: CPUs the receiver's processes run on, process i on the i-th (receiver/serving.py);
    # empty: wherever the OS schedules them
    cpu_affinity: tuple[int, ...] = ()
    # origins allowed in a session token's `azp` claim (Clerk's advice against tokens minted for another
    # site); empty: not checked
    authorized_parties: tuple[str, ...] = ()

    @property
    def stripe_mode(self) -> str:
        return "live" if "_live_" in self.stripe_secret_key else "test"

    @property
    def livemode(self) -> bool:
        return self.stripe_mode == "live"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        problems = []

        def need(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                problems.append(f"{name} is not set")
            return value

        stripe_key = need("STRIPE_SECRET_KEY")
        webhook_secret = need("STRIPE_WEBHOOK_SECRET")
        clerk_key = need("CLERK_SECRET_KEY")
        if stripe_key and not _STRIPE_KEY.match(stripe_key):
            problems.append(f"STRIPE_SECRET_KEY ({_mask(stripe_key)}) is not a Stripe secret key (sk_test_/sk_live_)")
        if webhook_secret and not webhook_secret.startswith("whsec_"):
            problems.append(f"STRIPE_WEBHOOK_SECRET ({_mask(webhook_secret)}) is not a signing secret (whsec_...)")
        if clerk_key and not _CLERK_KEY.match(clerk_key):
            problems.append(f"CLERK_SECRET_KEY ({_mask(clerk_key)}) is not a Clerk secret key (sk_test_/sk_live_)")
        if stripe_key and clerk_key and _STRIPE_KEY.match(stripe_key) and _CLERK_KEY.match(clerk_key):
            s_mode = _STRIPE_KEY.match(stripe_key).group(2)
            c_mode = _CLERK_KEY.match(clerk_key).group(1)
            if s_mode != c_mode:
                problems.append(f"STRIPE_SECRET_KEY is a {s_mode} key but CLERK_SECRET_KEY is a {c_mode} key: "
                                "switch both to the same mode")
        pk = env.get("CLERK_PUBLISHABLE_KEY", "").strip() or None
        if pk and clerk_key and _CLERK_KEY.match(clerk_key) and not pk.startswith(
                "pk_" + _CLERK_KEY.match(clerk_key).group(1) + "_"):
            problems.append("CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY are from different modes")
        tiers = dict(DEFAULT_TIERS)
        price_ids = {}
        for tier in tiers:
            value = env.get(f"STRIPE_PRICE_ID_{tier.upper()}", "").strip()
            if value:
                if not value.startswith("price_"):
                    problems.append(f"STRIPE_PRICE_ID_{tier.upper()} ({value}) is not a price id (price_...)")
                price_ids[tier] = value
        if not price_ids:
            problems.append("no paid tier is configured: set STRIPE_PRICE_ID_PRO and/or STRIPE_PRICE_ID_ENTERPRISE")
        portal = env.get("STRIPE_PORTAL_CONFIG_ID", "").strip() or None
        if portal and not portal.startswith("bpc_"):
            problems.append(f"STRIPE_PORTAL_CONFIG_ID ({portal}) is not a portal configuration id (bpc_...)")
        port = env.get("PORT", "").strip() or "8787"
        if not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(f"PORT ({port}) is not a port number (1-65535)")
        parties = tuple(p.strip().rstrip("/") for p in env.get("CLERK_AUTHORIZED_PARTIES", "").split(",") if p.strip())
        for party in parties:
            if not re.fullmatch(r"https?://[^/\s]+", party):
                problems.append(f"CLERK_AUTHORIZED_PARTIES ({party}) is not an origin (https://host[:port])")
        threads = env.get("RECEIVER_SYNC_THREADS", "").strip() or "4"
        if not threads.isdigit() or not 0 < int(threads) <= 64:
            problems.append(f"RECEIVER_SYNC_THREADS ({threads}) is not a thread count (1-64)")
        workers = env.get("RECEIVER_WORKERS", "").strip() or "1"
        database = env.get("RECEIVER_DATABASE", "receiver.sqlite")
        if not workers.isdigit() or not 0 < int(workers) <= 64:
            problems.append(f"RECEIVER_WORKERS ({workers}) is not a process count (1-64)")
        elif int(workers) > 1 and database == ":memory:":
            problems.append("RECEIVER_WORKERS > 1 needs a RECEIVER_DATABASE file the workers share, not :memory:")
        elif int(workers) > 1 and os.name != "posix":
            problems.append("RECEIVER_WORKERS > 1 needs POSIX file locks (Linux, macOS)")
        trust = env.get("RECEIVER_CLERK_TRUST_SECONDS", "").strip() or "60"
        try:
            trust_seconds = float(trust)
        except ValueError:
            trust_seconds = -1.0
        if not 0 <= trust_seconds <= 86400:
            problems.append(f"RECEIVER_CLERK_TRUST_SECONDS ({trust}) is not a number of seconds (0-86400)")
        affinity_text = env.get("RECEIVER_CPU_AFFINITY", "").strip()
        cpu_affinity, affinity_problem = parse_cpu_affinity(affinity_text)
        if affinity_problem:
            problems.append(f"RECEIVER_CPU_AFFINITY ({affinity_text}) {affinity_problem}")
        past_due = env.get("PAST_DUE_KEEPS_PLAN", "").strip().lower() or "true"
        if past_due not in _FLAGS:
            problems.append(f"PAST_DUE_KEEPS_PLAN ({past_due}) is not a flag (true/false)")
        if problems:
            raise ConfigError(problems)
        return cls(
            stripe_secret_key=stripe_key, stripe_webhook_secret=webhook_secret, clerk_secret_key=clerk_key,
            price_ids=price_ids, portal_config_id=portal, clerk_publishable_key=pk,
            frontend_url=env.get("FRONTEND_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            clerk_api_url=(env.get("CLERK_API_URL") or "https://api.clerk.com").rstrip("/").removesuffix("/v1"),
            clerk_frontend_url=(env.get("CLERK_FRONTEND_URL") or "").rstrip("/") or None,
            database=database,
            past_due_keeps_plan=_FLAGS[past_due],
            admin_token=env.get("ADMIN_TOKEN") or None,
            sync_threads=int(threads),
            workers=int(workers),
            clerk_trust_seconds=trust_seconds,
            cpu_affinity=cpu_affinity,
            authorized_parties=parties,
        )

    def env(self) -> dict[str, str]:
        """The settings as the seed's environment variables (for launching another receiver)."""
        out = {"STRIPE_SECRET_KEY": self.stripe_secret_key, "STRIPE_WEBHOOK_SECRET": self.stripe_webhook_secret,
               "CLERK_SECRET_KEY": self.clerk_secret_key, "FRONTEND_URL": self.frontend_url,
               "CLERK_API_URL": self.clerk_api_url}
        out.update({f"STRIPE_PRICE_ID_{t.upper()}": p for t, p in self.price_ids.items()})
        if self.authorized_parties:
            out["CLERK_AUTHORIZED_PARTIES"] = ",".join(self.authorized_parties)
        for key, value in (("STRIPE_PORTAL_CONFIG_ID", self.portal_config_id),
                           ("CLERK_PUBLISHABLE_KEY", self.clerk_publishable_key),
                           ("STRIPE_API_BASE", self.stripe_api_base)):
            if value:
                out[key] = value
        return out
