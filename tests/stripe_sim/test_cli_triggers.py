"""Every billing-relevant Stripe CLI trigger fixture (tests/stripe_sim/data/stripe-cli-fixtures, copied from the
Stripe CLI repository) run unmodified against the simulator, as `stripe trigger <event>` runs it.

Each one either emits the event it is named after, or stops where Stripe itself would answer the same way:
a 404 "Unrecognized request URL" for an endpoint the simulator leaves out (docs/stripe-billing.md lists them),
or a 400 for a parameter that Stripe removed before the simulator's API version (2026-10-28), or a value it
does not take there, which the CLI's file still sends (the removed parameters run with `--api-version` an older
version, as they do at Stripe). The table below is the measurement: a change in any row fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tiersync.stripe_sim import StripeSim
from tiersync.stripe_sim.fixtures import CLI_V2_VERSION, FixtureError, run_fixture, sim_requester

FIXTURES = Path(__file__).parent / "data" / "stripe-cli-fixtures"
ALL = sorted(p.name[:-5] for p in FIXTURES.glob("*.json"))

# the two `subscription.*` triggers are named after no event type; they stand for the invoice events
EVENT_OF = {"subscription.payment_failed": "invoice.payment_failed",
            "subscription.payment_succeeded": "invoice.payment_succeeded"}
# a Dashboard step the file assumes: test mode refuses portal sessions until the portal is saved, at Stripe too
# ("You can't create a portal session in test mode until you save your customer portal settings")
NEEDS_PORTAL = {"billing_portal.session.created"}

UNRECOGNIZED = "Unrecognized request URL ({})"
OUT_OF_SCOPE = {  # fixture -> the request Stripe's own 404 answers (endpoint not simulated)
    "v1.billing.meter.error_report_triggered": "GET: /v1/billing/meters",
    "v1.billing.meter.no_meter_found": "POST: /v2/billing/meter_event_session",
}
# fixture -> the parameter the file sends that Stripe no longer takes at API 2026-10-28. `stripe trigger` sends no
# Stripe-Version on /v1/ steps, so the account's default version answers: an account on today's version refuses
# it, as here; `stripe trigger --api-version <older>` (run_fixture's stripe_version) runs it (RUNS_AT_VERSION)
REMOVED_PARAMS = {
    # 2025-03-31.basil "Removes coupon and promotion code parameters with stackable discounts" (Customer)
    **{f"customer.discount.{e}": "coupon" for e in ("created", "deleted", "updated")},
    # 2025-09-30.clover "Promotion Codes now reference Coupons using a polymorphic field" (promotion[coupon])
    **{f"promotion_code.{e}": "coupon" for e in ("created", "updated")},
}
# fixture -> the version it runs at with `--api-version`: the last one before the parameter was removed
RUNS_AT_VERSION = {**{f"customer.discount.{e}": "2025-02-24.acacia" for e in ("created", "deleted", "updated")},
                   **{f"promotion_code.{e}": "2025-08-27.basil" for e in ("created", "updated")}}
# fixture -> (param, value): the file sends a value Stripe's API does not take at 2026-10-28 (the official SDKs'
# generated parameter types list the values it does)
INVALID_VALUES = {
    # bank transfer types are eu_/gb_/jp_/mx_/us_bank_transfer; the file (2022, bank transfers in beta) says
    # jp_bank_account
    "payment_intent.partially_funded": ("payment_method_options[customer_balance][bank_transfer][type]",
                                        "jp_bank_account"),
}
# fixture -> why it runs without its event, though the simulator sends that event when Stripe does
RUNS_WITHOUT_ITS_EVENT = {
    # "Occurs 7 days before a subscription schedule will expire": the file advances the clock to 9 days before
    "subscription_schedule.expiring": "subscription_schedule.expiring",
    # "Occurs whenever a subscription schedule is canceled due to the underlying subscription being canceled
    # because of delinquency": the file cancels a schedule that has not started (subscription_schedule.canceled)
    "subscription_schedule.aborted": "subscription_schedule.aborted",
}
EMITS = sorted(set(ALL) - set(OUT_OF_SCOPE) - set(REMOVED_PARAMS) - set(INVALID_VALUES) - set(RUNS_WITHOUT_ITS_EVENT))


def run(name: str, seed: int = 1, stripe_version: str | None = None) -> tuple[StripeSim, object]:
    sim = StripeSim(seed=seed)
    if name in NEEDS_PORTAL:
        # saved with a default return URL, so a session needs none (the file sends none)
        resp = sim.handle("POST", "/_sim/billing_portal/activate", "",
                          {"content-type": "application/x-www-form-urlencoded"},
                          b"default_return_url=https%3A%2F%2Fexample.com%2Faccount")
        assert resp.status == 200, resp.json()
    return sim, run_fixture(FIXTURES / f"{name}.json", sim_requester(sim), env={}, stripe_version=stripe_version)


def event_types(sim: StripeSim) -> list[str]:
    status, body = sim_requester(sim)("GET", "/v1/events", [("limit", "100")])
    assert status == 200
    return [e["type"] for e in body["data"]]


def test_the_vendored_set_is_the_95_billing_fixtures():
    assert len(ALL) == 95
    assert (FIXTURES / "README.md").read_text().count("f5f390bc") >= 1
    assert len(EMITS) == 85  # the measurement: 85 run and emit their event (33 before #16's work)
    assert len(EMITS) + len(RUNS_AT_VERSION) == 90  # and 5 more with `--api-version` an older version
    assert set(RUNS_AT_VERSION) == set(REMOVED_PARAMS)


def test_the_runner_sends_the_version_as_the_cli_does():
    """No Stripe-Version on /v1/ steps unless `--api-version` is given (then on every step); /v2/ steps get the
    CLI's own version (stripe-cli pkg/requests/base.go setVersionHeader)."""
    seen = []

    def request(method, path, params, headers=None, json_body=None):
        seen.append((path, (headers or {}).get("Stripe-Version")))
        return 200, {"id": "x_1", "object": "thing"}

    fixture = {"_meta": {"template_version": 0}, "fixtures": [
        {"name": "a", "path": "/v1/customers", "method": "post", "params": {}},
        {"name": "b", "path": "/v2/billing/meter_event_session", "method": "post", "params": {}}]}
    run_fixture(fixture, request, env={})
    assert seen == [("/v1/customers", None), ("/v2/billing/meter_event_session", CLI_V2_VERSION)]
    seen.clear()
    run_fixture(fixture, request, env={}, stripe_version="2025-02-24.acacia")
    assert [v for _, v in seen] == ["2025-02-24.acacia"] * 2


