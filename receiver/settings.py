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
    request_timeout: float = 10.0  # each Stripe and Clerk call, in seconds
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
            database=env.get("RECEIVER_DATABASE") or "receiver.sqlite",
            past_due_keeps_plan=_FLAGS[past_due],
            admin_token=env.get("ADMIN_TOKEN") or None,
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
