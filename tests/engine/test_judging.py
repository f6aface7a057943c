"""How the catalog judges an app: faults reach a whole service, a scenario the app cannot play is skipped
with the reason, a failure leads with its consequence, and hardening advice fails only with --strict."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import pytest

from tiersync.cli import main
from tiersync.engine.context import RunContext
from tiersync.engine.fault_steps import step_outage, step_recover
from tiersync.engine.loader import ScenarioError, load_paths
from tiersync.engine.model import OutageArgs, RecoverArgs
from tiersync.engine.runner import skip_reason
from tiersync.engine.target import reference_target
from tiersync.profile_load import REFERENCE, parse_profile


def write(tmp_path, name, text):
    (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path / name


@pytest.fixture(scope="module")
def target():
    t = reference_target()
    yield t
    t.close()


def test_an_outage_reaches_every_call_of_the_service_until_it_recovers(target):
    ctx = RunContext(target, "outage")
    clerk = ctx.clerk
    user = clerk("POST", "/v1/users", json={"email_address": ["o@example.com"], "password": "x" * 20}).json()
    step_outage(ctx, OutageArgs(service="clerk", status="429"))
    calls = [clerk("GET", f"/v1/users/{user['id']}"), clerk("GET", "/v1/users"),
             clerk("PATCH", f"/v1/users/{user['id']}", json={"public_metadata": {"plan": "pro"}}),
             clerk("PATCH", f"/v1/users/{user['id']}/metadata", json={"public_metadata": {"plan": "pro"}})]
    assert [r.status_code for r in calls] == [429] * 4 and all(r.headers.get("retry-after") for r in calls)
    step_recover(ctx, RecoverArgs(service="clerk"))
    assert clerk("GET", f"/v1/users/{user['id']}").status_code == 200

    step_outage(ctx, OutageArgs(service="stripe", calls="reads"))
    customer = ctx.stripe.v1.customers.create(params={"email": "o@example.com"})  # a write still works
    reads = [ctx.http.get(f"{target.stripe_url}{path}", headers={"Authorization": f"Bearer {target.stripe_key}"})
             for path in (f"/v1/customers/{customer.id}", "/v1/subscriptions", "/v1/checkout/sessions")]
    assert [r.status_code for r in reads] == [500, 500, 500]
    step_recover(ctx, RecoverArgs(service="all"))
    assert ctx.stripe.v1.customers.retrieve(customer.id).id == customer.id


def test_a_scenario_the_app_cannot_play_is_skipped_with_the_reason(tmp_path):
    profile = parse_profile({**REFERENCE, "features": {**REFERENCE["features"], "trials": False},
                             "tiers": REFERENCE["tiers"][:2]})
    app = SimpleNamespace(reference=False, profile=profile)
    [trial, two] = load_paths([write(tmp_path, "t.yaml", """
        name: trial
        catches: x
        needs: [trials]
        steps: [{user: ada}]
        ---
        name: two
        catches: x
        needs: [api_subscriptions, two_paid_tiers]
        steps: [{user: ada}]
    """)])
    assert skip_reason(trial, app) == "needs trials: the app does not offer trials (features.trials in its profile)"
    assert skip_reason(two, app) == "needs two_paid_tiers: the app has one paid tier"
    assert skip_reason(trial, SimpleNamespace(reference=True, profile=parse_profile(REFERENCE))) is None


def test_an_unknown_need_is_a_load_error(tmp_path):
    path = write(tmp_path, "n.yaml", "name: n\ncatches: x\nneeds: [trails]\nsteps: [{user: ada}]\n")
    with pytest.raises(ScenarioError) as err:
        load_paths([path])
    assert err.value.problems[0].startswith(f"{path}: needs: unknown need 'trails', did you mean 'trials'?")


def test_failure_leads_with_the_consequence_and_advice_fails_only_when_strict(tmp_path, capsys):
    write(tmp_path, "bug.yaml", """
        name: bug
        catches: x
        consequence: "a paying customer stays on free"
        steps:
          - user: bob
          - expect: {tier: {user: bob, is: enterprise}}
    """)
    assert main(["run", str(tmp_path)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "a paying customer stays on free. Evidence: step 2 (expect): tier: tier of bob is 'free'" in out
    (tmp_path / "bug.yaml").unlink()
    write(tmp_path, "advice.yaml", """
        name: hardening
        catches: x
        severity: advice
        consequence: "a live event would be applied"
        steps:
          - user: bob
          - expect: {tier: {user: bob, is: enterprise}}
    """)
    assert main(["run", str(tmp_path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "advice (not a user-visible bug): a live event would be applied" in out and "0 failed, 1 advice" in out
    assert main(["run", str(tmp_path), "--strict"]) == 1


def test_messages_are_printed_as_text_not_markup(capsys):
    from rich.console import Console

    from tiersync.engine.report import TerminalView
    from tiersync.engine.runner import ScenarioResult
    view = TerminalView(Console(width=200), total=2)
    view.on_result(ScenarioResult("t", "x", "g", None, passed=True, skipped=True,
                                  message="skipped: needs trials: the app does not offer trials ([features] trials)"))
    view.on_result(ScenarioResult("f", "x [bold]", "g", None, passed=False, message="answered [/api/x] 500"))
    out = capsys.readouterr().out
    assert "([features] trials)" in out and "answered [/api/x] 500" in out and "x [bold]" in out


def test_the_rate_limit_story_reaches_the_receivers_own_clerk_calls(target):
    """#17.10: the catalog's 429 scenario makes the receiver meet Clerk's rate limit on whatever call it makes
    (the reference reads the user first, through the SDK), answer non-2xx, and end right once Stripe retries."""
    from tiersync.catalog import catalog_dir
    from tiersync.engine.runner import run_scenario
    [scenario] = [s for s in load_paths([catalog_dir()]) if s.name == "clerk-rate-limited-then-recovers"]
    result = run_scenario(scenario, target)
    assert result.passed, result.message
    log = target.stack.clerk_sim.request_log.entries
    # the engine's own calls go through httpx; the receiver's through the Clerk SDK
    receivers = [r for r in log if r.fault == "rate_limit" and "python-httpx" not in r.headers.get("user-agent", "")]
    assert receivers, "no Clerk call of the receiver met the 429"
    answers = [d["status"] for step in result.timeline for d in step.deliveries]
    assert any(s and s >= 500 for s in answers) and answers[-1] == 200
