"""The scenario language. A scenario is a name, the one real bug it catches, and steps; each step is a
one-key mapping `{kind: arguments}` whose arguments a pydantic model validates.

    name: upgrade-with-card
    catches: "user pays with a card and stays on free"
    steps:
      - user: ada
      - checkout: {user: ada, tier: pro}
      - expect: {tier: {user: ada, is: pro}, within: 5}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .checks import (
    Check,
    ClerkMetadataCheck,
    ClerkWritesCheck,
    DeliveriesCheck,
    DeliveryCheck,
    InvoicesCheck,
    JwtClaimCheck,
    ResponseCheck,
    ResponsesCheck,
    SubscriptionCheck,
    SyncErrorCheck,
    TierCheck,
    UsageCheck,
)


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


CARDS = {"visa": "pm_card_visa", "mastercard": "pm_card_mastercard", "declined": "pm_card_chargeDeclined",
         "fails_later": "pm_card_chargeCustomerFail", "insufficient_funds": "pm_card_chargeDeclinedInsufficientFunds",
         "3ds": "pm_card_threeDSecure2Required", "none": ""}


# ---- set-up ----------------------------------------------------------------------------------------
class UserArgs(Args):
    name: str
    email: str | None = None
    password: str = "correct-horse-battery-staple"
    public_metadata: dict[str, Any] = Field(default_factory=dict)


class ProductArgs(Args):
    name: str  # the variable name: ${products.NAME}
    plan: str | None = None  # metadata.plan; omitted when null
    metadata: dict[str, str] = Field(default_factory=dict)
    amount: int = 1900
    interval: Literal["day", "week", "month", "year"] = "month"
    currency: str = "usd"
    mode: Literal["test", "live"] = "test"  # live: made with the live key (a price the test key can't see)


class CouponArgs(Args):
    name: str
    percent_off: float | None = None
    amount_off: int | None = None
    duration: Literal["once", "repeating", "forever"] = "once"
    duration_in_months: int | None = None
    code: str | None = None  # also create a promotion code with this code
    max_redemptions: int | None = None

    @model_validator(mode="after")
    def one_discount(self):
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("give exactly one of percent_off and amount_off")
        return self


class EndpointArgs(Args):
    """An extra webhook endpoint (the seed's 'multiple webhooks' mistake), to the target or elsewhere."""
    url: str | None = None  # default: the target's webhook URL
    events: list[str] = Field(default_factory=lambda: ["*"])
    mode: Literal["test", "live"] = "test"
    disabled: bool = False


# ---- billing actions ---------------------------------------------------------------------------------
class CheckoutArgs(Args):
    user: str
    tier: str | None = None
    price: str | None = None  # a price id or ${products.X.price}; default: the world's price for `tier`
    card: str = "visa"
    promotion_code: str | None = None
    via: Literal["receiver", "api"] = "receiver"
    expect_failure: bool = False  # Stripe refuses the session or the payment
    collect_card: Literal["always", "if_required"] = "always"  # with via: api

    @field_validator("card")
    @classmethod
    def known_card(cls, v):
        if v not in CARDS and not v.startswith("pm_"):
            raise ValueError(f"unknown card {v!r}; one of {', '.join(CARDS)} or a pm_ token")
        return v

    @model_validator(mode="after")
    def tier_or_price(self):
        if not self.tier and not self.price:
            raise ValueError("give tier or price")
        return self


class SubscribeArgs(Args):
    """A subscription made through the API (not Checkout), as a back office would."""
    user: str
    tier: str | None = None
    price: str | None = None
    card: str = "visa"
    user_id_metadata: bool = True  # set metadata.userId on the subscription
    trial_days: int | None = None


class ChangePlanArgs(Args):
    user: str
    to: str  # a tier of the world, or a price id
    proration: Literal["create_prorations", "none", "always_invoice"] = "create_prorations"


class CancelArgs(Args):
    user: str
    at_period_end: bool = False


class AdvanceArgs(Args):
    days: float = 0
    hours: float = 0
    to_period_end: str | None = None  # a user: just past the end of their current period

    @model_validator(mode="after")
    def some_time(self):
        if not (self.days or self.hours or self.to_period_end):
            raise ValueError("give days, hours or to_period_end")
        return self


class UpdateProductArgs(Args):
    """Edit a product's metadata.plan as someone in the Dashboard would."""
    product: str  # a tier of the app (its seeded product) or a product name from a `product` step
    plan: str | None = None
    remove_plan: bool = False
    variant: Literal["capitalized", "padded"] | None = None  # the tier's own plan value, miscased or padded

    @model_validator(mode="after")
    def one_change(self):
        if sum((self.plan is not None, self.remove_plan, self.variant is not None)) != 1:
            raise ValueError("give exactly one of plan, remove_plan and variant")
        return self


# ---- webhooks ------------------------------------------------------------------------------------------
class SignArgs(Args):
    secret: Literal["endpoint", "other_mode", "wrong", "stale"] = "endpoint"
    timestamp_offset: int = 0
    header: Literal["missing", "malformed", "no_v1"] | None = None
    body: Literal["reserialized", "crlf"] | None = None


class SendEventArgs(Args):
    """POST a hand-written event straight to the target's webhook URL, signed (or broken) as asked."""
    type: str
    object: dict[str, Any] | None = None  # data.object; or fetch it:
    retrieve: str | None = None  # e.g. "subscription ${users.ada.subscription}"
    id: str | None = None
    livemode: bool = False
    previous_attributes: dict[str, Any] | None = None
    sign: SignArgs = Field(default_factory=SignArgs)
    times: int = 1
    concurrent: bool = False


class FixtureArgs(Args):
    file: str
    env: dict[str, str] = Field(default_factory=dict)


class FaultArgs(Args):
    """Delivery faults for the events that follow (see harness/stripe_sim/webhooks/faults.py)."""
    kind: Literal["duplicate", "delay", "drop", "hold", "reverse", "shuffle", "sign", "timestamp", "header",
                  "body", "zero_ids"]
    event_type: str | None = None
    count: int | None = None
    copies: int | None = None
    concurrent: bool | None = None
    seconds: float | None = None
    attempts: int | None = None
    until: str | None = None
    window: int | None = None
    seed: int | None = None
    secret: str | None = None
    offset: int | None = None
    value: str | None = None


class DuplicateArgs(Args):
    copies: int = 2
    concurrent: bool = False
    event_type: str | None = None
    count: int | None = None


class ReorderArgs(Args):
    mode: Literal["reverse", "shuffle", "hold"] = "reverse"
    window: int = 2
    until: str | None = None  # with mode hold: the event type to wait for
    event_type: str | None = None
    seed: int = 0

    @model_validator(mode="after")
    def hold_needs_until(self):
        if self.mode == "hold" and not self.until:
            raise ValueError("mode hold needs until: <event type>")
        return self


class DelayArgs(Args):
    seconds: float
    event_type: str | None = None


class DropArgs(Args):
    attempts: int = 1
    event_type: str | None = None
    count: int | None = None


class ApiFaultArgs(Args):
    """One API path fails for its next `count` calls. For your own scenarios about your own app: the catalog
    uses `outage`, which reaches whatever call an app makes."""
    service: Literal["stripe", "clerk"]
    path: str  # stripe: a glob like /v1/subscriptions/*; clerk: "PATCH /v1/users/{user_id}/metadata"
    status: Literal["500", "429", "timeout"] = "500"
    count: int = 1


class OutageArgs(Args):
    """From now until a `recover` step, a service fails every call the app makes to it (or every read, or
    every write), whichever endpoint or SDK method it uses: 500s, or 429 rate limiting with Retry-After.
    The engine's own calls to that service fail too, so an outage sits between steps that need none."""
    service: Literal["stripe", "clerk"]
    calls: Literal["all", "reads", "writes"] = "all"
    status: Literal["500", "429"] = "500"


class RecoverArgs(Args):
    """The service answers again (its outage and API faults end)."""
    service: Literal["stripe", "clerk", "all"] = "all"


class ResendArgs(Args):
    """Deliver an event again, as Stripe does when an answer was lost or someone runs `stripe events
    resend`: the same event (same id), to the app's endpoint, now."""
    event_type: str  # the latest event of this type since the scenario began


class RollSecretArgs(Args):
    """The Dashboard's "Roll secret" on the target's endpoint: a new secret now, the old one (the receiver's)
    still valid for `expires_in` seconds; meanwhile each delivery carries one v1 per valid secret, new first."""
    expires_in: int = 86400


class ClearFaultsArgs(Args):
    pass


class RetryArgs(Args):
    """Let the simulator's retry schedule run (virtual time) for this long."""
    hours: float = 1


class TokenArgs(Args):
    user: str
    save_as: str
    template: str | None = None


class JwtTemplateArgs(Args):
    """A Clerk JWT template (`POST /v1/jwt_templates`), e.g. the seed's {"plan": "{{user.public_metadata.plan}}"}."""
    name: str
    claims: dict[str, Any]
    lifetime: int | None = None


class RequestsArgs(Args):
    """Make the app's metered call as the user and remember the answers: `count` times, or one more than the
    monthly limit of a tier (`past_limit_of: free`; `"*"`: the highest limit of any tier)."""
    user: str
    count: int | None = None
    past_limit_of: str | None = None
    token: str | None = None  # a token saved by a `token` step (e.g. a stale one); default: a fresh one

    @model_validator(mode="after")
    def how_many(self):
        if (self.count is None) == (self.past_limit_of is None):
            raise ValueError("give count or past_limit_of")
        return self


class WaitArgs(Args):
    seconds: float = 0


class ReplayArgs(Args):
    """Replay recorded Stripe events (an incident, as `tiersync repro --write-scenario` writes it) to the
    target's webhook, re-signed with its secret; before each delivery the simulator holds the objects as
    Stripe did then (see harness/engine/replay.py)."""
    events: list[dict[str, Any]]  # Event objects, oldest first; ${users.NAME.id} where the app's user id was
    order: Literal["delivered", "created", "shuffled", "duplicated"] = "created"  # delivered: as `deliveries` say
    deliveries: list[dict[str, Any]] = Field(default_factory=list)  # attempts {event: evt_..., at: seconds}
    objects: list[dict[str, Any]] = Field(default_factory=list)  # objects the events reference but do not carry
    seed: int = 0  # for order: shuffled

    @model_validator(mode="after")
    def deliveries_for_delivered(self):
        if not self.events:
            raise ValueError("give at least one event")
        if self.order == "delivered" and not self.deliveries:
            raise ValueError("order delivered needs deliveries: [{event: evt_..., at: ...}, ...]")
        return self


# ---- expectations (the checks are in checks.py) -------------------------------------------------------------
class ExpectArgs(Args):
    within: float = 0
    tier: TierCheck | None = None
    clerk_metadata: ClerkMetadataCheck | None = None
    usage: UsageCheck | None = None
    response: ResponseCheck | None = None
    responses: ResponsesCheck | None = None
    delivery: DeliveryCheck | None = None
    deliveries: DeliveriesCheck | None = None
    jwt_claim: JwtClaimCheck | None = None
    subscription: SubscriptionCheck | None = None
    sync_error: SyncErrorCheck | None = None
    clerk_writes: ClerkWritesCheck | None = None
    invoices: InvoicesCheck | None = None

    @model_validator(mode="after")
    def something(self):
        if not any(getattr(self, k) is not None for k in type(self).model_fields if k != "within"):
            raise ValueError("an expect step needs at least one check")
        return self

    def checks(self) -> dict[str, dict]:
        """Each check given, by name, as the plain mapping its check function reads."""
        return {k: v.spec() for k in type(self).model_fields if isinstance(v := getattr(self, k), Check)}


STEP_MODELS: dict[str, type[Args]] = {
    "user": UserArgs, "product": ProductArgs, "coupon": CouponArgs, "webhook_endpoint": EndpointArgs,
    "checkout": CheckoutArgs, "subscribe": SubscribeArgs, "change_plan": ChangePlanArgs, "cancel": CancelArgs,
    "advance_clock": AdvanceArgs, "update_product": UpdateProductArgs, "send_event": SendEventArgs,
    "fixture": FixtureArgs, "fault": FaultArgs, "duplicate": DuplicateArgs, "reorder": ReorderArgs,
    "delay": DelayArgs, "drop": DropArgs, "api_fault": ApiFaultArgs, "outage": OutageArgs, "recover": RecoverArgs,
    "resend": ResendArgs, "clear_faults": ClearFaultsArgs,
    "roll_secret": RollSecretArgs, "let_retries_run": RetryArgs, "jwt_template": JwtTemplateArgs,
    "token": TokenArgs, "requests": RequestsArgs, "wait": WaitArgs, "replay": ReplayArgs, "expect": ExpectArgs,
}
# shorthand: `- user: ada` means `- user: {name: ada}`
SCALAR_FIELD = {"user": "name", "cancel": "user", "clear_faults": None, "wait": "seconds", "duplicate": "copies",
                "delay": "seconds", "drop": "attempts", "recover": "service", "resend": "event_type"}


class Step(BaseModel):
    kind: str
    args: Args
    line: int | None = None


class Scenario(BaseModel):
    name: str
    catches: str  # the bug, as its author would describe it
    consequence: str | None = None  # what a user or the SaaS owner sees when it fails: "a cancelled customer keeps Pro"
    severity: Literal["bug", "advice"] = "bug"  # advice: hardening, not a user-visible bug (fails only with --strict)
    needs: list[str] = Field(default_factory=list)  # what the app must offer (tiersync.profile.NEEDS)
    group: str = "general"
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    steps: list[Step]
    path: str | None = None
    targets: list[str] = Field(default_factory=lambda: ["any"])  # "reference": needs reference-only features
