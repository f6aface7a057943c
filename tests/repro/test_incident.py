"""Reading what Stripe recorded: every accepted shape, and a clear line for what cannot be replayed."""

import json

import pytest

from tiersync.repro.incident import IncidentError, load_incident


def _event(n: int, type_="customer.subscription.updated", created=1_700_000_000, **obj):
    data = {"id": "sub_incident000001", "object": "subscription", "customer": "cus_incident00001",
            "status": "active", "metadata": {"userId": "user_incident0001"},
            "items": {"object": "list", "data": [{"id": "si_1", "object": "subscription_item", "price": {
                "id": "price_incident001", "object": "price", "product": "prod_incident0001"}}]}, **obj}
    return {"id": f"evt_incident{n:06d}", "object": "event", "type": type_, "created": created + n,
            "livemode": False, "data": {"object": data}}


EVENTS = [_event(i) for i in range(3)]


def test_a_json_list_a_list_object_and_json_lines_load_alike(tmp_path):
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(EVENTS))
    as_page = tmp_path / "page.json"  # GET /v1/events: newest first
    as_page.write_text(json.dumps({"object": "list", "data": list(reversed(EVENTS)), "has_more": False}))
    as_lines = tmp_path / "events.jsonl"
    as_lines.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    loaded = [load_incident(p) for p in (as_list, as_page, as_lines)]
    for incident in loaded:
        assert [e["id"] for e in incident.events] == [e["id"] for e in EVENTS]
        assert incident.users == ["user_incident0001"]
        assert incident.customer_user == {"cus_incident00001": "user_incident0001"}


def test_unknown_fields_are_kept_and_live_events_replay_in_test_mode(tmp_path):
    event = _event(1, future_field={"x": 1})
    event["livemode"] = True
    event["data"]["object"]["livemode"] = True
    event["context"] = "a field of a newer API version"
    path = tmp_path / "live.json"
    path.write_text(json.dumps([event]))
    incident = load_incident(path)
    assert incident.livemode
    replayed = incident.events[0]
    assert replayed["context"] == "a field of a newer API version"
    assert replayed["data"]["object"]["future_field"] == {"x": 1}
    assert replayed["livemode"] is False and replayed["data"]["object"]["livemode"] is False


@pytest.mark.parametrize("content, message", [
    ("", "empty file"),
    ("{not json", "not JSON"),
    ('{"object": "list", "data": 3}', "without a `data` list"),
    ('"just a string"', "expected Event objects"),
    ('[{"object": "customer", "id": "cus_1"}]', "no Event object to replay"),
])
def test_a_malformed_export_is_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(IncidentError) as exc:
        load_incident(path)
    assert message in str(exc.value) and str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_bad_line_of_json_lines_is_named(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(EVENTS[0]) + "\n{oops\n")
    with pytest.raises(IncidentError, match="line 2 is not JSON"):
        load_incident(path)


def test_events_from_several_accounts_are_refused_with_examples(tmp_path):
    a, b = _event(1), _event(2)
    a["account"], b["account"] = "acct_one", "acct_two"
    path = tmp_path / "connect.json"
    path.write_text(json.dumps([a, b]))
    with pytest.raises(IncidentError) as exc:
        load_incident(path)
    assert "2 accounts" in str(exc.value) and a["id"] in str(exc.value) and "--account" in str(exc.value)
    assert [e["id"] for e in load_incident(path, account="acct_two").events] == [b["id"]]


def test_mixed_modes_are_refused_unless_one_is_chosen(tmp_path):
    a, b = _event(1), _event(2)
    b["livemode"] = True
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([a, b]))
    with pytest.raises(IncidentError, match="--mode"):
        load_incident(path)
    assert [e["id"] for e in load_incident(path, mode="test").events] == [a["id"]]


def test_what_cannot_be_replayed_is_left_out_and_named(tmp_path):
    broken = {"id": "evt_broken", "object": "event", "type": "customer.subscription.updated", "created": 1}
    path = tmp_path / "partial.json"
    path.write_text(json.dumps([broken, *EVENTS, EVENTS[0]]))
    incident = load_incident(path)
    assert len(incident.events) == 3
    assert any("evt_broken" in w and "no data.object" in w for w in incident.warnings)
    assert any(EVENTS[0]["id"] in w and "twice" in w for w in incident.warnings)


def test_a_referenced_product_missing_from_the_file_is_named_with_the_way_out(tmp_path):
    path = tmp_path / "no-products.json"
    path.write_text(json.dumps(EVENTS))
    incident = load_incident(path)
    warning = next(w for w in incident.warnings if "prod_incident0001" in w)
    assert EVENTS[0]["id"] in warning and "--plan prod_incident0001=TIER" in warning
    assert incident.unknown_products == {"prod_incident0001"}
    made_up = {o["id"]: o for o in incident.extra_objects}
    assert made_up["prod_incident0001"]["metadata"] == {}
    assert "cus_incident00001" in made_up  # the customer too, with no details
    given = load_incident(path, plans={"prod_incident0001": "pro"})
    assert {o["id"]: o for o in given.extra_objects}["prod_incident0001"]["metadata"] == {"plan": "pro"}
    assert not given.unknown_products


def test_delivery_attempts_for_events_the_file_lacks_are_skipped_with_a_warning(tmp_path):
    events = tmp_path / "e.json"
    events.write_text(json.dumps(EVENTS))
    attempts = tmp_path / "d.json"
    attempts.write_text(json.dumps([{"event": EVENTS[1]["id"], "at": 2}, {"event": "evt_elsewhere", "at": 1},
                                    {"event": EVENTS[0]["id"], "at": 1.5}]))
    incident = load_incident(events, deliveries=attempts)
    assert [a["event"] for a in incident.deliveries] == [EVENTS[0]["id"], EVENTS[1]["id"]]
    assert any("evt_elsewhere" in w for w in incident.warnings)


def test_a_5xx_is_tried_again_as_stripe_would_and_the_tries_are_counted():
    from tiersync.engine.replay import Delivery, Replayer
    answers = iter([(503, "busy"), (500, "still busy"), (200, "ok")])
    replayer = Replayer([EVENTS[0]], "http://app/webhook", "whsec_x", lambda path, data: {},
                        lambda url, body, headers: next(answers), retry_wait=0)
    sent = replayer.deliver(Delivery(EVENTS[0], 0))
    assert (sent.status, sent.attempts) == (200, 3)
    gone = Replayer([EVENTS[0]], "http://app/webhook", "whsec_x", lambda path, data: {},
                    lambda url, body, headers: (_ for _ in ()).throw(ConnectionError("refused")), retry_wait=0)
    sent = gone.deliver(Delivery(EVENTS[0], 0))
    assert sent.status is None and sent.attempts == 3 and "refused" in sent.error
