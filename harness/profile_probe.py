"""Before any scenario runs: ask the app once, as a throwaway user, and check that every JSON pointer of its
profile matches something in its real answers (usage, the http tier source, checkout). A pointer that
matches nothing is a problem of the profile, reported by field, not 50 failed scenarios."""

from __future__ import annotations

import json
import secrets

import httpx

from .profile import Call, resolve_pointer


def _clerk(target, client: httpx.Client, method: str, path: str, **kw) -> httpx.Response:
    return client.request(method, f"{target.clerk_api_url}{path}",
                          headers={"Authorization": f"Bearer {target.clerk_secret_key}"}, **kw)


def _token(target, client: httpx.Client, user_id: str) -> str:
    session = _clerk(target, client, "POST", "/v1/sessions", json={"user_id": user_id})
    session.raise_for_status()
    template = target.profile.auth.token_template
    path = f"/v1/sessions/{session.json()['id']}/tokens" + (f"/{template}" if template else "")
    r = _clerk(target, client, "POST", path, json={})
    r.raise_for_status()
    return r.json()["jwt"]


def _check_pointers(client: httpx.Client, url: str, where: str, call_name: str, method: str, token: str | None,
                    pointers: dict[str, str], body=None) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = client.request(method, url, headers=headers, **({"json": body} if body is not None else {}))
    if r.status_code >= 400:
        return [f"{call_name}: the app answered {where} with {r.status_code}: {r.text[:200]}"]
    try:
        answer = r.json()
    except ValueError:
        return [f"{call_name}: the app answered {where} with no JSON: {r.text[:200]!r}"]
    problems = []
    for field, pointer in pointers.items():
        try:
            resolve_pointer(answer, pointer)
        except KeyError:
            problems.append(f"{call_name}.{field}: {pointer!r} matches nothing in the app's answer to {where} "
                            f"({json.dumps(answer)[:300]})")
    return problems


def check_app(target) -> list[str]:
    """Problems between the profile and the app's real answers (empty: the profile fits)."""
    profile = target.profile
    api, source = profile.api, profile.tier_source
    if not target.receiver_url:
        return []
    problems: list[str] = []
    with httpx.Client(timeout=30) as client:
        email = f"tiersync-probe-{secrets.token_hex(4)}+clerk_test@example.com"
        r = _clerk(target, client, "POST", "/v1/users", json={"email_address": [email],
                                                            "password": "correct-horse-battery-staple"})
        if r.status_code >= 400:
            return [f"cannot create a probe user in Clerk: {r.status_code} {r.text[:200]}"]
        user_id = r.json()["id"]
        try:
            token = _token(target, client, user_id)
            base = target.receiver_url

            def probe(call: Call, name: str, pointers: dict, body=None) -> list[str]:
                return _check_pointers(client, base + call.path, f"{call.method} {call.path}", name, call.method,
                                       token, pointers, body)

            if api.usage:
                pointers = {"used": api.usage.used, "limit": api.usage.limit}
                if api.usage.tier:
                    pointers["tier"] = api.usage.tier
                problems += probe(api.usage, "api.usage", pointers)
            if source.kind == "http":
                url = source.url.replace("{user_id}", user_id) if source.url else base + source.path
                problems += _check_pointers(client, url, f"GET {source.url or source.path}", "tier_source", "GET",
                                            None if source.url else token, {"pointer": source.pointer})
            if api.checkout:
                body = api.checkout.body_for(profile.paid_tiers[0].name)
                problems += probe(api.checkout, "api.checkout", {"session": api.checkout.session}, body)
        finally:
            _clerk(target, client, "DELETE", f"/v1/users/{user_id}")
    return problems
