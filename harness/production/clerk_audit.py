"""The Clerk instance, read through its Backend API (plain HTTPS: the Python SDK is an optional
dependency): the secret key works, the publishable key names the same instance, the JWT template the app
names exists and carries the plan claim. Only GET requests."""

from __future__ import annotations

import base64
import binascii
import json

import httpx

from .expectations import AppExpectations
from .report import FAIL, PASS, SKIP, WARN, Check, masked_key
from .settings import AppSettings
from .stripe_audit import AuditAborted

CLERK_API = "https://api.clerk.com"


def frontend_host(publishable_key: str) -> str | None:
    """Clerk's publishable key is `pk_<mode>_` + base64("<frontend API host>$")."""
    encoded = publishable_key.split("_", 2)[-1]
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded[:-1] if decoded.endswith("$") and len(decoded) > 1 else None


class ClerkReader:
    def __init__(self, key: str, api_url: str = CLERK_API, timeout: float = 15.0):
        self.api_url = api_url.rstrip("/").removesuffix("/v1")
        self.http = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {key}"})

    def get(self, path: str, what: str):
        try:
            response = self.http.get(self.api_url + path)
        except httpx.HTTPError as exc:
            raise AuditAborted(f"cannot reach the Clerk Backend API at {self.api_url} while reading {what} "
                               f"({type(exc).__name__}; check --clerk-api-url and the network)") from None
        if response.status_code in (401, 403):
            raise AuditAborted(f"Clerk refused the secret key while reading {what} (HTTP {response.status_code}): "
                               "revoked, or from another instance") from None
        if response.status_code >= 400:
            raise AuditAborted(f"Clerk answered HTTP {response.status_code} while reading {what}")
        try:
            return response.json()
        except json.JSONDecodeError:
            raise AuditAborted(f"Clerk answered something that is not JSON while reading {what} "
                               "(is --clerk-api-url the Backend API?)") from None

    def close(self):
        self.http.close()


def _kids(jwks) -> set[str]:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    return {k.get("kid") for k in keys or [] if isinstance(k, dict) and k.get("kid")}


def instance_check(reader: ClerkReader, publishable_key: str | None, env_name: str) -> Check:
    """Same instance = the publishable key's Frontend API serves the keys the secret key's Backend API has."""
    backend_kids = _kids(reader.get("/v1/jwks", "the instance's JWKS"))
    if not publishable_key:
        return Check("clerk.instance", SKIP, f"{env_name} is not set: nothing to compare the secret key with")
    host = frontend_host(publishable_key)
    if host is None:
        return Check("clerk.instance", FAIL, f"{env_name} ({masked_key(publishable_key)}) does not decode to a "
                     "Frontend API host", f"copy {env_name} again from Clerk's API keys page")
    scheme = "http" if reader.api_url.startswith("http://") else "https"  # loopback simulators speak http
    try:
        response = httpx.get(f"{scheme}://{host}/.well-known/jwks.json", timeout=15)
        frontend_kids = _kids(response.json()) if response.status_code == 200 else set()
    except (httpx.HTTPError, ValueError):
        frontend_kids = None
    fix = f"take {env_name} and the secret key from the same Clerk application and instance (API keys page)"
    if frontend_kids is None:
        return Check("clerk.instance", WARN, f"{env_name}'s Frontend API ({host}) did not answer", fix)
    if not backend_kids or not (backend_kids & frontend_kids):
        return Check("clerk.instance", FAIL, f"{env_name} belongs to another Clerk instance ({host}): its session "
                     "tokens will not verify with the secret key's JWKS", fix)
    return Check("clerk.instance", PASS, f"secret and publishable keys name one instance ({host})")


def template_check(reader: ClerkReader, exp: AppExpectations, settings: AppSettings) -> Check:
    name = exp.template_name(settings)
    if not name:
        return Check("clerk.jwt_template", SKIP, "the app names no JWT template (it reads the tier elsewhere)")
    found = reader.get("/v1/jwt_templates", "the JWT templates")
    templates = found.get("data", []) if isinstance(found, dict) else found
    template = next((t for t in templates or [] if isinstance(t, dict) and t.get("name") == name), None)
    where = f"named by {exp.jwt_template_env}" if exp.jwt_template_env and settings.get(exp.jwt_template_env) \
        else "named by the app"
    source = exp.template_source()
    wanted = f'{{"{exp.plan_claim}": "{{{{{source}}}}}"}}'
    if template is None:
        names = ", ".join(sorted(t.get("name", "?") for t in templates or [] if isinstance(t, dict))) or "none"
        return Check("clerk.jwt_template", FAIL, f"no JWT template {name!r} ({where}); this instance has: {names}",
                     f"create template {name!r} with claims {wanted} (Clerk Dashboard > JWT templates)")
    claims = template.get("claims") or {}
    if isinstance(claims, str):
        try:
            claims = json.loads(claims)
        except json.JSONDecodeError:
            claims = {}
    value = claims.get(exp.plan_claim) if isinstance(claims, dict) else None
    if value is None:
        return Check("clerk.jwt_template", FAIL, f"template {name!r} has no {exp.plan_claim!r} claim: every "
                     "session reads as free", f"add {wanted} to the template's claims")
    if source not in str(value):
        return Check("clerk.jwt_template", FAIL, f"template {name!r}'s {exp.plan_claim!r} claim is {value!r}, "
                     f"not {{{{{source}}}}}", f"set the claim to {wanted}")
    return Check("clerk.jwt_template", PASS, f"template {name!r} carries {exp.plan_claim!r} from {source}")
