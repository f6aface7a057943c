"""The JWT-protected API and the app page: tokens checked against Clerk's JWKS, the tier read fresh from
Clerk (not from a possibly stale token claim), monthly limits per tier, checkout and portal sessions."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

PROTECTED = [("GET", "/api/me"), ("GET", "/api/usage"), ("POST", "/api/data"), ("POST", "/api/create-checkout"),
             ("POST", "/api/customer-portal")]


def call(app, method, path, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.http.request(method, path, headers=headers, **kw)


def flip(segment: str) -> str:
    return segment[:-2] + ("A" if segment[-2] != "A" else "B") + segment[-1]


def forged_claims(token: str, **claims) -> str:
    header, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(claims)
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{sig}"


@pytest.mark.parametrize("method, path", PROTECTED)
def test_no_token_is_401(app, method, path):
    r = call(app, method, path)
    assert r.status_code == 401 and "sign in first" in r.json()["error"]


def test_expired_token_is_401_with_a_reason(app):
    user = app.user()
    r = call(app, "GET", "/api/me", app.token(user, issued_ago=120))
    assert r.status_code == 401
    assert "invalid session token" in r.json()["error"] and "expired" in r.json()["error"].lower()


@pytest.mark.parametrize("tamper", ["signature", "claims", "garbage", "three-dots", "alg-none"])
def test_tampered_or_garbage_tokens_are_401_not_5xx(app, tamper):
    user, other = app.user(), app.user()
    header, payload, sig = user.token.split(".")
    token = {"signature": f"{header}.{payload}.{flip(sig)}",
             "claims": forged_claims(user.token, sub=other.id),
             "garbage": "not-a-jwt",
             "three-dots": "a.b.c",
             "alg-none": base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
             + "." + payload + "."}[tamper]
    r = call(app, "GET", "/api/me", token)
    assert r.status_code == 401, r.text
    assert r.json()["error"].startswith("invalid session token")


def test_authorized_parties_refuse_tokens_minted_for_another_site(app):
    """CLERK_AUTHORIZED_PARTIES set: a token's `azp` must be one of them (Clerk's advice); unset, any azp."""
    import dataclasses

    from tiersync.receiver.app import create_app
    user = app.user()
    ours = app.st.clerk_sim.mint_token(user_id=user.id, origin="https://app.example.com")
    theirs = app.st.clerk_sim.mint_token(user_id=user.id, origin="https://evil.example.net")
    settings = dataclasses.replace(app.st.receiver_app.state.settings, authorized_parties=("https://app.example.com",))
    gateway = create_app(settings, storage=app.storage).state.clerk
    assert gateway.verify(ours)["sub"] == user.id
    for token in (theirs, app.token(user)):  # another site's, and one without azp
        with pytest.raises(Exception, match="(?i)azp|authorized part"):
            gateway.verify(token)
    assert app.st.receiver_app.state.clerk.verify(theirs)["sub"] == user.id  # the default checks no azp


def test_session_cookie_works_like_the_bearer_header(app):
    user = app.user()
    r = app.http.get("/api/me", headers={"Cookie": f"__session={user.token}"})
    assert r.status_code == 200 and r.json()["userId"] == user.id


def test_me_reads_the_tier_from_clerk_while_the_token_claim_is_stale(app):
    app.st.clerk_sim.create_jwt_template("plan", {"plan": "{{user.public_metadata.plan}}"})
    user = app.user(public_metadata={"plan": "free"}, template="plan")
    before = call(app, "GET", "/api/me", user.token).json()
    assert before["tier"] == "free" and before["tokenPlan"] == "free" and before["limit"] == 5
    app.upgrade(user, "pro")
    stale = call(app, "GET", "/api/me", user.token).json()
    assert stale["tokenPlan"] == "free" and stale["tier"] == "pro" and stale["limit"] == 50
    assert stale["email"] == user.email
    fresh = call(app, "GET", "/api/me", app.token(user, template="plan")).json()
    assert fresh["tokenPlan"] == "pro" and fresh["tier"] == "pro"


def test_unknown_plan_in_clerk_reads_as_free(app):
    user = app.user(public_metadata={"plan": "platinum"})
    assert call(app, "GET", "/api/me", user.token).json()["tier"] == "free"


def use_up(app, user, n):
    return [call(app, "POST", "/api/data", user.token) for _ in range(n)]


@pytest.mark.parametrize("plan, limit", [(None, 5), ("pro", 50)])
def test_monthly_limits_per_tier(app, plan, limit):
    user = app.user(public_metadata={"plan": plan} if plan else None)
    results = use_up(app, user, limit)
    assert [r.status_code for r in results] == [200] * limit
    assert results[-1].json()["remaining"] == 0 and results[-1].json()["used"] == limit
    over = call(app, "POST", "/api/data", user.token)
    assert over.status_code == 429
    body = over.json()
    assert f"monthly limit reached for the {plan or 'free'} tier ({limit} requests)" == body["error"]
    assert body["used"] == limit and body["limit"] == limit
    usage = call(app, "GET", "/api/usage", user.token).json()
    assert usage["used"] == limit and usage["remaining"] == 0 and usage["tier"] == (plan or "free")


def test_enterprise_is_unlimited(app):
    user = app.user(public_metadata={"plan": "enterprise"})
    results = use_up(app, user, 60)
    assert {r.status_code for r in results} == {200}
    assert results[-1].json()["remaining"] is None and results[-1].json()["limit"] is None
    usage = call(app, "GET", "/api/usage", user.token).json()
    assert usage == {**usage, "used": 60, "limit": None, "remaining": None}


def test_concurrent_requests_never_exceed_the_limit(app):
    user = app.user()
    with ThreadPoolExecutor(12) as pool:
        codes = sorted(pool.map(lambda _: call(app, "POST", "/api/data", user.token).status_code, range(12)))
    assert codes == [200] * 5 + [429] * 7


def test_an_upgrade_lifts_the_limit_at_once(app):
    user = app.user()
    use_up(app, user, 5)
    assert call(app, "POST", "/api/data", user.token).status_code == 429
    app.upgrade(user, "pro")
    r = call(app, "POST", "/api/data", user.token)  # the same, older token: the tier comes from Clerk
    assert r.status_code == 200 and r.json()["used"] == 6 and r.json()["limit"] == 50


@pytest.mark.parametrize("tier", ["gold", "free", "", None, 42])
def test_create_checkout_rejects_unknown_tiers(app, tier):
    user = app.user()
    r = call(app, "POST", "/api/create-checkout", user.token, json={"tier": tier})
    assert r.status_code == 400 and "unknown tier" in r.json()["error"] and "pro, enterprise" in r.json()["error"]


def test_create_checkout_with_a_non_json_body_is_400(app):
    user = app.user()
    r = app.http.post("/api/create-checkout", content=b"tier=pro",
                      headers={**user.auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400


def test_create_checkout_session_fields(app):
    user = app.user()
    r = call(app, "POST", "/api/create-checkout", user.token, json={"tier": " Enterprise "})
    assert r.status_code == 200
    assert r.json()["url"].startswith(app.st.stripe_server.url)
    session = app.stripe.v1.checkout.sessions.retrieve(r.json()["id"])
    assert session.mode == "subscription" and session.client_reference_id == user.id
    assert session.metadata.to_dict() == {"userId": user.id}
    assert session.allow_promotion_codes is True and session.customer_email == user.email
    assert session.success_url == f"{app.url}/?checkout=success&session_id={{CHECKOUT_SESSION_ID}}"
    items = app.stripe.v1.checkout.sessions.line_items.list(session.id).data
    assert [i.price.id for i in items] == [app.st.world.prices["enterprise"]]
    app.pay(session.id)
    sub = app.stripe.v1.subscriptions.retrieve(app.metadata(user)["subscriptionId"])
    assert sub.metadata.to_dict() == {"userId": user.id}  # subscription_data[metadata] reached the subscription


def test_second_checkout_reuses_the_customer(app):
    user = app.user()
    first = app.upgrade(user, "pro")
    second = app.stripe.v1.checkout.sessions.retrieve(app.checkout(user, "enterprise"))
    assert second.customer == first["customer"] and second.customer_email is None


def test_customer_portal_before_and_after_upgrade(app):
    user = app.user()
    r = call(app, "POST", "/api/customer-portal", user.token)
    assert r.status_code == 400 and "upgrade first" in r.json()["error"]
    app.upgrade(user, "pro")
    r = call(app, "POST", "/api/customer-portal", user.token)
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    assert url.startswith(f"{app.st.stripe_server.url}/p/session/bps_")
    session = app.st.stripe_sim.store.find("test", "billing_portal.session", url.rsplit("/", 1)[1])
    assert session["customer"] == app.metadata(user)["stripeCustomerId"]
    assert session["configuration"] == app.st.world.portal_config and session["return_url"] == f"{app.url}/"


def test_health(app):
    r = app.http.get("/health")
    assert r.json() == {"status": "ok", "mode": "test", "processed_events": 0}
    app.upgrade(app.user(), "pro")
    assert app.http.get("/health").json()["processed_events"] == 2


TESTIDS = ["landing", "dashboard", "tier", "usage-count", "usage-limit", "make-request", "upgrade",
           "manage-billing", "checkout-notice", "sign-up", "sign-in", "upgrade-tier"]


def test_app_page_serves_the_testids_and_the_clerk_script(app):
    r = app.http.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for testid in TESTIDS:
        assert f'data-testid="{testid}"' in r.text, testid
    assert f'<script src="{app.st.clerk_server.url}/clerk.js"' in r.text
    assert f'data-clerk-publishable-key="{app.st.clerk_sim.publishable_key}"' in r.text
    assert '<option value="pro">Pro</option><option value="enterprise">Enterprise</option>' in r.text


def test_app_page_from_the_publishable_key_alone(app):
    from tiersync.receiver.page import clerk_script_url
    app.set_settings(clerk_frontend_url=None)
    assert clerk_script_url(app.st.receiver_app.state.settings).startswith("https://127.0.0.1:")
    assert app.http.get("/").status_code == 200
    app.set_settings(clerk_frontend_url=None, clerk_publishable_key=None)
    r = app.http.get("/")
    assert r.status_code == 500 and "CLERK_PUBLISHABLE_KEY" in r.text


def test_a_customer_deleted_in_stripe_does_not_lock_the_user_out_of_checkout(app):
    user = app.user()
    first = app.upgrade(user, "pro")
    app.stripe.v1.customers.delete(first["customer"])  # Dashboard clean-up: its subscription ends too
    app.wait()
    assert app.plan(user) == "free"
    r = call(app, "POST", "/api/create-checkout", user.token, json={"tier": "pro"})
    assert r.status_code == 200, r.text
    session = app.stripe.v1.checkout.sessions.retrieve(r.json()["id"])
    assert session.customer is None and session.customer_email == user.email
    app.pay(session.id, payment_method="pm_card_visa")
    meta = app.metadata(user)
    assert meta["plan"] == "pro" and meta["stripeCustomerId"] not in (None, first["customer"])


def test_stripe_failing_on_checkout_is_502_with_a_reason(app):
    user = app.user()
    app.st.stripe_sim.api_faults.add(path="/v1/checkout/sessions", status="500", count=1)
    r = call(app, "POST", "/api/create-checkout", user.token, json={"tier": "pro"})
    assert r.status_code == 502 and r.json()["error"].startswith("Stripe refused the checkout")


def test_clerk_down_is_503_on_the_api_not_a_crash(app):
    user = app.user()
    app.st.clerk_sim.set_fault("GET /v1/users/{user_id}", "error", count=1)
    r = call(app, "GET", "/api/usage", user.token)
    assert r.status_code == 503 and "Clerk failed" in r.json()["error"]
    assert call(app, "GET", "/api/usage", user.token).status_code == 200
