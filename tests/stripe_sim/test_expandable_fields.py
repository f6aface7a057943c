"""expandable_fields.py is what gen_expandable derives from the installed stripe-python's annotations: a
regenerated table equals the committed one (when the SDK pins the simulator's API version)."""

from __future__ import annotations

import pytest
import stripe

from tiersync.stripe_sim import gen_expandable
from tiersync.stripe_sim.expandable_fields import FIELDS
from tiersync.stripe_sim.routing import API_VERSION


@pytest.mark.skipif(stripe.api_version != API_VERSION, reason="the installed SDK pins another API version")
def test_committed_table_is_the_derived_one():
    assert gen_expandable.render(gen_expandable.derive()) == gen_expandable.OUT.read_text()


def test_table_knows_the_fields_receivers_expand():
    assert FIELDS["subscription"]["latest_invoice"] == ("x",)
    assert FIELDS["subscription"]["items"] == ("l", "subscription_item")
    assert FIELDS["subscription_item"]["price"] == ("o", "price")
    assert FIELDS["price"]["product"] == ("x",)
    assert FIELDS["checkout.session"]["line_items"] == ("x",)
    assert "metadata" not in FIELDS["customer"] and "email" not in FIELDS["customer"]
    assert "payment_intent" not in FIELDS["invoice"]  # removed in 2025-03-31.basil
    for kind in ("setup_intent", "subscription_schedule", "credit_note", "invoiceitem", "refund"):
        assert kind in FIELDS, kind  # every object the simulator serves


def test_ids_name_their_kind():
    from tiersync.stripe_sim.routing import kind_of_id
    assert kind_of_id("sub_sched_1AbC") == "subscription_schedule"
    assert kind_of_id("sub_1AbC") == "subscription"
    assert kind_of_id("seti_1AbC") == "setup_intent" and kind_of_id("ii_1AbC") == "invoiceitem"
