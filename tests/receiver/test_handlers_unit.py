"""The handlers and the sync logic in isolation: Stripe and Clerk replaced by small fakes, so each rule of
tier resolution, user lookup and dedupe is pinned down without any network."""

from __future__ import annotations

import copy
import logging
import threading

import pytest

from tiersync.receiver.settings import Settings
from tiersync.receiver.storage import CLAIM_LEASE_S, Storage
from tiersync.receiver.sync import BillingSync, SyncProblem, resolve_plan
from tiersync.receiver.webhook import HANDLERS, on_checkout_completed, on_subscription_change

SETTINGS = Settings(stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_x", clerk_secret_key="sk_test_y",
                    price_ids={"pro": "price_pro", "enterprise": "price_ent"})


def obj(values: dict):
    """A Stripe object as the receiver reads it: the API's JSON."""
    return copy.deepcopy(values)


def product(plan, pid="prod_1"):
    return {"id": pid, "object": "product", "name": "Plan", "metadata": {} if plan is None else {"plan": plan}}


def sub(sid="sub_1", status="active", plan="pro", customer="cus_1", user=None, pid=None):
    return obj({"id": sid, "object": "subscription", "status": status, "customer": customer,
                "metadata": {"userId": user} if user else {},
                "items": {"object": "list", "data": [
                    {"id": f"si_{sid}", "price": {"id": "price_x", "product": product(plan, pid or f"prod_{plan}")}}]}})


class FakeClerk:
    def __init__(self, users=None):
        self.users = users or {}
        self.patches = []
        self.reads = []

    def public_metadata(self, user_id):
        self.reads.append(user_id)
        if user_id not in self.users:
            raise SyncProblem("clerk_user_missing", f"Clerk has no user {user_id}")
        return dict(self.users[user_id])

    def merge_public_metadata(self, user_id, values):
        if user_id not in self.users:  # as ClerkGateway answers Clerk's 404
            raise SyncProblem("clerk_user_missing", f"Clerk has no user {user_id}")
        self.patches.append((user_id, values))
        merged = {**self.users[user_id], **values}
        self.users[user_id] = {k: v for k, v in merged.items() if v is not None}


class FakeSync(BillingSync):
    """BillingSync with Stripe reads answered from dicts (and counted)."""

    def __init__(self, settings=SETTINGS, subs=(), sessions=None, users=None):
        super().__init__(settings, None, FakeClerk(users or {"user_1": {}}), Storage())
        self.subs = {s["id"]: s for s in subs}
        self.sessions = {k: obj(v) for k, v in (sessions or {}).items()}
        self.reads = []

    def subscription(self, sub_id):
        self.reads.append(sub_id)
        if sub_id not in self.subs:
            raise SyncProblem("not_found", f"Stripe has no such object: {sub_id}")
        return self.subs[sub_id]

    def customer_subscriptions(self, customer_id):
        self.reads.append(customer_id)
        return [s for s in self.subs.values() if s["customer"] == customer_id]

    def checkout_session(self, session_id):
        self.reads.append(session_id)
        return self.sessions[session_id]

    def customer_checkout_sessions(self, customer_id):
        self.reads.append(f"sessions of {customer_id}")
        return [s for s in self.sessions.values() if s["customer"] == customer_id]


def sub_event(sub_id="sub_1", event_type="customer.subscription.updated", customer="cus_1", **fields):
    return {"id": "evt_1", "type": event_type,
            "data": {"object": {"id": sub_id, "object": "subscription", "customer": customer, **fields}}}


def session_event(session_id="cs_1", mode="subscription"):
    return {"id": "evt_cs", "type": "checkout.session.completed",
            "data": {"object": {"id": session_id, "object": "checkout.session", "mode": mode,
                                "client_reference_id": "user_from_event_copy"}}}


# ---- registry -----------------------------------------------------------------------------------

def test_registry_covers_exactly_the_endpoint_events():
    from tiersync.stack import RECEIVER_EVENTS
    assert sorted(HANDLERS) == sorted(RECEIVER_EVENTS)
    assert HANDLERS["checkout.session.completed"] is on_checkout_completed
    assert {HANDLERS[t] for t in RECEIVER_EVENTS if t.startswith("customer.")} == {on_subscription_change}


