"""What a running scenario carries: its generated users."""



def test_a_seed_gives_each_scenario_its_own_users_the_same_in_every_run():
    from tiersync.engine.context import RunContext
    from tiersync.engine.target import Target

    target = Target(kind="remote", stripe_url="http://127.0.0.1:9", stripe_key="sk_test_x",
                    stripe_live_key="sk_live_x", clerk_api_url="http://127.0.0.1:9", clerk_secret_key="sk_test_y",
                    webhook_url="http://127.0.0.1:9/webhook", webhook_secret="whsec_x", endpoint_id=None,
                    receiver_url=None)
    tags = {name: RunContext(target, name, seed=1).run_tag for name in ("cancel-now", "cancel-at-period-end")}
    assert tags["cancel-now"] != tags["cancel-at-period-end"]
    assert RunContext(target, "cancel-now", seed=1).run_tag == tags["cancel-now"]
