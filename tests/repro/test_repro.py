"""`tiersync repro` on incidents recorded from simulator runs against the broken receivers of tests/mutants:
replayed against the same mutant it must point at the event after which the app went wrong, and against the
reference receiver it must find nothing."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.mutants._base import mutant_target, mutants
from tiersync.cli import main
from tiersync.engine.loader import parse_scenario
from tiersync.engine.runner import run_scenarios
from tiersync.engine.target import reference_target
from tiersync.repro.incident import load_incident
from tiersync.repro.record import recorder
from tiersync.repro.run import run_repro
from tiersync.repro.scenario import CATALOG_OBJECTS, incident_scenario

CHECKOUT = {"checkout": {"user": "ada", "tier": "pro", "via": "api"}}
# mutant -> (the story that shows its bug, the type of the first event after which the app is wrong)
STORIES = {
    "trusts_event_order": ([
        {"user": "ada"}, CHECKOUT,
        {"reorder": {"mode": "hold", "event_type": "customer.subscription.updated",
                     "until": "customer.subscription.updated"}},
        {"change_plan": {"user": "ada", "to": "enterprise"}}, {"clear_faults": None},
        {"change_plan": {"user": "ada", "to": "pro", "proration": "none"}}], "customer.subscription.updated"),
    "hardcodes_pro": ([{"user": "ada"}, {"checkout": {"user": "ada", "tier": "enterprise", "via": "api"}}],
                      "customer.subscription.updated"),
    "ignores_deleted": ([{"user": "ada"}, CHECKOUT, {"cancel": "ada"}], "customer.subscription.deleted"),
    "ignores_status": ([{"user": "ada"}, {"subscribe": {"user": "ada", "tier": "pro", "card": "fails_later"}}],
                       "customer.subscription.created"),
    "missing_plan_is_free": ([
        {"user": "ada"}, CHECKOUT, {"update_product": {"product": "enterprise", "remove_plan": True}},
        {"change_plan": {"user": "ada", "to": "enterprise"}}], "customer.subscription.updated"),
}
MUTANTS = mutants()


# the mutants (and the catalog's faults) make the receiver log errors on purpose
pytestmark = pytest.mark.usefixtures("quiet_receiver_log")


def _story(name: str):
    steps, _ = STORIES[name]
    scenario, problems = parse_scenario({"name": f"story-{name.replace('_', '-')}", "catches": "a test story",
                                         "steps": steps}, "test")
    assert not problems, problems
    return scenario


def record_story(name: str, folder) -> tuple:
    """Play the story against the mutant, recording what Stripe held; the incident's two files."""
    target = mutant_target(MUTANTS[name].create_app)
    try:
        run_scenarios([_story(name)], target, on_result=recorder(target, folder))
    finally:
        target.close()
    prefix = folder / f"story-{name.replace('_', '-')}"
    return prefix.with_name(prefix.name + ".events.json"), prefix.with_name(prefix.name + ".deliveries.json")


@pytest.mark.parametrize("name", sorted(STORIES))
def test_repro_points_at_the_first_bad_event(name, tmp_path):
    events, deliveries = record_story(name, tmp_path)
    incident = load_incident(events, deliveries=deliveries)
    assert len(incident.users) == 1 and not incident.warnings

    target = mutant_target(MUTANTS[name].create_app)
    try:
        report = run_repro(incident, target, order="delivered")
    finally:
        target.close()
    user = report.users[0]
    assert not report.ok, f"{name}: the replay did not reproduce the bug: {user.consequence()}"
    assert user.first_bad.event.endswith(f"({STORIES[name][1]})"), user.consequence()
    assert user.first_bad.app != user.first_bad.expected
    if name == "trusts_event_order":  # the stale update held back is delivered last
        assert user.first_bad.index == report.deliveries

    target = reference_target()
    try:
        control = run_repro(incident, target, order="delivered")
    finally:
        target.close()
    assert control.ok, [u.consequence() for u in control.users]
    assert control.users[0].expected_final == user.expected_final


@pytest.fixture(scope="module")
def stale_update_incident(tmp_path_factory):
    folder = tmp_path_factory.mktemp("incident")
    return record_story("trusts_event_order", folder)


def test_the_reference_stays_in_sync_in_every_order(stale_update_incident):
    events, _ = stale_update_incident
    incident = load_incident(events)
    for order in ("created", "shuffled", "duplicated"):
        target = reference_target()
        try:
            report = run_repro(incident, target, order=order)
        finally:
            target.close()
        assert report.ok, (order, [u.consequence() for u in report.users])
        assert report.deliveries == len(incident.events) * (2 if order == "duplicated" else 1)


def test_the_written_scenario_has_no_personal_data_and_catches_the_bug(stale_update_incident, tmp_path):
    events, deliveries = stale_update_incident
    incident = load_incident(events, deliveries=deliveries)
    target = mutant_target(MUTANTS["trusts_event_order"].create_app)
    try:
        report = run_repro(incident, target, order="delivered")
    finally:
        target.close()
    scenario = incident_scenario(incident, report, name="incident-stale-update", seed=3)
    text = yaml.safe_dump(scenario, sort_keys=False)
    raw = events.read_text()
    for event in json.loads(raw)["data"]:
        assert event["id"] not in text
        obj = event["data"]["object"]
        for key in ("email", "customer_email", "name"):
            value = obj.get(key)
            if isinstance(value, str) and value and obj.get("object") not in CATALOG_OBJECTS:
                assert value not in text, f"{key} {value!r} leaked into the scenario"
    assert incident.users[0] not in text and "${users.u1.id}" in text

    loaded, problems = parse_scenario(yaml.safe_load(text), "incident.yaml")
    assert not problems, problems
    for factory, should_pass in ((MUTANTS["trusts_event_order"].create_app, False), (None, True)):
        target = mutant_target(factory) if factory else reference_target()
        try:
            run = run_scenarios([loaded], target)
        finally:
            target.close()
        assert run.results[0].passed is should_pass, run.results[0].message


def test_cli_exit_codes_and_json(stale_update_incident, tmp_path, capsys):
    events, deliveries = stale_update_incident
    out = tmp_path / "report.json"
    assert main(["repro", str(events), "--deliveries", str(deliveries), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["ok"] and report["order"] == "delivered" and report["users"][0]["expected_final"] == "pro"
    assert "@" not in out.read_text().replace("***@***", "")

    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert main(["repro", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().out
    assert main(["repro", str(events), "--order", "delivered"]) == 2  # no attempts to replay as delivered


def test_repro_against_a_running_stack_and_receiver(stale_update_incident, tmp_path):
    """--stack/--target: the objects reach the simulator over HTTP (POST /_sim/objects)."""
    from tiersync.stack import Stack
    events, deliveries = stale_update_incident
    with Stack() as stack:
        info = stack.info()
        stack_file = tmp_path / "stack.json"
        stack_file.write_text(json.dumps(info))
        out = tmp_path / "report.json"
        code = main(["repro", str(events), "--deliveries", str(deliveries), "--stack", str(stack_file),
                     "--target", info["receiver"]["url"], "--webhook-secret", info["stripe"]["world"]["webhook_secret"],
                     "--json", str(out)])
    assert code == 0, out.read_text() if out.exists() else "no report"
    assert json.loads(out.read_text())["users"][0]["expected_final"] == "pro"
