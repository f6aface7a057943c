"""The checks an `expect` step makes, one model each, so a misspelt field (`tier: {user: ada, iss: pro}`)
is a load error naming the file, step and field, never a KeyError at run time. Values may hold ${...}
references: they are filled in when the check runs, so most fields accept text as well as their own type.
Each check's function (harness/engine/expectations.py) reads `Check.spec()`: the fields the scenario gave."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Ref = str  # a ${...} reference, resolved at run time


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def spec(self) -> dict:
        """What the check function reads: the fields the scenario gave (an explicit null kept)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class TierCheck(Check):
    """The tier the app gives the user, read where the app keeps it: exactly `is`, or anything but `is_not`
    (when more than one answer is right, as for a product without a plan: keep the tier, or read the
    tier from the price)."""
    user: str
    is_: str | None = Field(default=None, alias="is")
    is_not: str | None = None

    @model_validator(mode="after")
    def one_of(self):
        if (self.is_ is None) == (self.is_not is None):
            raise ValueError("give exactly one of is and is_not")
        return self


class ClerkMetadataCheck(Check):
    """Keys of the user's Clerk public_metadata: `includes` these values, `lacks` these keys."""
    user: str
    includes: dict[str, Any] | None = None
    lacks: list[str] | None = None

    @model_validator(mode="after")
    def something(self):
        if self.includes is None and self.lacks is None:
            raise ValueError("give includes or lacks")
        return self


class UsageCheck(Check):
    """The app's usage answer for the user; `limit: null` means unlimited."""
    user: str
    limit: int | Ref | None = None
    used: int | Ref | None = None
    tier: str | None = None

    @model_validator(mode="after")
    def something(self):
        if not self.model_fields_set - {"user"}:
            raise ValueError("give limit, used or tier")
        return self


class ResponseCheck(Check):
    """The receiver's answer to the last `send_event`."""
    status: int | None = None
    status_in: list[int] | None = None
    body_contains: str | None = None
    max_ms: float | None = None


class ResponsesCheck(Check):
    """The answers to the last `requests` step: how many succeeded, how many were refused at the limit."""
    ok: int | Ref | None = None
    limited: int | Ref | None = None


class DeliveryCheck(Check):
    """The last delivery attempt (of `event_type`, or of any event) since the scenario began."""
    event_type: str | None = None
    status: int | None = None
    status_in: list[int] | None = None
    max_ms: float | None = None
    outcome: str | None = None


class DeliveriesCheck(Check):
    """Every event delivered since the scenario began (or those of `event_type`)."""
    event_type: str | None = None
    min_attempts: int | None = None
    max_attempts: int | None = None
    all_ok: bool | None = None


class JwtClaimCheck(Check):
    """A claim of a saved token (`token`) or of a fresh one for `user` (with `template`)."""
    token: str | None = None
    user: str | None = None
    template: str | None = None
    claim: str
    is_: Any = Field(default=None, alias="is")

    @model_validator(mode="after")
    def token_or_user(self):
        if (self.token is None) == (self.user is None):
            raise ValueError("give exactly one of token and user")
        return self


class SubscriptionCheck(Check):
    """The user's Stripe subscription, as Stripe has it."""
    user: str
    status: str | None = None
    cancel_at_period_end: bool | None = None


class SyncErrorCheck(Check):
    """A sync error the receiver recorded (receivers that expose /admin/sync-errors)."""
    kind: str | None = None
    none: bool | None = None


class ClerkWritesCheck(Check):
    """Successful metadata writes Clerk saw for the user (a count, so use it only where the count itself is
    what a user would see: `max: 0` after a forged or refused event)."""
    user: str
    max: int | None = None
    min: int | None = None


class InvoicesCheck(Check):
    """The user's paid invoices: at least `paid` of them; the latest one's `amount_paid`."""
    user: str
    paid: int | None = None
    amount_paid: int | None = None
