"""What keeps a long run's store small and its encoding fast: constant sub-objects shared read-only, and
JSON through orjson that writes exactly what the standard library would."""

from __future__ import annotations

import copy
import json

import pytest

from tiersync import jsonbytes
from tiersync.stripe_sim.store import SharedDict, Table, share_constants


def sub(sub_id: str, customer: str) -> dict:
    return {"id": sub_id, "customer": customer, "automatic_tax": {"enabled": False, "liability": None},
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "parent": {"subscription": sub_id, "type": "subscription_details"},
            "status_transitions": {"paid_at": 1795975053}, "items": {"data": [{"id": f"si_{sub_id}",
                                                                               "billing_thresholds": {"x": 1}}]}}


def test_equal_constant_sub_objects_are_one_read_only_instance():
    a, b = sub("sub_AAAAAAAAAAAA", "cus_AAAAAAAAAA"), sub("sub_BBBBBBBBBBBB", "cus_BBBBBBBBBB")
    share_constants(a)
    share_constants(b)
    assert a["automatic_tax"] is b["automatic_tax"] and type(a["automatic_tax"]) is SharedDict
    assert a["invoice_settings"] is b["invoice_settings"]
    assert a["invoice_settings"]["issuer"] is b["invoice_settings"]["issuer"]  # nested too
    assert a["items"]["data"][0]["billing_thresholds"] is b["items"]["data"][0]["billing_thresholds"]
    # anything particular to one object stays its own: ids, timestamps
    assert type(a["parent"]) is dict and type(a["status_transitions"]) is dict
    assert a == sub("sub_AAAAAAAAAAAA", "cus_AAAAAAAAAA")  # same content, still equal to plain dicts
    with pytest.raises(TypeError):
        a["automatic_tax"]["enabled"] = True
    with pytest.raises(TypeError):
        a["invoice_settings"].update(issuer=None)
    a["automatic_tax"] = {**a["automatic_tax"], "enabled": True}  # the way to change it
    assert b["automatic_tax"]["enabled"] is False
    assert type(copy.deepcopy(b)["automatic_tax"]) is dict  # copies are ordinary, changeable dicts


def test_table_put_shares_and_the_customer_index_follows_removals():
    table = Table({"customer": False})
    for i in range(3):
        table.put(sub(f"sub_{i:012d}", "cus_ONE0000000"))
    table.put(sub("sub_other000000", "cus_TWO0000000"))
    assert [s["id"] for s in table.having_newest_first("customer", "cus_ONE0000000")] == [
        "sub_000000000002", "sub_000000000001", "sub_000000000000"]
    table.remove("sub_000000000001")
    assert [s["id"] for s in table.having_newest_first("customer", "cus_ONE0000000", "sub_000000000002")] == [
        "sub_000000000000"]
    assert [s["id"] for s in table.having_oldest_first("customer", "cus_ONE0000000", "sub_000000000000")] == [
        "sub_000000000002"]
    assert list(table.having_newest_first("customer", "cus_NOBODY0000")) == []


@pytest.mark.parametrize("value", [
    {"id": "evt_1", "data": {"object": {"name": "Zoë ✓", "amount": 1000, "ratio": 0.5, "tags": [], "meta": {},
                                        "nested": [{"a": None, "b": True}], "quote": "\"\\\u2028"}}},
    {"big": 2 ** 70, "neg": -(2 ** 65)},  # beyond orjson's 64 bits: the standard library writes these
    {1: "non-string key"},
])
def test_jsonbytes_writes_what_the_standard_library_writes(value):
    assert jsonbytes.indented(value) == json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")
    assert jsonbytes.compact(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert jsonbytes.loads(jsonbytes.compact(value)) == json.loads(json.dumps(value))


def test_a_requests_events_are_frozen_together_and_each_reads_back_as_it_was_emitted():
    from tiersync.stripe_sim import StripeSim
    from tiersync.stripe_sim.frozen import FrozenBatch
    from tiersync.stripe_sim.resources.events import render

    sim = StripeSim(seed=7)
    for i in range(40):  # past the sample the preset dictionary is taken from
        sim.request("POST", "/v1/customers", {"email": f"c{i}@example.com", "metadata": {"n": str(i)}})
    cus = sim.request("POST", "/v1/customers", {"email": "last@example.com", "payment_method": "pm_card_visa",
                                                "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    events = [e for e in sim.store.ns("test").table("event").rows.values()
              if e["type"].startswith("customer.") and render(e)["data"]["object"]["id"] == cus["id"]]
    created, updated = sorted(events, key=lambda e: e["type"])
    assert type(created["_data"]) is FrozenBatch and updated["_data"] is created["_data"]  # one per request
    assert render(created)["data"]["object"]["invoice_settings"]["default_payment_method"] is None  # as emitted
    assert render(updated)["data"]["object"]["invoice_settings"]["default_payment_method"].startswith("pm_")
    assert render(updated)["data"]["previous_attributes"] == {"invoice_settings": {"default_payment_method": None}}

    ctx = sim.context()  # an operation run from Python without a commit: its events read back too
    ctx.emit("customer.updated", {"id": cus["id"], "object": "customer"})
    assert render(ctx.events[0])["data"]["object"] == {"id": cus["id"], "object": "customer"}
