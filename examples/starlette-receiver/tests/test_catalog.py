"""The billing stories our app must pass: tiersync's catalog (the ones listed in pytest.ini) and our own
(scenarios/). One test per scenario, named after it; a failure shows the step and what was seen."""


def test_billing_scenario(tiersync_scenario):
    tiersync_scenario.run()
