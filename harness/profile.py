"""The app profile (`tiersync.toml`): what tiersync must know about the user's app to test it, and nothing
about our reference receiver. Tier names and limits, where the app keeps a user's tier, its API (checkout,
portal, usage, the metered call), its webhook path, the env variable names it reads and the features it
offers. Loaded and checked by tiersync.profile_load; docs/profile.md describes every field."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

UNLIMITED = "unlimited"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_pointer(value: str | None) -> str | None:
    """A JSON pointer (RFC 6901): "" is the whole answer, else it starts with "/"."""
    if value is None or value == "" or value.startswith("/"):
        return value
    raise ValueError(f"not a JSON pointer (found {value!r}); a pointer starts with '/', e.g. '/{value}'")


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """The value at `pointer` in `doc`, or raise KeyError naming the part that matched nothing."""
    if pointer == "":
        return doc
    node = doc
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(part)
    return node


# ---- tiers -----------------------------------------------------------------------------------------------
class Tier(Part):
    name: str = Field(min_length=1)
    limit: int | Literal["unlimited"]  # requests a month, or "unlimited"
    price_env: str | None = None  # the env variable carrying this paid tier's price id; none for the free tier
    plan: str | None = None  # the product's metadata.plan for this tier; default: the tier name
    amount: int = Field(default=0, ge=0)  # monthly price in cents in the simulated world; 0: chosen by order

    @field_validator("price_env")
    @classmethod
    def env_name(cls, v):
        if v is not None and not _ENV_NAME.fullmatch(v):
            raise ValueError(f"not an environment variable name (found {v!r})")
        return v

    @field_validator("limit", mode="before")
    @classmethod
    def limit_shape(cls, v):
        if v == UNLIMITED or (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            return v
        raise ValueError(f"a limit is a number of requests (0 or more) or \"unlimited\" (found {v!r})")

    @property
    def monthly_limit(self) -> int | None:
        """The limit as a number; None is unlimited."""
        return None if self.limit == UNLIMITED else self.limit

    @property
    def plan_value(self) -> str:
        return self.plan if self.plan is not None else self.name


# ---- where the app keeps a user's tier ----------------------------------------------------------------------
class TierSource(Part):
    """clerk_metadata: Clerk public_metadata[key]; jwt_claim: the claim in a token minted with the template;
    http: GET the app's `path` with the user's token (or an absolute `url` with {user_id}) and read `pointer`."""
    kind: Literal["clerk_metadata", "jwt_claim", "http"] = "clerk_metadata"
    key: str = "plan"  # clerk_metadata
    template: str | None = None  # jwt_claim
    claim: str = "plan"  # jwt_claim
    path: str | None = None  # http, on the app, with the user's token
    url: str | None = None  # http, anywhere, {user_id} filled in, no token
    pointer: str = "/tier"  # http
    absent: str | None = None  # what no value means; default: the free tier

    @field_validator("pointer")
    @classmethod
    def pointer_shape(cls, v):
        return check_pointer(v)

    @model_validator(mode="after")
    def complete(self):
        if self.kind == "jwt_claim" and not self.template:
            raise ValueError("kind = \"jwt_claim\" needs template (the JWT template's name, e.g. \"pan-api\")")
        if self.kind == "http" and not (self.path or self.url):
            raise ValueError("kind = \"http\" needs path (on the app, e.g. \"/api/me\") or url (with {user_id})")
        if self.path and not self.path.startswith("/"):
            raise ValueError(f"path must start with '/' (found {self.path!r})")
        return self


class JwtTemplate(Part):
    """A JWT template the app's tokens are minted with; created in the simulated Clerk for every run."""
    name: str = Field(min_length=1)
    claims: dict[str, Any]
    lifetime: int | None = Field(default=None, ge=30, le=315360000)


class Auth(Part):
    token_template: str | None = None  # the frontend's getToken({template}); none: the plain session token
    jwt_templates: list[JwtTemplate] = Field(default_factory=list)

    @model_validator(mode="after")
    def template_known(self):
        names = [t.name for t in self.jwt_templates]
        if self.token_template and self.token_template not in names:
            raise ValueError(f"token_template {self.token_template!r} is not among jwt_templates "
                             f"({', '.join(names) or 'none'}): add [[auth.jwt_templates]] name = "
                             f"\"{self.token_template}\" with its claims")
        return self


# ---- the app's API -------------------------------------------------------------------------------------------
class Call(Part):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: str

    @field_validator("path")
    @classmethod
    def absolute_path(cls, v):
        if not v.startswith("/"):
            raise ValueError(f"a path on the app starts with '/' (found {v!r})")
        return v


