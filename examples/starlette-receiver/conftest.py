"""Fixtures of our own, on top of tiersync's (`tiersync_target` is our app, started by tiersync with the
simulators' settings: see pytest.ini)."""

import uuid

import pytest


@pytest.fixture
def stripe_client(tiersync_target):
    return tiersync_target.stripe_client()


@pytest.fixture
def clerk(tiersync_target):
    return tiersync_target.clerk_client()


@pytest.fixture
def user(clerk):
    """A new Clerk user per test: the app under test keeps its state for the whole session."""
    return clerk.users.create(email_address=[f"test-{uuid.uuid4().hex[:10]}+clerk_test@example.com"],
                              password="correct-horse-battery-staple")


@pytest.fixture
def pro_subscription(stripe_client, tiersync_target, user):
    """`user` subscribed to Pro through the API (as a back office would), as a plain dict."""
    customer = stripe_client.v1.customers.create(params={
        "email": user.email_addresses[0].email_address, "payment_method": "pm_card_visa",
        "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = stripe_client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": tiersync_target.world["prices"]["pro"]}],
        "metadata": {"userId": user.id}})
    return sub.to_dict()
