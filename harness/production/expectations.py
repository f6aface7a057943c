"""What the app's code expects of its settings and accounts: tier names, the variable holding each paid
tier's price id, the `metadata.plan` value, the webhook path and events, the env names of its keys.

From the app profile when there is one (`tiersync.toml`), else the seed guide's conventions: every
`STRIPE_PRICE_ID_<TIER>` the settings hold is a paid tier `<tier>` with `metadata.plan` = `<tier>`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .settings import AppSettings

SEED_EVENTS = ("checkout.session.completed", "customer.subscription.created",
               "customer.subscription.updated", "customer.subscription.deleted")
PRICE_PREFIX = "STRIPE_PRICE_ID_"


@dataclass(frozen=True)
class PaidTier:
    name: str
    price_env: str
    plan_value: str


@dataclass
class AppExpectations:
    paid_tiers: list[PaidTier] = field(default_factory=list)
    webhook_path: str = "/webhook/stripe"
    events: tuple[str, ...] = SEED_EVENTS
    stripe_secret_env: str = "STRIPE_SECRET_KEY"
    stripe_publishable_env: str = "STRIPE_PUBLISHABLE_KEY"
    webhook_secret_env: str = "STRIPE_WEBHOOK_SECRET"
    portal_config_env: str | None = "STRIPE_PORTAL_CONFIG_ID"
    clerk_secret_env: str = "CLERK_SECRET_KEY"
    clerk_publishable_env: str = "CLERK_PUBLISHABLE_KEY"
    jwt_template_env: str | None = "CLERK_JWT_TEMPLATE"
    jwt_template: str | None = None  # a name fixed in the app's code rather than read from a variable
    plan_claim: str = "plan"
    plan_metadata_key: str = "plan"
    source: str = "the seed guide's conventions"

    def required_env(self) -> list[str]:
        names = [self.stripe_secret_env, self.webhook_secret_env, self.clerk_secret_env]
        names += [t.price_env for t in self.paid_tiers]
        if self.portal_config_env:
            names.append(self.portal_config_env)
        return names

    def all_env(self) -> list[str]:
        extra = [self.stripe_publishable_env, self.clerk_publishable_env, self.jwt_template_env]
        return self.required_env() + [n for n in extra if n]

    def template_name(self, settings: AppSettings) -> str | None:
        if self.jwt_template_env and settings.get(self.jwt_template_env):
            return settings.get(self.jwt_template_env)
        return self.jwt_template


def seed_conventions(settings: AppSettings, tiers: list[str] | None = None) -> AppExpectations:
    """The guide's names. `tiers` (from `--tiers`) names the paid tiers the code has; without it they
    are read off the settings' `STRIPE_PRICE_ID_*` variables."""
    if tiers is None:
        tiers = [n[len(PRICE_PREFIX):].lower() for n in settings.values if n.startswith(PRICE_PREFIX)]
        source = "the seed guide's conventions (paid tiers from the STRIPE_PRICE_ID_* settings)"
    else:
        source = "the seed guide's conventions (paid tiers from --tiers)"
    return AppExpectations(paid_tiers=[PaidTier(t, PRICE_PREFIX + t.upper(), t) for t in tiers], source=source)


def from_profile(profile) -> AppExpectations:
    """An app profile (tiersync.profile) read for what preflight needs: duck-typed on purpose, so a
    profile without one of these attributes keeps the seed's default for it."""
    out = AppExpectations(source=f"the app profile {getattr(profile, 'path', '') or ''}".strip())
    tiers = getattr(profile, "tiers", None) or []
    free = getattr(profile, "free_tier", None)
    for tier in tiers:
        name = getattr(tier, "name", tier)
        price_env = getattr(tier, "price_env", None)
        if name == free or not price_env:
            continue
        out.paid_tiers.append(PaidTier(name, price_env, getattr(tier, "plan_value", None) or name))
    for attr in ("webhook_path", "plan_claim", "jwt_template"):
        if getattr(profile, attr, None):
            setattr(out, attr, getattr(profile, attr))
    if getattr(profile, "events", None):
        out.events = tuple(profile.events)
    env = getattr(profile, "env", None) or {}
    for key, attr in (("stripe_secret_key", "stripe_secret_env"), ("webhook_secret", "webhook_secret_env"),
                      ("portal_config_id", "portal_config_env"), ("clerk_secret_key", "clerk_secret_env"),
                      ("clerk_publishable_key", "clerk_publishable_env"), ("jwt_template", "jwt_template_env")):
        if env.get(key):
            setattr(out, attr, env[key])
    return out