# ---- resolve_plan -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, tier, warns", [("pro", "pro", False), ("Pro", "pro", True), (" pro ", "pro", True),
                                              ("ENTERPRISE", "enterprise", True), ("free", "free", False)])
def test_resolve_plan_variants(raw, tier, warns):
    got, warning = resolve_plan(obj(product(raw)), SETTINGS.tiers)
    assert got == tier and (warning is not None) is warns
    if warns:
        assert repr(raw) in warning


@pytest.mark.parametrize("raw, kind", [(None, "missing_plan"), ("", "missing_plan"), ("  ", "missing_plan"),
                                       ("gold", "unknown_plan"), ("pro-annual", "unknown_plan")])
def test_resolve_plan_problems(raw, kind):
    with pytest.raises(SyncProblem) as info:
        resolve_plan(obj(product(raw)), SETTINGS.tiers)
    assert info.value.kind == kind and "prod_1" in info.value.message


# ---- on_subscription_change ---------------------------------------------------------------------

def test_subscription_change_uses_the_refetched_state_not_the_event_copy():
    sync = FakeSync(subs=[sub(status="canceled", user="user_1")], users={"user_1": {"plan": "pro"}})
    out = on_subscription_change(sync, sub_event(status="active"))  # the copy says active: stale
    assert sync.reads == ["cus_1"]  # the customer's subscriptions, re-read
    assert out.tier == "free" and sync.clerk.users["user_1"]["plan"] == "free"
    assert "subscriptionId" not in sync.clerk.users["user_1"]


@pytest.mark.parametrize("status, keeps, tier", [
    ("active", True, "pro"), ("trialing", True, "pro"), ("past_due", True, "pro"), ("past_due", False, "free"),
    ("canceled", True, "free"), ("unpaid", True, "free"), ("incomplete_expired", True, "free"),
    ("paused", True, "free")])
def test_status_to_tier(status, keeps, tier):
    import dataclasses
    sync = FakeSync(dataclasses.replace(SETTINGS, past_due_keeps_plan=keeps), subs=[sub(status=status, user="user_1")])
    assert on_subscription_change(sync, sub_event()).tier == tier
    assert sync.clerk.users["user_1"]["plan"] == tier and sync.clerk.users["user_1"]["stripeCustomerId"] == "cus_1"


def test_first_payment_pending_changes_nothing():
    sync = FakeSync(subs=[sub(status="incomplete", user="user_1")], users={"user_1": {"plan": "pro", "x": 1}})
    out = on_subscription_change(sync, sub_event(event_type="customer.subscription.created"))
    assert out.tier is None and out.changed is False and sync.clerk.patches == []
    assert sync.storage.user_for_customer("cus_1") == "user_1"  # but the link is remembered


def test_the_highest_entitled_tier_wins_across_subscriptions():
    subs = [sub("sub_a", plan="pro", user="user_1"), sub("sub_b", plan="enterprise"), sub("sub_c", "canceled", "pro")]
    sync = FakeSync(subs=subs)
    assert on_subscription_change(sync, sub_event("sub_a")).tier == "enterprise"
    assert sync.clerk.users["user_1"]["subscriptionId"] == "sub_b"


def test_miscased_plan_resolves_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="tiersync.receiver")
    sync = FakeSync(subs=[sub(plan=" Pro ", user="user_1")])
    assert on_subscription_change(sync, sub_event()).tier == "pro"
    assert any("' Pro '" in m and "'pro'" in m for m in caplog.messages)


@pytest.mark.parametrize("plan, kind", [(None, "missing_plan"), ("gold", "unknown_plan")])
def test_bad_plan_is_a_problem_and_the_tier_is_left_alone(plan, kind):
    sync = FakeSync(subs=[sub(plan=plan, user="user_1")], users={"user_1": {"plan": "pro"}})
    with pytest.raises(SyncProblem) as info:
        on_subscription_change(sync, sub_event())
    assert info.value.kind == kind
    assert sync.clerk.patches == [] and sync.clerk.users["user_1"] == {"plan": "pro"}


