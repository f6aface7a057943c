"""Our webhook endpoint, request by request: signed events (or broken ones) and the answers we promise."""

import time

import pytest


def plan_of(clerk, user_id, *, within=5.0):
    deadline = time.monotonic() + within
    while True:
        plan = (clerk.users.get(user_id=user_id).public_metadata or {}).get("plan")
        if plan or time.monotonic() > deadline:
            return plan
        time.sleep(0.1)


@pytest.mark.parametrize("fault", [{"timestamp_offset": -600}, {"header": "missing"}, {"header": "no_v1"},
                                   {"secret": "wrong"}, {"body": "reserialized"}], ids=str)
def test_broken_signatures_are_refused(tiersync_webhooks, pro_subscription, fault):
    sender = tiersync_webhooks()
    sender.expect_event("customer.subscription.updated", object=pro_subscription).with_fault(**fault) \
        .respond_with_status(400).respond_with_body_containing("invalid signature")
    sender.check_assertions()


def test_signed_event_updates_the_plan_once(tiersync_webhooks, pro_subscription, clerk, user):
    sender = tiersync_webhooks()
    sender.expect_event("customer.subscription.updated", object=pro_subscription) \
        .duplicate(3, concurrent=True).respond_with_status(200).within_ms(3000)
    sender.expect_event("customer.subscription.updated", object=pro_subscription) \
        .with_fault(timestamp_offset=+120)  # a little clock skew is tolerated: 2xx expected
    sender.check_assertions()
    assert plan_of(clerk, user.id) == "pro"


def test_unhandled_event_types_are_acknowledged(tiersync_webhooks):
    sender = tiersync_webhooks()
    for event_type in ("invoice.created", "customer.created", "payment_intent.succeeded"):
        sender.expect_event(event_type).respond_with_2xx().within_ms(1000)
    sender.check_assertions()


def test_canceled_subscription_goes_back_to_free(tiersync_webhooks, pro_subscription, stripe_client, clerk, user):
    canceled = stripe_client.v1.subscriptions.cancel(pro_subscription["id"]).to_dict()
    sender = tiersync_webhooks()
    sender.expect_event("customer.subscription.deleted", object=canceled).respond_with_status(200)
    sender.check_assertions()
    assert plan_of(clerk, user.id) == "free"