@pytest.mark.parametrize("name", EMITS)
def test_fixture_runs_and_emits_its_event(name):
    sim, result = run(name)
    wanted = [EVENT_OF.get(name, name), *result.aliases]
    types = event_types(sim)
    for event_type in wanted:
        assert event_type in types, f"{name}: no {event_type} among {types}"


@pytest.mark.parametrize("name", sorted(RUNS_WITHOUT_ITS_EVENT))
def test_fixture_runs_without_its_event_for_the_reason_given(name):
    sim, _ = run(name)
    assert RUNS_WITHOUT_ITS_EVENT[name] not in event_types(sim)


@pytest.mark.parametrize("name", sorted(OUT_OF_SCOPE))
def test_out_of_scope_endpoint_answers_stripes_own_404(name):
    with pytest.raises(FixtureError) as info:
        run(name)
    err = info.value
    assert err.status == 404
    message = err.response["error"]["message"]
    method_path = OUT_OF_SCOPE[name]
    prefix, _, rest = method_path.partition("cus_*")
    assert message.startswith("Unrecognized request URL (" + prefix), message
    assert rest in message
    assert err.response["error"]["type"] == "invalid_request_error"


# every endpoint of the meter fixtures' families, out of scope (docs/stripe-sim.md lists them): Stripe's own 404
OUT_OF_SCOPE_PATHS = [("GET", "/v1/billing/meters"), ("POST", "/v1/billing/meters"), ("POST", "/v1/billing/meter_events"),
                      ("POST", "/v2/billing/meter_event_session"), ("POST", "/v2/billing/meter_event_stream"),
                      ("GET", "/v2/core/event_destinations"), ("GET", "/v2/core/events")]


@pytest.mark.parametrize("method, path", OUT_OF_SCOPE_PATHS)
def test_every_out_of_scope_endpoint_answers_stripes_own_404(method, path):
    request = sim_requester(StripeSim())
    status, body = request(method, path, [], json_body="{}") if path.startswith("/v2/") and method == "POST" \
        else request(method, path, [])
    assert status == 404
    assert body["error"]["message"].startswith(f"Unrecognized request URL ({method}: {path})")