class Checkout(Call):
    body: dict[str, Any] = Field(default_factory=lambda: {"tier": "{tier}"})  # "{tier}": the tier's name
    session: str = "/url"  # JSON pointer to the Checkout URL or the session id in the answer

    @field_validator("session")
    @classmethod
    def pointer_shape(cls, v):
        return check_pointer(v)

    def body_for(self, tier: str) -> dict[str, Any]:
        """The body with "{tier}" filled in."""
        def fill(value):
            if isinstance(value, str):
                return value.replace("{tier}", tier)
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return [fill(v) for v in value] if isinstance(value, list) else value
        return fill(self.body)

    @field_validator("body")
    @classmethod
    def names_tier(cls, v):
        if "{tier}" not in repr(v):
            raise ValueError(f"the body must carry the tier as \"{{tier}}\" somewhere (found {v!r})")
        return v


class Portal(Call):
    url: str = "/url"  # JSON pointer to the portal URL in the answer

    @field_validator("url")
    @classmethod
    def pointer_shape(cls, v):
        return check_pointer(v)


class Usage(Call):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    used: str  # JSON pointers into the answer
    limit: str
    tier: str | None = None
    unlimited: str | int | bool | None = UNLIMITED  # how the answer spells no limit; the string "null": JSON null

    @field_validator("used", "limit", "tier")
    @classmethod
    def pointer_shapes(cls, v):
        return check_pointer(v)

    @property
    def unlimited_value(self):
        return None if self.unlimited == "null" else self.unlimited


class Metered(Call):
    limit_status: int = Field(ge=400, le=599)  # the status that means "limit reached" (403, 429, 402...)


class Api(Part):
    checkout: Checkout | None = None
    portal: Portal | None = None
    usage: Usage | None = None
    metered: Metered | None = None


class Webhook(Part):
    path: str = "/webhook/stripe"

    @field_validator("path")
    @classmethod
    def absolute_path(cls, v):
        if not v.startswith("/"):
            raise ValueError(f"the webhook path starts with '/' (found {v!r})")
        return v


# ---- env variable names the app reads ("" : the app does not read that setting) -------------------------------
ENV_SETTINGS = ("stripe_secret_key", "stripe_webhook_secret", "stripe_api_base", "stripe_portal_config",
                "clerk_secret_key", "clerk_publishable_key", "clerk_api_url", "clerk_frontend_url",
                "clerk_jwt_key", "frontend_url", "port")


class Env(Part):
    stripe_secret_key: str = "STRIPE_SECRET_KEY"
    stripe_webhook_secret: str = "STRIPE_WEBHOOK_SECRET"
    stripe_api_base: str = "STRIPE_API_BASE"  # where the app's Stripe client sends requests
    stripe_portal_config: str = "STRIPE_PORTAL_CONFIG_ID"
    clerk_secret_key: str = "CLERK_SECRET_KEY"
    clerk_publishable_key: str = "CLERK_PUBLISHABLE_KEY"
    clerk_api_url: str = "CLERK_API_URL"
    clerk_frontend_url: str = "CLERK_FRONTEND_URL"
    clerk_jwt_key: str = ""  # the PEM public key for networkless token verification
    frontend_url: str = "FRONTEND_URL"
    port: str = "PORT"
    values: dict[str, str] = Field(default_factory=dict)  # fixed values the app also needs

    @field_validator(*ENV_SETTINGS)
    @classmethod
    def env_name(cls, v):
        if v and not _ENV_NAME.fullmatch(v):
            raise ValueError(f"not an environment variable name (found {v!r})")
        return v

    @field_validator("values")
    @classmethod
    def value_names(cls, v):
        bad = [k for k in v if not _ENV_NAME.fullmatch(k)]
        if bad:
            raise ValueError(f"not an environment variable name (found {', '.join(map(repr, bad))})")
        return v


# ---- features the app offers (scenarios that need what it lacks are skipped, with the reason) ------------------
class Features(Part):
    trials: bool = False  # subscriptions with a trial period
    portal: bool = True  # the Stripe Customer Portal (cancel, update card)
    plan_changes_outside_app: bool = True  # a plan changed in the portal or Dashboard must reach the app
    promotion_codes: bool = True  # Checkout accepts promotion codes
    api_subscriptions: bool = True  # subscriptions made outside Checkout (Dashboard, back office) count


# what a scenario may declare it needs (Profile.lacks says why an app cannot play it)
NEEDS = (*Features.model_fields, "checkout", "usage", "metered", "two_paid_tiers", "unlimited_tier",
         "limited_paid_tier")


