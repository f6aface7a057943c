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
    plan_metadata_key: str = "plan"  # the Clerk public_metadata key holding the tier
    free_tier: str = "free"
    source: str = "the seed guide's conventions"

    def required_env(self) -> list[str]:
        names = [self.stripe_secret_env, self.webhook_secret_env, self.clerk_secret_env]
        names += [t.price_env for t in self.paid_tiers] + [self.portal_config_env]
        return [n for n in names if n]

    def all_env(self) -> list[str]:
        extra = [self.stripe_publishable_env, self.clerk_publishable_env, self.jwt_template_env]
        return self.required_env() + [n for n in extra if n]

    def template_source(self) -> str:
        return f"user.public_metadata.{self.plan_metadata_key}"

    def template_name(self, settings: AppSettings) -> str | None:
        if self.jwt_template_env and settings.get(self.jwt_template_env):
            return settings.get(self.jwt_template_env)
        return self.jwt_template


def load_expectations(profile_path: str | None, settings: AppSettings, tiers: list[str] | None):
    """The profile given, else ./tiersync.toml when there is one, else the seed's conventions."""
    from ..profile_load import find_profile, load_profile
    path = profile_path or (str(find_profile(".")) if find_profile(".") else None)
    if path:
        return from_profile(load_profile(path), path)
    return seed_conventions(settings, tiers)


def seed_conventions(settings: AppSettings, tiers: list[str] | None = None) -> AppExpectations:
    """The guide's names. `tiers` (from `--tiers`) names the paid tiers the code has; without it they
    are read off the settings' `STRIPE_PRICE_ID_*` variables."""
    if tiers is None:
        tiers = [n[len(PRICE_PREFIX):].lower() for n in settings.values if n.startswith(PRICE_PREFIX)]
        source = "the seed guide's conventions (paid tiers from the STRIPE_PRICE_ID_* settings)"
    else:
        source = "the seed guide's conventions (paid tiers from --tiers)"
    return AppExpectations(paid_tiers=[PaidTier(t, PRICE_PREFIX + t.upper(), t) for t in tiers], source=source)


def from_profile(profile, path: str = "") -> AppExpectations:
    """What a `tiersync.profile.Profile` says the app reads: its paid tiers and their price variables and
    `metadata.plan`, its webhook path, its env names ("" = not read), its JWT template and plan claim."""
    env, source = profile.env, profile.tier_source
    out = AppExpectations(source=f"the app profile {path}".strip(), free_tier=source.absent or profile.free_tier,
                          webhook_path=profile.webhook.path)
    out.paid_tiers = [PaidTier(t.name, t.price_env, t.plan_value) for t in profile.paid_tiers]
    out.stripe_secret_env = env.stripe_secret_key or out.stripe_secret_env
    out.webhook_secret_env = env.stripe_webhook_secret or out.webhook_secret_env
    out.portal_config_env = env.stripe_portal_config or None
    out.clerk_secret_env = env.clerk_secret_key or out.clerk_secret_env
    out.clerk_publishable_env = env.clerk_publishable_key or ""
    if source.kind == "clerk_metadata":
        out.plan_metadata_key = source.key
    template = source.template if source.kind == "jwt_claim" else profile.auth.token_template
    out.jwt_template_env, out.jwt_template = None, template
    if template:
        listed = next((t.claims for t in profile.auth.jwt_templates if t.name == template), {})
        carrying = [k for k, v in listed.items() if "public_metadata" in str(v)]
        out.plan_claim = source.claim if source.kind == "jwt_claim" else (carrying[0] if carrying else "plan")
        named_by = [k for k, v in env.values.items() if v == template]
        if named_by:  # the app reads the template's name from a setting (CLERK_JWT_TEMPLATE = "pan-api")
            out.jwt_template_env = named_by[0]
    return out