def test_user_lookup_order_metadata_then_stored_link_then_checkout_sessions():
    sync = FakeSync(subs=[sub(user=None)], users={"user_1": {}, "user_2": {}, "user_3": {}})
    with pytest.raises(SyncProblem) as info:
        on_subscription_change(sync, sub_event())
    assert info.value.kind == "unknown_user" and sync.clerk.patches == []
    assert "sessions of cus_1" in sync.reads
    sync.sessions["cs_1"] = obj({"id": "cs_1", "customer": "cus_1", "client_reference_id": "user_3", "metadata": {}})
    assert on_subscription_change(sync, sub_event()).user_id == "user_3"
    sync.storage.link_customer("cus_1", "user_2")
    assert on_subscription_change(sync, sub_event()).user_id == "user_2"
    sync.subs["sub_1"]["metadata"]["userId"] = "user_1"
    assert on_subscription_change(sync, sub_event()).user_id == "user_1"


def test_already_in_sync_makes_no_clerk_write_and_merge_keeps_other_keys():
    sync = FakeSync(subs=[sub(user="user_1")], users={"user_1": {"theme": "dark"}})
    assert on_subscription_change(sync, sub_event()).changed is True
    assert on_subscription_change(sync, sub_event()).changed is False
    assert len(sync.clerk.patches) == 1
    assert sync.clerk.users["user_1"] == {"theme": "dark", "plan": "pro", "stripeCustomerId": "cus_1",
                                          "subscriptionId": "sub_1"}


def test_clerk_is_read_before_each_write_and_a_hand_edit_is_put_right():
    sync = FakeSync(subs=[sub(user="user_1")], users={"user_1": {}})
    assert on_subscription_change(sync, sub_event()).changed is True
    assert sync.clerk.reads == ["user_1"] and len(sync.clerk.patches) == 1
    sync.clerk.users["user_1"]["plan"] = "free"  # someone edits the user in the Dashboard
    out = on_subscription_change(sync, sub_event())  # the next event for the customer puts it right
    assert out.changed is True and sync.clerk.users["user_1"]["plan"] == "pro" and len(sync.clerk.patches) == 2


def test_threads_take_turns_per_customer():
    from tiersync.receiver.sync import CustomerLocks
    locks, inside, overlaps = CustomerLocks(), [], []

    def work():
        for _ in range(200):
            with locks.hold("cus_1"):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                inside.pop()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


def test_the_event_customer_is_not_trusted_when_it_does_not_own_the_subscription():
    sync = FakeSync(subs=[sub(customer="cus_real", user="user_1")])
    out = on_subscription_change(sync, sub_event(customer="cus_other"))
    assert sync.reads == ["cus_other", "sub_1", "cus_real"]
    assert out.tier == "pro" and sync.clerk.users["user_1"]["stripeCustomerId"] == "cus_real"


def test_an_event_without_a_customer_fetches_the_subscription():
    sync = FakeSync(subs=[sub(user="user_1")])
    assert on_subscription_change(sync, sub_event(customer=None)).tier == "pro"
    assert sync.reads == ["sub_1", "cus_1"]


def test_unknown_subscription_is_a_problem():
    with pytest.raises(SyncProblem) as info:
        on_subscription_change(FakeSync(), sub_event("sub_00000000000000"))
    assert info.value.kind == "not_found"


# ---- on_checkout_completed ----------------------------------------------------------------------

def test_checkout_links_the_refetched_sessions_user_and_syncs():
    sync = FakeSync(subs=[sub(user=None)], sessions={"cs_1": {
        "id": "cs_1", "client_reference_id": "user_1", "customer": "cus_1", "metadata": {}}})
    out = on_checkout_completed(sync, session_event())
    assert out.user_id == "user_1" and out.tier == "pro"  # the re-fetched session, not the event's copy
    assert sync.storage.user_for_customer("cus_1") == "user_1"


def test_checkout_falls_back_to_metadata_user_id():
    sync = FakeSync(subs=[sub(user=None)], sessions={"cs_1": {
        "id": "cs_1", "client_reference_id": None, "customer": "cus_1", "metadata": {"userId": "user_1"}}})
    assert on_checkout_completed(sync, session_event()).user_id == "user_1"


