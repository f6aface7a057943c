"""Hosted sign-up / sign-in pages driven over HTTP, and the redirect + getToken contract."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tiersync.clerk_sim import ClerkSim, ClerkSimServer

APP_ORIGIN = "http://127.0.0.1:5173"
APP_CALLBACK = f"{APP_ORIGIN}/dashboard?tab=billing"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def web(clerk_server: ClerkSimServer) -> httpx.Client:
    with httpx.Client(base_url=clerk_server.url, follow_redirects=False) as client:
        yield client


def _handoff_code(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{APP_ORIGIN}/dashboard?")
    query = parse_qs(urlsplit(location).query)
    assert query["tab"] == ["billing"]  # the app's own query survives
    return query["__clerk_handoff"][0]


def _sign_up(web: httpx.Client, email: str) -> httpx.Response:
    page = web.get("/sign-up", params={"redirect_url": APP_CALLBACK})
    assert page.status_code == 200
    for selector in ('name="emailAddress"', 'name="password"', ">Continue</button>"):
        assert selector in page.text
    form_action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    return web.post(form_action, data={"emailAddress": email, "password": PASSWORD})


def test_sign_up_verify_and_redirect_with_session(web: httpx.Client, clerk_server: ClerkSimServer) -> None:
    sim = clerk_server.sim
    submitted = _sign_up(web, "new+clerk_test@example.com")
    assert submitted.status_code == 303
    verify_url = submitted.headers["location"]
    assert "/verify" in verify_url
    verify_page = web.get(verify_url)
    assert "<h1>Verify your email</h1>" in verify_page.text
    assert 'name="code"' in verify_page.text and 'maxlength="6"' in verify_page.text
    assert sim.outbox == []  # +clerk_test addresses get no e-mail

    wrong = web.post(verify_url, data={"code": "000000"})
    assert wrong.status_code == 422
    assert "Incorrect code" in wrong.text and 'data-error-code="form_code_incorrect"' in wrong.text
    assert sim.backend.list_users({}) == []

    done = web.post(verify_url, data={"code": "424242"})
    code = _handoff_code(done)
    assert "__client" in done.cookies
    [user] = sim.backend.list_users({"email_address": ["new+clerk_test@example.com"]})
    assert user["email_addresses"][0]["verification"]["strategy"] == "email_code"

    exchange = httpx.post(f"{clerk_server.url}/v1/client/handoff", json={"code": code}, headers={"Origin": APP_ORIGIN})
    assert exchange.status_code == 200, exchange.text
    assert exchange.headers["access-control-allow-origin"] == APP_ORIGIN
    body = exchange.json()
    assert body["user_id"] == user["id"]
    claims = sim.verify_token(body["jwt"])
    assert (claims["sub"], claims["sid"], claims["azp"]) == (user["id"], body["session_id"], APP_ORIGIN)
    # Single use.
    again = httpx.post(f"{clerk_server.url}/v1/client/handoff", json={"code": code})
    assert again.status_code == 401 and again.json()["errors"][0]["code"] == "authentication_invalid"


def test_other_addresses_get_a_code_by_email(web: httpx.Client, clerk_server: ClerkSimServer) -> None:
    submitted = _sign_up(web, "real.person@example.com")
    [mail] = clerk_server.sim.outbox
    assert mail.to == "real.person@example.com" and re.fullmatch(r"\d{6}", mail.code)
    assert _handoff_code(web.post(submitted.headers["location"], data={"code": mail.code}))


def test_sign_up_form_errors(web: httpx.Client, clerk_server: ClerkSimServer) -> None:
    clerk_server.sim.create_user("taken@example.com", password=PASSWORD)
    taken = _sign_up(web, "taken@example.com")
    assert taken.status_code == 422 and "That email address is taken" in taken.text
    short = web.post("/sign-up", data={"emailAddress": "a@example.com", "password": "abc"})
    assert short.status_code == 422 and "8 characters" in short.text
    bad_redirect = web.get("/sign-up", params={"redirect_url": "javascript:alert(1)"})
    assert bad_redirect.status_code == 422


def test_sign_in_and_get_token_with_fresh_claims(web: httpx.Client, clerk_server: ClerkSimServer) -> None:
    sim = clerk_server.sim
    sim.set_session_claims({"plan": "{{user.public_metadata.plan}}"})
    user = sim.create_user("member@example.com", password=PASSWORD, public_metadata={"plan": "free"})
    wrong = web.post("/sign-in", data={"identifier": "member@example.com", "password": "nope-nope-nope"})
    assert wrong.status_code == 422 and "Password is incorrect" in wrong.text
    unknown = web.post("/sign-in", data={"identifier": "ghost@example.com", "password": PASSWORD})
    assert unknown.status_code == 422 and "find your account" in unknown.text

    signed_in = web.post(
        "/sign-in", params={"redirect_url": APP_CALLBACK}, data={"identifier": "member@example.com", "password": PASSWORD}
    )
    session = httpx.post(f"{clerk_server.url}/v1/client/handoff", json={"code": _handoff_code(signed_in)}).json()
    assert jwt.decode(session["jwt"], options={"verify_signature": False})["plan"] == "free"

    sim.update_metadata(user["id"], public_metadata={"plan": "pro"})
    token_url = f"{clerk_server.url}/v1/client/sessions/{session['session_id']}/tokens"
    # getToken(): the last token (even expired) authenticates the call; CORS for the app origin.
    sim.clock.advance(120)
    fresh = httpx.post(token_url, headers={"Authorization": f"Bearer {session['jwt']}", "Origin": APP_ORIGIN})
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["access-control-allow-credentials"] == "true"
    assert sim.verify_token(fresh.json()["jwt"])["plan"] == "pro"
    # The __client cookie the hosted page set works too (credentials: "include").
    by_cookie = web.post(f"/v1/client/sessions/{session['session_id']}/tokens")
    assert by_cookie.status_code == 200
    preflight = httpx.options(token_url, headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    stranger = httpx.options(token_url, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers
    anonymous = httpx.post(token_url)
    assert anonymous.status_code == 401


def test_get_token_refused_after_revoke(clerk_server: ClerkSimServer) -> None:
    sim = clerk_server.sim
    user = sim.create_user("revoked@example.com")
    session = sim.create_session(user["id"])
    token = sim.mint_token(session["id"])
    sim.backend.revoke_session(session["id"])
    refused = httpx.post(
        f"{clerk_server.url}/v1/client/sessions/{session['id']}/tokens", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 401 and "revoked" in refused.json()["errors"][0]["long_message"]


def test_pages_work_in_process(clerk_sim: ClerkSim) -> None:
    with clerk_sim.http_client() as client:
        page = client.get("/sign-in")
        assert page.status_code == 200 and 'name="identifier"' in page.text
        script = client.get("/clerk.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert "getToken" in script.text
