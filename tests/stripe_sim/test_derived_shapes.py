"""The derived object shapes (`shapes.py`) and the builder that uses them (`objects.shape`)."""

from __future__ import annotations

import pytest

from tiersync.stripe_sim import gen_shapes
from tiersync.stripe_sim.objects import shape
from tiersync.stripe_sim.shapes import FIELDS, OPTIONAL


def test_committed_shapes_are_what_the_generator_derives(capsys):
    # fails when the SDK or the reference data moved on and nobody regenerated shapes.py
    assert gen_shapes.main(["--check"]) == 0, capsys.readouterr().err


def test_fields_come_in_stripes_order_with_their_empty_values():
    customer = FIELDS["customer"]
    assert list(customer)[:2] == ["id", "object"]
    assert list(customer)[2:] == sorted(list(customer)[2:])
    assert customer["object"] == "customer"
    assert customer["metadata"] == {} and customer["email"] is None
    assert FIELDS["product"]["images"] == [] and "business_name" in OPTIONAL["customer"]


def test_shape_fills_unset_fields_and_leaves_out_optional_ones():
    obj = shape("test_helpers.test_clock", {"id": "clock_1", "created": 1, "deletes_after": 2,
                                            "frozen_time": 1, "livemode": False, "status": "ready",
                                            "status_details": {}})
    assert list(obj)[:2] == ["id", "object"] and obj["object"] == "test_helpers.test_clock"
    assert obj["name"] is None  # nullable and always present: filled
    assert "deleted" not in obj  # absent unless the clock is deleted


def test_shape_refuses_a_field_the_shape_does_not_have():
    with pytest.raises(KeyError, match="'emial'"):
        shape("customer", {"emial": "a@example.com"})


def test_shape_refuses_to_invent_a_value_it_cannot_know():
    with pytest.raises(KeyError, match="customer.id"):
        shape("customer", {})


def test_empty_values_are_not_shared_between_objects():
    values = {"id": "prod_1", "active": True, "created": 1, "livemode": False, "name": "Pro", "type": "service",
              "updated": 1}
    first, second = shape("product", values), shape("product", values)
    first["metadata"]["k"] = "v"
    assert second["metadata"] == {}


def test_optional_fields_given_keep_stripes_order():
    values = {"id": "clock_1", "created": 1, "deletes_after": 2, "frozen_time": 1, "livemode": False,
              "status": "ready", "status_details": {}, "deleted": True}
    obj = shape("test_helpers.test_clock", values)
    assert list(obj) == [name for name in FIELDS["test_helpers.test_clock"] if name in obj]
    assert obj["deleted"] is True and list(obj).index("deleted") < list(obj).index("frozen_time")


def test_a_missing_list_object_is_refused_too():
    assert FIELDS["invoice"]["lines"]["object"] == "list"  # its url names the invoice: only the resource knows it
    with pytest.raises(KeyError, match="invoice.lines"):
        shape("invoice", {name: 1 for name in FIELDS["invoice"] if name not in OPTIONAL["invoice"] and name != "lines"})
