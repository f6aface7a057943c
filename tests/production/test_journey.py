"""`tiersync smoke --journey` in live mode on the simulators: refused unless --live and confirmed; a real
purchase with a 100%-off code reaches Clerk through the deployed receiver, cancelling returns the tier to
free, and everything created is removed, also on failure and on Ctrl-C."""

from __future__ import annotations

import json

from tiersync.production.journey import Journey

from .conftest import run_cli


def journey(capsys, live, *extra, env=None):
    argv = ["smoke", "--target", live.app_url, "--env-file", live.write_env(env), "--journey", "--json",
            "--stripe-key", live.stripe.live_key, "--stripe-api-base", live.stripe_url,
            "--clerk-api-url", live.clerk_url, *extra]
    code, out, err = run_cli(capsys, *argv)
    return code, (json.loads(out) if out.strip() else None), out + err


def _leftovers(live) -> dict[str, list]:
    ns = live.stripe.store.ns("live")
    return {"coupons": list(ns.table("coupon").rows),
            "active_promotion_codes": [p["id"] for p in ns.table("promotion_code").rows.values()
                                       if p["active"] and p["code"] != "LAUNCH100"],
            "customers": [c["id"] for c in ns.table("customer").rows.values() if not c.get("deleted")],
            "clerk_users": [u["id"] for u in live.clerk.sdk_client().users.list(request={})]}


def _nothing_left(live, before):
    after = _leftovers(live)
    assert after == before, f"left behind: {after} (before: {before})"


def test_live_mode_is_refused_without_live(live, capsys):
    before = _leftovers(live)
    code, doc, text = journey(capsys, live)
    assert code == 2 and "add --live" in text
    _nothing_left(live, before)


def test_live_mode_needs_confirming(live, capsys, monkeypatch):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, doc, text = journey(capsys, live, "--live")
    assert code == 2 and "needs confirming" in text and "Traceback" not in text


def test_a_live_purchase_reaches_clerk_and_cancelling_returns_to_free(live, capsys):
    before = _leftovers(live)
    code, doc, text = journey(capsys, live, "--live", "--yes", "--tier", "pro")
    checks = {c["id"]: c for c in doc["checks"]}
    assert code == 0, text
    assert checks["journey.upgrade"]["status"] == "pass" and "pro reached Clerk" in checks["journey.upgrade"]["summary"]
    assert checks["journey.cancel"]["status"] == "pass"
    assert checks["journey.cleanup"]["status"] == "pass"
    _nothing_left(live, before)
    for secret in live.secrets():
        assert secret not in text


def test_a_journey_that_fails_still_cleans_up(live, capsys):
    before = _leftovers(live)
    env = {**live.env, "STRIPE_PRICE_ID_PRO": live.world.prices["pro"]}
    live.stripe.webhook_secrets.clear()  # deliveries signed with no secret the app knows: the tier never arrives
    live.stripe.webhook_secrets[live.world.webhook_endpoint] = [{"secret": "whsec_rolledAway0000", "expires_at": None}]
    code, doc, text = journey(capsys, live, "--live", "--yes", "--journey-timeout", "1.5", env=env)
    checks = {c["id"]: c for c in doc["checks"]}
    assert code == 1
    assert checks["journey.upgrade"]["status"] == "fail" and "Webhooks" in checks["journey.upgrade"]["fix"]
    assert checks["journey.cleanup"]["status"] == "pass"
    _nothing_left(live, before)


def test_ctrl_c_midway_removes_everything(live, capsys, monkeypatch):
    before = _leftovers(live)

    def interrupt(self, user_id, ok):
        raise KeyboardInterrupt
    monkeypatch.setattr(Journey, "_wait_for_plan", interrupt)
    code, doc, text = journey(capsys, live, "--live", "--yes")
    assert code == 130
    checks = {c["id"]: c for c in doc["checks"]}
    assert "interrupted" in checks["journey.step"]["summary"]
    assert "subscription" in checks["journey.cleanup"]["summary"]
    _nothing_left(live, before)


def test_a_live_journey_goes_on_only_when_live_is_typed(live, capsys, monkeypatch):
    before = _leftovers(live)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    code, doc, text = journey(capsys, live, "--live")
    assert code == 2 and "not confirmed; nothing was created" in text
    _nothing_left(live, before)
    monkeypatch.setattr("builtins.input", lambda prompt: "live")
    code, doc, text = journey(capsys, live, "--live")
    assert code == 0, text
    _nothing_left(live, before)
