"""Stripe-shaped errors. Every failure the simulator reports is one of these, rendered as
`{"error": {...}}` with the status Stripe uses, so the SDK maps it to the right exception class."""

from __future__ import annotations


class StripeError(Exception):
    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None,
                 status: int | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        if status is not None:
            self.status = status
        self.extra = extra

    def body(self, request_id: str | None = None, mode: str | None = None) -> dict:
        err = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        if request_id:
            where = "" if mode == "live" else "test/"
            err["request_log_url"] = f"https://dashboard.stripe.com/{where}logs/{request_id}"
        err.update(self.extra)
        return {"error": err}


class InvalidRequest(StripeError):
    pass


class AuthenticationFailed(StripeError):
    status = 401


class IdempotencyError(StripeError):
    type = "idempotency_error"


class CardError(StripeError):
    status = 402
    type = "card_error"


class RateLimited(StripeError):
    status = 429
    type = "invalid_request_error"


class ApiError(StripeError):
    status = 500
    type = "api_error"


def missing(param: str) -> InvalidRequest:
    return InvalidRequest(f"Missing required param: {param}.", code="parameter_missing", param=param)


def unknown_params(names: list[str]) -> InvalidRequest:
    if len(names) == 1:
        return InvalidRequest(f"Received unknown parameter: {names[0]}", code="parameter_unknown",
                              param=names[0])
    return InvalidRequest(f"Received unknown parameters: {', '.join(names)}", code="parameter_unknown",
                          param=names[0])


def invalid(param: str, message: str, code: str = "parameter_invalid") -> InvalidRequest:
    return InvalidRequest(message, code=code, param=param)


def no_such(kind: str, obj_id: str, param: str | None = None, other_mode: str | None = None) -> InvalidRequest:
    """`resource_missing`: 404 on retrieve (param None), 400 naming the referencing param otherwise.
    `other_mode` ('live'/'test') adds Stripe's hint that the id exists in the other mode."""
    msg = f"No such {kind}: '{obj_id}'"
    if other_mode:
        used = "test" if other_mode == "live" else "live"
        msg += (f"; a similar object exists in {other_mode} mode, but a {used} mode key was used to "
                "make this request.")
    return InvalidRequest(msg, code="resource_missing", param=param or "id", status=400 if param else 404)


def card_declined(decline_code: str = "generic_decline", message: str = "Your card was declined.",
                  param: str | None = None, charge: str | None = None) -> CardError:
    extra = {"decline_code": decline_code}
    if charge:
        extra["charge"] = charge
    return CardError(message, code="card_declined", param=param, **extra)


def mask_key(key: str) -> str:
    """`sk_test_****1234`: the prefix and the last four characters, as Stripe prints keys."""
    parts = key.split("_")
    if len(parts) >= 3 and parts[0] in ("sk", "rk", "pk") and parts[1] in ("test", "live"):
        return f"{parts[0]}_{parts[1]}_****{key[-4:]}"
    if key.startswith("whsec_"):
        return f"whsec_****{key[-4:]}"
    return f"****{key[-4:]}" if len(key) > 4 else "****"
