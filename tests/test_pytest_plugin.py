"""The pytest plugin (harness/pytest_plugin/), used as a user would: small generated test files run with
`pytester` in a subprocess, their outcomes and messages asserted. Not in-process: an in-process run drops
the modules it imported when it ends (uvicorn's loop and protocol modules, the Clerk SDK's lazily imported
models), and the tests that ran after it in the same process failed (simulator timeouts never answered,
`NameError: Annotated` inside the Clerk SDK)."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from decimal import Decimal

import pytest
import stripe

from tiersync.pytest_plugin import WebhookSender

pytest_plugins = ["pytester"]
# the inner runs do without the venv's other plugins (pytest-playwright's hooks don't nest in-process; the
# hypothesis and faker plugins cost seconds per run)
QUIET = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest", "-p", "no:faker")

OWN_SCENARIOS = {
    "ok.yaml": """
        name: signed-garbage-is-refused
        catches: "a receiver that accepts a forged event"
        steps:
          - user: ada
          - send_event: {type: customer.subscription.updated, object: {id: sub_nope}, sign: {secret: wrong}}
          - expect: {response: {status: 400}}
        """,
    "bad.yaml": """
        name: wrong-on-purpose
        catches: "nothing: it expects a tier nobody paid for"
        steps:
          - user: grace
          - expect: {tier: {user: grace, is: free}}
          - expect: {tier: {user: grace, is: enterprise}}
        """,
    "advice.yaml": """
        name: hardening-not-taken
        catches: "nothing: advice that does not hold"
        severity: advice
        consequence: "a live event would be applied"
        steps:
          - user: grace
          - expect: {tier: {user: grace, is: enterprise}}
        """,
}


def _write_scenarios(pytester, folder="scn", which=("ok.yaml", "bad.yaml")):
    base = pytester.mkdir(folder)
    for name in which:
        (base / name).write_text(textwrap.dedent(OWN_SCENARIOS[name]))
    return base


# ---- simulator fixtures -------------------------------------------------------------------------------------
def test_simulator_fixtures_are_served_and_reset_per_test(pytester):
    pytester.makepyfile(test_sims="""
        import httpx, stripe

        def test_stripe_first(tiersync_stripe):
            assert tiersync_stripe.url.startswith("http://127.0.0.1:")
            client = tiersync_stripe.client()
            client.v1.customers.create(params={"email": "a@example.com"})
            assert len(client.v1.customers.list().data) == 1
            assert tiersync_stripe.live_client().v1.customers.list().data == []  # live mode is apart

        def test_stripe_second_is_empty(tiersync_stripe):
            assert tiersync_stripe.client().v1.customers.list().data == []
            assert tiersync_stripe.sim.request_log[-1].path == "/v1/customers"

        def test_clerk_first(tiersync_clerk):
            user = tiersync_clerk.sdk_client().users.create(email_address=["ada@example.com"])
            assert tiersync_clerk.sim.get_user(user.id)["id"] == user.id
            assert tiersync_clerk.api_url == tiersync_clerk.url + "/v1"

        def test_clerk_second_is_empty(tiersync_clerk):
            assert tiersync_clerk.sdk_client().users.list() == []

        def test_stack(tiersync_stack):
            world = tiersync_stack.world
            assert set(world.prices) == {"pro", "enterprise"} and world.webhook_secret.startswith("whsec_")
            assert httpx.get(tiersync_stack.receiver_server.url + "/health").status_code == 200

        def test_mock(tiersync_stripe_mock):
            product = stripe.StripeClient(tiersync_stripe_mock.test_key).v1.products.create(params={"name": "x"})
            assert product.id.startswith("prod_") and tiersync_stripe_mock.request_log[-1].path == "/v1/products"
    """)
    result = pytester.runpytest_subprocess(*QUIET)
    result.assert_outcomes(passed=6)


# ---- the webhook sender -------------------------------------------------------------------------------------
def test_every_mismatch_is_listed_in_one_assertion_error(pytester):
    pytester.makepyfile(test_wh="""
        def test_wrong_expectations(tiersync_stack, tiersync_webhooks):
            sender = tiersync_webhooks(target=tiersync_stack)
            sender.expect_event("customer.subscription.updated").with_fault(header="missing").respond_with_status(200)
            sender.expect_event("invoice.created").respond_with_body_containing("banana")
            sender.expect_event("invoice.paid").duplicate(2).within_ms(0.001)
            sender.expect_event("customer.created").with_fault(timestamp_offset=-301)  # 4xx expected: fine
            sender.expect_event("customer.created").with_fault(timestamp_offset=60)    # 2xx expected: fine
            sender.check_assertions()

        def test_unsent(tiersync_stack, tiersync_webhooks):
            tiersync_webhooks(target=tiersync_stack).expect_event("invoice.created")
    """)
    result = pytester.runpytest_subprocess(*QUIET)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "4 webhook expectation(s) not met" in out
    result.stdout.fnmatch_lines([
        "*#1 customer.subscription.updated (evt_*) [[]fault: header=missing[]]: expected status 200, got 400 "
        "(body: *missing Stripe-Signature header*",
        "*#2 invoice.created (evt_*): expected the body to contain 'banana', got *received*",
        "*#3 invoice.paid (evt_*) x2 copy 1/2: answered in * ms, expected at most 0.001 ms",
        "*#3 invoice.paid (evt_*) x2 copy 2/2: answered in * ms, expected at most 0.001 ms",
    ])
    assert "#4" not in out and "#5" not in out
    assert "1 declared event(s) never sent" in out


def test_sender_signs_like_stripe_and_sends_sdk_objects(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_json({"ok": True})
    secret = "whsec_plugin_test_secret"
    sender = WebhookSender(httpserver.url_for("/hook"), secret)
    sub = stripe.StripeObject.construct_from({"id": "sub_1", "object": "subscription",
                                              "items": {"data": [{"quantity_decimal": Decimal("1.5")}]}}, "k")
    sender.expect_event("customer.subscription.updated", object=sub, previous_attributes={"status": "trialing"})
    sender.expect_event("invoice.created", id="evt_fixed").duplicate(2, concurrent=True)
    sender.check_assertions()
    requests = [req for req, _ in httpserver.log]
    assert len(requests) == 3
    for req in requests:
        stripe.WebhookSignature.verify_header(req.get_data(as_text=True), req.headers["Stripe-Signature"], secret)
    first = json.loads(requests[0].get_data())
    assert first["type"] == "customer.subscription.updated" and first["object"] == "event"
    assert first["data"]["object"]["items"]["data"][0]["quantity_decimal"] == "1.5"
    assert first["data"]["previous_attributes"] == {"status": "trialing"}
    assert [s.event_id for s in sender.results][1:] == ["evt_fixed", "evt_fixed"]


def test_sender_reports_a_receiver_that_does_not_answer():
    sender = WebhookSender("http://127.0.0.1:9/webhook", "whsec_x", timeout=2)  # discard port: refused
    sender.expect_event("invoice.created")
    with pytest.raises(AssertionError, match=r"#1 invoice.created \(evt_\w+\): no answer \(Connect"):
        sender.check_assertions()


def test_sender_refuses_unknown_faults():
    sender = WebhookSender("http://127.0.0.1:9/webhook", "whsec_x")
    with pytest.raises(ValueError, match="header fault must be one of"):
        sender.expect_event("invoice.created").with_fault(header="absent")


# ---- scenarios --------------------------------------------------------------------------------------------------
def test_scenarios_parametrize_and_fail_with_the_step(pytester):
    _write_scenarios(pytester)
    pytester.makepyfile(test_cat="""
        def test_catalog(tiersync_scenario):
            tiersync_scenario.run()
    """)
    result = pytester.runpytest_subprocess(*QUIET, "-v", "--tiersync-scenarios", "scn",
                                "--tiersync-scenarios", "catalog:happy/upgrade-pro-card.yaml")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines_random([
        "*test_catalog[[]signed-garbage-is-refused[]] PASSED*",
        "*test_catalog[[]upgrade-pro-with-card[]] PASSED*",
        "*test_catalog[[]wrong-on-purpose[]] FAILED*",
        "*scenario 'wrong-on-purpose' failed: step 3 (expect): tier: tier of grace is 'free', expected 'enterprise'",
        "*catches: nothing: it expects a tier nobody paid for",
        "*ok    2. expected tier*",
        "*FAIL  3. expect tier=*enterprise*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_advice_is_a_warning_not_a_failure(pytester):
    _write_scenarios(pytester, which=("advice.yaml",))
    pytester.makepyfile(test_adv="""
        def test_catalog(tiersync_scenario):
            tiersync_scenario.run()
    """)
    result = pytester.runpytest_subprocess(*QUIET, "--tiersync-scenarios", "scn")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*tiersync advice: hardening-not-taken: advice (not a user-visible bug): a live*"])


def test_marker_ini_and_load_errors(pytester):
    scn = _write_scenarios(pytester, which=("ok.yaml",))
    (scn / "broken.yaml").write_text("name: b\ncatches: c\nsteps:\n  - dupliate: 2\n")
    pytester.makeini("[pytest]\ntiersync_scenarios = scn/ok.yaml\n")
    pytester.makepyfile(test_ini="""
        def test_from_ini(tiersync_scenario):
            assert tiersync_scenario.name == "signed-garbage-is-refused"
    """, test_broken="""
        import pytest

        @pytest.mark.tiersync_scenarios("scn")
        def test_broken_folder(tiersync_scenario):
            pass
    """)
    result = pytester.runpytest_subprocess(*QUIET, "test_broken.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*tiersync: the scenarios do not load:*",
                                 "*broken.yaml: step 1: unknown step 'dupliate', did you mean 'duplicate'?*"])
    assert "During handling" not in result.stdout.str()
    result = pytester.runpytest_subprocess(*QUIET, "test_ini.py", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_from_ini[[]signed-garbage-is-refused[]]*"])


def test_a_target_command_that_dies_fails_once_with_its_output(pytester):
    _write_scenarios(pytester, which=("ok.yaml",))
    pytester.makepyfile(test_dead="""
        def test_scenario(tiersync_scenario):
            tiersync_scenario.run()

        def test_sender(tiersync_webhooks):
            tiersync_webhooks()
    """)
    result = pytester.runpytest_subprocess(*QUIET, "--tiersync-scenarios", "scn",
                                "--tiersync-target-cmd", "echo no such app >&2; exit 3")
    result.assert_outcomes(failed=2)  # each with the reason, the command started once per scenario/session
    # the failure sections only: with CI set, pytest does not shorten the summary lines, which repeat it
    out = result.stdout.str().split("short test summary info")[0]
    assert out.count("exited with code 3 before listening") == 2 and "no such app" in out
    bad = pytester.runpytest_subprocess(*QUIET, "--tiersync-target-cmd", "x", "--tiersync-isolation", "never")
    assert "'scenario' or 'session', not 'never'" in bad.stdout.str() + bad.stderr.str()


def test_command_target_per_scenario_against_the_reference_receiver(pytester):
    """`--tiersync-target-cmd` end to end (the reference receiver as the user's app); the second scenario's
    target is started while the first one plays."""
    _write_scenarios(pytester, which=("ok.yaml",))
    (pytester.path / "scn" / "ok2.yaml").write_text(
        textwrap.dedent(OWN_SCENARIOS["ok.yaml"]).replace("signed-garbage-is-refused", "second"))
    pytester.makepyfile(test_cmd="""
        def test_scenario(tiersync_scenario):
            tiersync_scenario.run()
    """)
    result = pytester.runpytest_subprocess(*QUIET, "--tiersync-scenarios", "scn",
                                "--tiersync-target-cmd", f"{sys.executable} -m tiersync.receiver")
    result.assert_outcomes(passed=2)


# ---- xdist ---------------------------------------------------------------------------------------------------------
def test_xdist_workers_get_their_own_servers(pytester):
    _write_scenarios(pytester, which=("ok.yaml",))
    pytester.makepyfile(test_par="""
        import os, pytest

        @pytest.mark.parametrize("n", range(4))
        def test_sims(tiersync_stripe, tiersync_clerk, n, tmp_path_factory):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            assert tiersync_stripe.client().v1.customers.list().data == []
            tiersync_stripe.client().v1.customers.create(params={"email": f"{n}@example.com"})
            out = tmp_path_factory.getbasetemp().parent / f"ports-{worker}-{n}"
            out.write_text(f"{worker} {tiersync_stripe.url} {tiersync_clerk.url}")

        def test_scenario(tiersync_scenario):
            tiersync_scenario.run()
    """)
    result = pytester.runpytest_subprocess(*QUIET, "-n", "2", "--tiersync-scenarios", "scn")
    result.assert_outcomes(passed=5)
    lines = [p.read_text().split() for p in pytester.path.parent.rglob("ports-gw*")]
    by_worker = {w: (s, c) for w, s, c in lines}
    assert set(by_worker) == {"gw0", "gw1"}, lines
    urls = [u for pair in by_worker.values() for u in pair]
    assert len(set(urls)) == 4 and not any(re.search(r":(12111|12121)$", u) for u in urls)


# ---- the app profile ---------------------------------------------------------------------------------------------
REFETCH = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples" / "refetch-receiver"


def test_a_profile_names_the_apps_tiers_for_the_catalog(pytester):
    """`--tiersync-profile`: the second receiver (free / basic / team, its own env names and paths) passes a
    catalog story written with tiers by role; a need its profile lacks is a skip with the reason."""
    pytester.makepyfile(test_profile="""
        def test_catalog(tiersync_scenario):
            tiersync_scenario.run()
    """)
    no_trials = pytester.path / "tiersync.toml"  # the same app, said not to offer trials
    no_trials.write_text((REFETCH / "tiersync.toml").read_text().replace("trials = true", "trials = false"))
    result = pytester.runpytest_subprocess(
        *QUIET, "-rs", "--tiersync-profile", str(no_trials),
        "--tiersync-scenarios", "catalog:happy/cancel-now.yaml", "--tiersync-scenarios", "catalog:happy/trial-subscribe.yaml",
        "--tiersync-target-cmd", f"{sys.executable} {REFETCH / 'app.py'}")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs trials*"])


def test_a_profile_without_a_target_or_with_a_mistake_is_a_usage_error(pytester, tmp_path):
    pytester.makepyfile(test_x="""
        def test_catalog(tiersync_scenario):
            tiersync_scenario.run()
    """)
    result = pytester.runpytest_subprocess(*QUIET, "--tiersync-profile", str(REFETCH / "tiersync.toml"),
                                           "--tiersync-scenarios", "catalog:happy/cancel-now.yaml")
    result.stdout.fnmatch_lines(["*--tiersync-profile describes your app*"])
    assert result.ret != 0
    bad = tmp_path / "tiersync.toml"
    bad.write_text('[[tiers]]\nname = "free"\nlimitt = 3\n')
    result = pytester.runpytest_subprocess(*QUIET, "--tiersync-profile", str(bad), "--tiersync-target-cmd", "true",
                                           "--tiersync-scenarios", "catalog:happy/cancel-now.yaml")
    result.stdout.fnmatch_lines(["*the profile cannot be used*", "*limitt*"])
    assert result.ret != 0