def test_payment_mode_checkout_is_ignored():
    sync = FakeSync()
    out = on_checkout_completed(sync, session_event(mode="payment"))
    assert out.tier is None and sync.reads == []


@pytest.mark.parametrize("session, kind", [
    ({"id": "cs_1", "client_reference_id": None, "customer": "cus_1", "metadata": {}}, "unknown_user"),
    ({"id": "cs_1", "client_reference_id": "user_1", "customer": None, "metadata": {}}, "no_customer")])
def test_checkout_problems(session, kind):
    sync = FakeSync(sessions={"cs_1": session})
    with pytest.raises(SyncProblem) as info:
        on_checkout_completed(sync, session_event())
    assert info.value.kind == kind and sync.clerk.patches == []


def test_checkout_for_a_user_clerk_does_not_know_is_a_problem():
    sync = FakeSync(subs=[sub()], sessions={"cs_1": {"id": "cs_1", "client_reference_id": "user_gone",
                                                      "customer": "cus_1", "metadata": {}}})
    with pytest.raises(SyncProblem) as info:
        on_checkout_completed(sync, session_event())
    assert info.value.kind == "clerk_user_missing"


# ---- storage ------------------------------------------------------------------------------------

def test_claims_dedupe_and_release():
    s = Storage()
    assert s.claim_event("evt_1", "t") == "new"
    assert s.claim_event("evt_1", "t") == "processing"
    s.release_event("evt_1")
    assert s.event_state("evt_1") is None and s.claim_event("evt_1", "t") == "new"
    s.finish_event("evt_1")
    s.release_event("evt_1")  # a finished event is never released
    assert s.claim_event("evt_1", "t") == "done" and s.processed_count() == 1


def test_a_claim_abandoned_mid_delivery_is_taken_over_after_its_lease():
    """The process died while handling the event: its claim stays 'processing'. Stripe's retry must not be
    answered "duplicate" for ever (the update would be lost), only while the claim may still be live."""
    s = Storage()
    assert s.claim_event("evt_1", "t") == "new"
    assert s.claim_event("evt_1", "t") == "processing"  # another delivery of it is being handled right now
    s._run("UPDATE processed_events SET received_at = received_at - ? WHERE event_id = 'evt_1'",
           CLAIM_LEASE_S + 1)
    assert s.claim_event("evt_1", "t") == "new"  # taken over: processed afresh
    assert s.claim_event("evt_1", "t") == "processing"  # and the new claim has a lease of its own
    s.finish_event("evt_1")
    s._run("UPDATE processed_events SET received_at = received_at - ? WHERE event_id = 'evt_1'",
           CLAIM_LEASE_S + 1)
    assert s.claim_event("evt_1", "t") == "done"  # a finished event is never processed again


def test_concurrent_claims_and_usage_are_atomic(tmp_path):
    s = Storage(str(tmp_path / "r.sqlite"))
    claims, takes = [], []

    def work():
        claims.append(s.claim_event("evt_race", "t"))
        takes.append(s.take_request("user_1", "2030-01", 5)[0])

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert claims.count("new") == 1 and takes.count(True) == 5
    assert s.usage("user_1", "2030-01") == 5


def test_concurrent_syncs_of_one_customer_never_write_a_stale_tier():
    """A re-fetches (active), B re-fetches (canceled) and writes free, then A writes: without serialising
    the re-fetch and the write per customer, A's stale `pro` lands last."""
    b_done = threading.Event()
    states = [[sub(status="active", user="user_1")], [sub(status="canceled", user="user_1")]]

    class Racy(FakeSync):
        def customer_subscriptions(self, customer_id):
            mine = states.pop(0)
            if mine[0]["status"] == "active":
                b_done.wait(1)  # A pauses between its read and its write (gives up after 1 s if B is held off)
            return mine

    sync = Racy()
    a = threading.Thread(target=sync.sync_customer, args=("cus_1", "evt_a"))
    a.start()
    while len(states) == 2:
        pass
    b = threading.Thread(target=lambda: (sync.sync_customer("cus_1", "evt_b"), b_done.set()))
    b.start()
    a.join(5)
    b.join(5)
    assert sync.clerk.users["user_1"]["plan"] == "free"
