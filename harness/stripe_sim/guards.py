"""Checks a request passes before it runs: which route serves it (Stripe's 404 for every path it does not),
who may call a control route, and the headers Stripe refuses (an unknown connected account, an
Idempotency-Key of the wrong length)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ..server import loopback_origin
from .errors import InvalidRequest, mask_key
from .routing import ROUTES, Route


def match_route(method: str, path: str) -> tuple[Route, dict]:
    """The route and its path parameters, or Stripe's 404 "Unrecognized request URL"."""
    path = unquote(path)
    literal = _literal_routes().get(path)  # `/v1/customers/search` before `/v1/customers/{id}`
    if literal:
        if method in literal:
            return literal[method], {}
        raise unrecognized(method, path)
    parts = path.split("/")
    if len(parts) > 3 and (parts[2], parts[3]) in NOT_IDS:
        raise unrecognized(method, path)
    for r in ROUTES:
        if r.method == method:
            m = r.pattern.match(path)
            if m:
                return r, m.groupdict()
    raise unrecognized(method, path)  # a path served for another method too: Stripe answers 404 alike


# Stripe endpoints under a collection that the simulator does not serve: they are Stripe's own paths, never an
# object id (`GET /v1/invoices/upcoming`, removed in 2025-03-31.basil, is no retrieve of an invoice "upcoming").
NOT_IDS = frozenset({("invoices", "upcoming")})


def unrecognized(method: str, path: str) -> InvalidRequest:
    hint = ""
    if path.endswith("/") and path != "/":
        hint = (" If you are trying to list objects, remove the trailing slash. If you are trying to retrieve an "
                "object, make sure you passed a valid (non-empty) identifier in your code.")
    return InvalidRequest(f"Unrecognized request URL ({method}: {path}).{hint} Please see https://stripe.com/docs "
                          "or we can help at https://support.stripe.com/.", status=404)


_LITERALS: dict[str, dict[str, Route]] = {}
_LITERALS_OF: list[int] = [0]  # how many routes the index was built from


def _literal_routes() -> dict[str, dict[str, Route]]:
    """Routes without path parameters by path and method; rebuilt only when routes were added."""
    if _LITERALS_OF[0] != len(ROUTES):
        _LITERALS.clear()
        for r in ROUTES:
            if "{" not in r.template:
                _LITERALS.setdefault(r.template, {})[r.method] = r
        _LITERALS_OF[0] = len(ROUTES)
    return _LITERALS


def _bearer(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "").strip()
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(origin: str | None, public_url: str):
    """Control routes answer only requests without a foreign `Origin`: the hosted pages (the simulator's
    own origin) and pages on loopback; any other web page a developer opens may not drive them."""
    if origin is None or loopback_origin(origin) or origin.rstrip("/").lower() == _origin_of(public_url):
        return
    raise InvalidRequest(f"Control routes answer only the simulator's own pages and loopback origins, not "
                         f"{origin[:200]}.", status=403)


def check_account(headers: dict[str, str]):
    """Connect is not simulated: a `Stripe-Account` is refused as Stripe refuses an account the key cannot
    reach, never served from the platform's own objects."""
    account = headers.get("stripe-account")
    if account:
        raise InvalidRequest(
            f"The provided key '{mask_key(_bearer(headers))}' does not have access to account '{account[:100]}' "
            "(or that account does not exist). Application access may have been revoked.",
            code="account_invalid", status=403)


def check_idempotency_key(idem: str | None):
    if idem is not None and not 1 <= len(idem) <= 255:
        raise InvalidRequest(f"Idempotent key length is {len(idem)}, which is outside accepted lengths. "
                             "Idempotent Keys must be 1-255 characters long. If you're looking for a "
                             "decent generator, try using a UUID defined by IETF RFC 4122.")
