"""Session tokens: RSA signing key, JWKS, minting, verification and JWT-template claims.

Session tokens are RS256 JWTs signed with the instance key, whose public half is served as
a JWKS at ``/v1/jwks`` (Backend API, secret key required) and ``/.well-known/jwks.json``
(Frontend API, public). The ``kid`` is derived from the key itself, so two simulator
instances never share a ``kid``: the Python SDK caches JWKs by kid for 5 minutes.

Template claims use Clerk's shortcodes: ``"{{user.public_metadata.plan}}"``. A string that
is exactly one shortcode takes the value's JSON type (object, number, null...); a string
mixing text and shortcodes interpolates (null becomes ""). ``{{a || b || 'literal'}}``
falls back left to right, skipping null and missing values.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Claims every Clerk token carries; templates cannot override them.
RESERVED_CLAIMS = frozenset({"azp", "exp", "iat", "iss", "jti", "nbf", "sid", "sub"})
DEFAULT_LIFETIME_S = 60
DEFAULT_CLOCK_SKEW_S = 5
# Clerk back-dates nbf a little so that slightly slow verifier clocks accept fresh tokens.
NBF_BACKDATE_S = 10
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SigningKey:
    """The instance's RSA key pair."""

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None) -> None:
        self._private = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._private.public_key().public_numbers()
        thumb = hashlib.sha256(f"{numbers.n}:{numbers.e}".encode()).digest()
        self.kid = "ins_" + base64.b32encode(thumb).decode().rstrip("=").lower()[:27]
        self._jwk = {
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }
        self.public_pem = (
            self._private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})


class TokenRejected(Exception):
    """A token failed verification; ``reason`` uses the SDKs' reason strings."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def verify(
    token: str,
    key: SigningKey,
    *,
    now: float,
    leeway: float = DEFAULT_CLOCK_SKEW_S,
    verify_exp: bool = True,
) -> dict[str, Any]:
    """Verify an instance-signed token the way Clerk's SDKs do; raise TokenRejected."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenRejected("token-invalid", "Token is not a JWT (expected three dot-separated parts).")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("token-invalid", f"Token header cannot be decoded: {exc}") from exc
    if header.get("alg") != "RS256":
        raise TokenRejected("token-invalid", f"Unsupported JWT algorithm {header.get('alg')!r}; expected RS256.")
    if header.get("kid") != key.kid:
        raise TokenRejected(
            "jwk-kid-mismatch", f"No signing key in the JWKS matches kid={header.get('kid')!r}."
        )
    try:
        claims = jwt.decode(
            token,
            key.public_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenRejected("token-invalid-signature", "Token signature is invalid.") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("token-invalid", f"Token cannot be decoded: {exc}") from exc
    # Time checks run on the simulator's clock, so tests can move time without sleeping.
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if verify_exp and (not isinstance(exp, int) or exp + leeway <= now):
        raise TokenRejected("token-expired", f"Token expired at {exp} (now {int(now)}).")
    if isinstance(nbf, int) and nbf - leeway > now:
        raise TokenRejected("token-not-active-yet", f"Token is not valid before {nbf} (now {int(now)}).")
    if isinstance(iat, int) and iat - leeway > now:
        raise TokenRejected("token-iat-in-the-future", f"Token was issued in the future ({iat}).")
    return claims


@dataclass
class MintRequest:
    user_id: str
    session_id: str
    issuer: str
    issued_at: int
    lifetime: int
    azp: str | None = None
    extra_claims: dict[str, Any] | None = None


def session_claims(req: MintRequest) -> dict[str, Any]:
    claims: dict[str, Any] = dict(req.extra_claims or {})
    claims.update(
        {
            "exp": req.issued_at + req.lifetime,
            "fva": [0, -1],
            "iat": req.issued_at,
            "iss": req.issuer,
            "jti": secrets.token_hex(10),
            "nbf": req.issued_at - NBF_BACKDATE_S,
            "sid": req.session_id,
            "sts": "active",
            "sub": req.user_id,
            "v": 2,
        }
    )
    if req.azp:
        claims["azp"] = req.azp
    return claims


def template_claims(req: MintRequest) -> dict[str, Any]:
    claims: dict[str, Any] = dict(req.extra_claims or {})
    claims.update(
        {
            "exp": req.issued_at + req.lifetime,
            "iat": req.issued_at,
            "iss": req.issuer,
            "jti": secrets.token_hex(10),
            "nbf": req.issued_at - NBF_BACKDATE_S,
            "sid": req.session_id,
            "sub": req.user_id,
        }
    )
    if req.azp:
        claims["azp"] = req.azp
    return claims


def sign_with_template_key(claims: dict[str, Any], algorithm: str, signing_key: str) -> str:
    return jwt.encode(claims, signing_key, algorithm=algorithm, headers={"typ": "JWT"})


# -- shortcodes ------------------------------------------------------------------------------

_WHOLE = re.compile(r"^\s*\{\{(.+?)\}\}\s*$", re.S)
_ANY = re.compile(r"\{\{(.+?)\}\}", re.S)
_MISSING = object()


def _resolve_path(path: str, context: dict[str, Any]) -> Any:
    node: Any = context
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _literal(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return _MISSING


def _evaluate(expression: str, context: dict[str, Any]) -> Any:
    for alternative in expression.split("||"):
        alternative = alternative.strip()
        if not alternative:
            continue
        value = _literal(alternative)
        if value is _MISSING:
            value = _resolve_path(alternative, context)
        if value is not _MISSING and value is not None:
            return value
    return None


def render_claims(template: Any, context: dict[str, Any]) -> Any:
    """Expand shortcodes in a (nested) claims template."""
    if isinstance(template, dict):
        return {key: render_claims(value, context) for key, value in template.items()}
    if isinstance(template, list):
        return [render_claims(value, context) for value in template]
    if isinstance(template, str):
        whole = _WHOLE.match(template)
        if whole and "{{" not in whole.group(1):
            return _evaluate(whole.group(1), context)

        def interpolate(match: re.Match[str]) -> str:
            value = _evaluate(match.group(1), context)
            if value is None:
                return ""
            return value if isinstance(value, str) else json.dumps(value)

        return _ANY.sub(interpolate, template)
    return template


def shortcode_context(user: dict[str, Any], session: dict[str, Any] | None) -> dict[str, Any]:
    """The values Clerk exposes to shortcodes, built from the API ``User`` JSON."""
    primary = next(
        (e for e in user.get("email_addresses", []) if e.get("id") == user.get("primary_email_address_id")),
        None,
    )
    full_name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or None
    user_ctx = {
        "id": user["id"],
        "external_id": user.get("external_id"),
        "first_name": user.get("first_name"),
        "last_name": user.get("last_name"),
        "full_name": full_name,
        "username": user.get("username"),
        "primary_email_address": primary["email_address"] if primary else None,
        "email_verified": bool(primary and (primary.get("verification") or {}).get("status") == "verified"),
        "primary_phone_number": None,
        "phone_number_verified": False,
        "image_url": user.get("image_url"),
        "has_image": user.get("has_image", False),
        "two_factor_enabled": user.get("two_factor_enabled", False),
        "created_at": user.get("created_at"),
        "updated_at": user.get("updated_at"),
        "public_metadata": user.get("public_metadata", {}),
        "unsafe_metadata": user.get("unsafe_metadata", {}),
    }
    session_ctx = {"id": session["id"], "actor": None} if session else {"id": None, "actor": None}
    return {"user": user_ctx, "session": session_ctx, "org": {}}
