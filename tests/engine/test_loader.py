"""Scenario files are validated before anything runs; errors name the file, the step and the field."""

from __future__ import annotations

import textwrap

import pytest

from tiersync.engine.loader import ScenarioError, load_paths
from tiersync.engine.model import CheckoutArgs


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(*paths):
    with pytest.raises(ScenarioError) as err:
        load_paths(list(paths))
    return err.value.problems


def test_a_valid_scenario_loads_with_shorthands(tmp_path):
    path = write(tmp_path, "ok.yaml", """
        name: ok
        catches: a real bug
        steps:
          - user: ada
          - duplicate: 3
          - checkout: {user: ada, tier: pro}
          - cancel: ada
          - expect: {tier: {user: ada, is: free}, within: 2}
    """)
    [scenario] = load_paths([path])
    assert [s.kind for s in scenario.steps] == ["user", "duplicate", "checkout", "cancel", "expect"]
    assert scenario.steps[0].args.name == "ada" and scenario.steps[1].args.copies == 3
    assert isinstance(scenario.steps[2].args, CheckoutArgs) and scenario.path == str(path)


def test_unknown_step_suggests_the_close_one(tmp_path):
    path = write(tmp_path, "typo.yaml", """
        name: typo
        catches: x
        steps:
          - dupliate: {copies: 2}
    """)
    assert problems(path) == [f"{path}: step 1: unknown step 'dupliate', did you mean 'duplicate'?"]


def test_unknown_and_invalid_fields_name_the_step_and_field(tmp_path):
    path = write(tmp_path, "fields.yaml", """
        name: fields
        catches: x
        steps:
          - user: ada
          - checkout: {user: ada, tierr: pro}
          - checkout: {user: ada, tier: pro, card: amex-gold}
          - expect: {within: 3}
    """)
    got = problems(path)
    assert f"{path}: step 2 (checkout): unknown field 'tierr', did you mean 'tier'?" in got
    assert any(p.startswith(f"{path}: step 3 (checkout): field 'card': unknown card 'amex-gold'") for p in got)
    assert f"{path}: step 4 (expect): field '(arguments)': an expect step needs at least one check" in got


def test_file_level_problems_all_reported_at_once(tmp_path):
    a = write(tmp_path, "a.yaml", "name: a\nsteps: []\nstepz: 1\n")
    b = write(tmp_path, "b.yaml", "name: [unclosed\n")
    c = write(tmp_path, "c.yaml", "- just a list\n")
    got = problems(a, b, c, tmp_path / "missing.yaml")
    assert f"{a}: unknown key 'stepz', did you mean 'steps'?" in got
    assert any(p.startswith(f"{a}: missing 'catches'") for p in got)
    assert f"{a}: 'steps' is empty" in got
    assert any(p.startswith(f"{b}:") and "not valid YAML" in p for p in got)
    assert any(p.startswith(f"{c}: a scenario file holds a mapping") for p in got)
    assert f"{tmp_path / 'missing.yaml'}: no such file or folder" in got


def test_duplicate_names_are_refused(tmp_path):
    text = "name: same\ncatches: x\nsteps:\n  - user: ada\n"
    a, b = write(tmp_path, "a.yaml", text), write(tmp_path, "b.yaml", text)
    assert problems(tmp_path) == [f"{b}: scenario name 'same' is also used in {a}"]


def test_the_bundled_catalog_is_valid():
    from tiersync.catalog import catalog_dir
    scenarios = load_paths([catalog_dir()])
    assert scenarios and all(s.catches.strip() and "\n" not in s.catches.strip() for s in scenarios)


def test_the_catalog_judges_what_people_see():
    """Each catalog scenario states its consequence; none counts Clerk writes or aims a fault at one path
    (an app's own call pattern is not the contract); tiers are named by role, never as our receiver's."""
    from tiersync.catalog import catalog_dir
    for s in load_paths([catalog_dir()]):
        assert s.consequence and s.consequence.strip(), f"{s.name}: no consequence"
        kinds = {step.kind for step in s.steps}
        assert "api_fault" not in kinds, f"{s.name}: aims a fault at one path; use outage"
        checks = {k for step in s.steps if step.kind == "expect" for k in step.args.checks()}
        assert "clerk_writes" not in checks, f"{s.name}: counts Clerk writes"
        text = open(s.path, encoding="utf-8").read()
        steps_text = text[text.index("steps:"):]
        for tier in ("pro", "enterprise"):
            assert f"tier: {tier}" not in steps_text and f"is: {tier}" not in steps_text, f"{s.name}: names {tier}"


def test_each_expect_check_is_its_own_model(tmp_path):
    path = write(tmp_path, "checks.yaml", """
        name: checks
        catches: x
        steps:
          - user: ada
          - expect: {tier: {user: ada, iss: pro}}
          - expect: {usage: {user: ada, limt: 5}}
          - expect: {jwt_claim: {user: ada, token: before, claim: plan}}
          - expect: {deliveries: {all_ok: maybe}}
          - expect: {tier: {user: ada}}
    """)
    got = problems(path)
    assert f"{path}: step 2 (expect): field 'tier.iss': unknown field, did you mean 'is'?" in got
    assert f"{path}: step 6 (expect): field 'tier': give exactly one of is and is_not" in got
    assert f"{path}: step 3 (expect): field 'usage.limt': unknown field, did you mean 'limit'?" in got
    assert f"{path}: step 4 (expect): field 'jwt_claim': give exactly one of token and user" in got
    assert any(p.startswith(f"{path}: step 5 (expect): field 'deliveries.all_ok':") for p in got)


def test_a_check_hands_its_function_only_what_the_scenario_gave(tmp_path):
    path = write(tmp_path, "given.yaml", """
        name: given
        catches: x
        steps:
          - expect: {usage: {user: ada, limit: null}, tier: {user: ada, is: "${users.ada.id}"}, within: 2}
    """)
    [scenario] = load_paths([path])
    checks = scenario.steps[0].args.checks()
    assert checks == {"tier": {"user": "ada", "is": "${users.ada.id}"}, "usage": {"user": "ada", "limit": None}}


def test_list_exits_2_naming_the_misspelt_check_field(tmp_path, capsys):
    from tiersync.cli import main
    path = write(tmp_path, "typo.yaml", """
        name: typo
        catches: x
        steps:
          - user: ada
          - expect: {tier: {user: ada, iss: pro}}
    """)
    assert main(["list", str(path)]) == 2
    assert "field 'tier.iss': unknown field, did you mean 'is'?" in capsys.readouterr().out