class Profile(Part):
    name: str = "app"
    free_tier: str | None = None  # default: the first tier
    tiers: list[Tier] = Field(min_length=2)
    tier_source: TierSource = Field(default_factory=TierSource)
    auth: Auth = Field(default_factory=Auth)
    api: Api = Field(default_factory=Api)
    webhook: Webhook = Field(default_factory=Webhook)
    env: Env = Field(default_factory=Env)
    features: Features = Field(default_factory=Features)

    @model_validator(mode="after")
    def consistent(self):
        names = [t.name for t in self.tiers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"tiers: each name once (found {', '.join(dupes)} twice)")
        if self.free_tier is None:
            self.free_tier = names[0]
        elif self.free_tier not in names:
            raise ValueError(f"free_tier {self.free_tier!r} is not a tier (tiers: {', '.join(names)})")
        for i, t in enumerate(self.tiers):
            if t.name == self.free_tier and t.price_env:
                raise ValueError(f"tiers[{i}] ({t.name}) is the free tier but has price_env {t.price_env!r}; "
                                 f"list the free tier first (or set free_tier)")
            if t.name != self.free_tier and not t.price_env:
                raise ValueError(f"tiers[{i}] ({t.name}): a paid tier needs price_env, the env variable that "
                                 f"carries its price id (found none)")
        plans = [t.plan_value for t in self.paid_tiers]
        if len(set(plans)) != len(plans):
            raise ValueError(f"tiers: two paid tiers share a metadata.plan value ({', '.join(plans)})")
        if self.tier_source.kind == "jwt_claim" and self.tier_source.template not in (
                [t.name for t in self.auth.jwt_templates]):
            raise ValueError(f"tier_source.template {self.tier_source.template!r} is not among "
                             f"auth.jwt_templates: add it with its claims")
        if self.tier_source.absent is not None and self.tier_source.absent not in names:
            raise ValueError(f"tier_source.absent {self.tier_source.absent!r} is not a tier ({', '.join(names)})")
        return self

    # ---- what the rest of tiersync asks --------------------------------------------------------------------
    @property
    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]

    @property
    def paid_tiers(self) -> list[Tier]:
        return [t for t in self.tiers if t.name != self.free_tier]

    def tier(self, name: str) -> Tier:
        for t in self.tiers:
            if t.name == name:
                return t
        raise KeyError(name)

    def limit_of(self, name: str) -> int | None:
        return self.tier(name).monthly_limit

    def tier_amounts(self) -> dict[str, int]:
        """Monthly price (cents) of each paid tier in the simulated world: as given, else rising by order."""
        return {t.name: t.amount or 1000 * (i + 1) for i, t in enumerate(self.paid_tiers)}

    def roles(self) -> dict[str, str | None]:
        """Tiers by the part they play in a story, for scenarios written once for every app."""
        paid = self.paid_tiers
        limited = [t.name for t in paid if t.monthly_limit is not None]
        unlimited = [t.name for t in self.tiers if t.monthly_limit is None]
        return {"free": self.free_tier, "paid": paid[0].name, "top": paid[-1].name,
                "other_paid": paid[1].name if len(paid) > 1 else None,
                "limited_paid": limited[0] if limited else None,
                "unlimited": unlimited[0] if unlimited else None}

    def variables(self) -> dict:
        """`${profile...}` in scenarios: tiers by role, each tier's limit and metadata.plan."""
        roles = self.roles()
        return {"tiers": {k: v for k, v in roles.items() if v is not None},
                "limits": {t.name: t.monthly_limit for t in self.tiers},
                "plans": {t.name: t.plan_value for t in self.tiers},
                "names": self.tier_names}

    def lacks(self, need: str) -> str | None:
        """Why the app cannot play a scenario that needs `need`, or None when it can."""
        if need in Features.model_fields:
            if need == "portal" and not self.api.portal and self.features.portal:
                return "the app's profile has no api.portal call"
            return None if getattr(self.features, need) else f"the app does not offer {need} (features.{need} in its profile)"
        api_part = {"checkout": "checkout", "usage": "usage", "metered": "metered"}.get(need)
        if api_part:
            return None if getattr(self.api, api_part) else f"the app's profile has no api.{api_part} call"
        roles = self.roles()
        if need == "two_paid_tiers":
            return None if roles["other_paid"] else "the app has one paid tier"
        if need == "unlimited_tier":
            return None if roles["unlimited"] else "the app has no unlimited tier"
        if need == "limited_paid_tier":
            return None if roles["limited_paid"] else "the app has no paid tier with a limit"
        raise KeyError(f"unknown need {need!r}; one of {', '.join(NEEDS)}")