@pytest.mark.parametrize("name", sorted(REMOVED_PARAMS))
def test_removed_parameter_is_refused_as_stripe_refuses_it(name):
    with pytest.raises(FixtureError) as info:
        run(name)
    error = info.value.response["error"]
    assert info.value.status == 400
    assert (error["code"], error["param"]) == ("parameter_unknown", REMOVED_PARAMS[name])
    assert error["message"] == f"Received unknown parameter: {REMOVED_PARAMS[name]}"


@pytest.mark.parametrize("name", sorted(INVALID_VALUES))
def test_invalid_value_is_refused_as_stripe_refuses_it_and_the_corrected_file_emits(name):
    param, value = INVALID_VALUES[name]
    with pytest.raises(FixtureError) as info:
        run(name)
    error = info.value.response["error"]
    assert (info.value.status, error["param"]) == (400, param)
    assert error["message"].startswith(f"Invalid {param}: must be one of ")
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    for step in data["fixtures"]:  # the same file with the value Stripe takes
        if step.get("params", {}).get(param) == value:
            step["params"][param] = "jp_bank_transfer"
    sim = StripeSim(seed=1)
    run_fixture(data, sim_requester(sim), env={})
    assert name in event_types(sim)


def test_async_payment_fixtures_complete_unpaid_then_announce_the_outcome():
    for name, outcome in (("checkout.session.async_payment_succeeded", "paid"),
                          ("checkout.session.async_payment_failed", "unpaid")):
        sim, result = run(name)
        assert result["payment_page_confirm"]["session"]["payment_status"] == "unpaid"  # completed, not paid
        status, body = sim_requester(sim)("GET", "/v1/events", [("type", name)])
        assert body["data"][0]["data"]["object"]["payment_status"] == outcome
    sim, result = run("payment_intent.processing")  # a delayed test IBAN: still processing three minutes on
    assert result["payment_intent"]["status"] == "processing"
    assert "payment_intent.succeeded" not in event_types(sim)


@pytest.mark.parametrize("name", sorted(RUNS_AT_VERSION))
def test_removed_parameter_runs_at_the_version_that_still_took_it(name):
    sim, result = run(name, stripe_version=RUNS_AT_VERSION[name])
    assert name in event_types(sim)
    if name.startswith("customer.discount."):  # the discount shows its coupon expanded, as before clover
        event = sim_requester(sim)("GET", "/v1/events", [("type", name)])[1]["data"][0]
        assert event["data"]["object"]["source"]["type"] == "coupon"  # stored events keep today's shape
    else:
        assert result["promotion_code"]["coupon"]["object"] == "coupon"  # the response in basil's shape


def test_paused_fixture_pauses_a_trial_that_ends_without_a_payment_method():
    sim, result = run("customer.subscription.paused")
    sub = result["subscription_pause"]
    assert sub["status"] == "paused"
    invoices = sim_requester(sim)("GET", "/v1/invoices", [("subscription", sub["id"])])[1]["data"]
    assert [inv["billing_reason"] for inv in invoices] == ["subscription_create"]  # no invoice at pause
    types = event_types(sim)
    assert "customer.subscription.trial_will_end" in types  # trial_end=now ends the trial early
    status, body = sim_requester(sim)("GET", "/v1/events", [("type", "customer.subscription.updated")])
    assert body["data"][0]["data"]["previous_attributes"]["status"] == "trialing"
    assert body["data"][0]["data"]["object"]["status"] == "paused"


def test_short_trial_announces_its_end_at_once_and_only_once():
    sim, result = run("customer.subscription.trial_will_end")
    assert result["subscription"]["status"] == "trialing"
    assert event_types(sim).count("customer.subscription.trial_will_end") == 1


def test_clock_advance_is_announced_before_ready():
    sim, _ = run("test_helpers.test_clock.advancing")
    types = event_types(sim)  # newest first
    assert types.index("test_helpers.test_clock.ready") < types.index("test_helpers.test_clock.advancing")
    status, body = sim_requester(sim)("GET", "/v1/events", [("type", "test_helpers.test_clock.advancing")])
    clock = body["data"][0]["data"]["object"]
    assert clock["status"] == "advancing"
    assert clock["status_details"] == {"advancing": {"target_frozen_time": 1580515200}}
