"""The Clerk simulator's control routes (``/_sim``, old spelling ``/__sim``): validated inputs, refusals that
change nothing, no cross-origin driving, and errors that say what was wrong (never "injected by the fault
plan" for a caller's mistake)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tiersync.clerk_sim import ClerkSim, ClerkSimServer
from tiersync.clerk_sim.clock import MAX_OFFSET_S
from tiersync.clerk_sim.control import CONTROL_PREFIXES

from .test_bad_input import assert_clerk_error


@pytest.fixture
def http(clerk_sim: ClerkSim) -> Iterator[httpx.Client]:
    with clerk_sim.http_client() as client:
        yield client


@pytest.mark.parametrize("prefix", CONTROL_PREFIXES)
def test_both_spellings_answer(clerk_server: ClerkSimServer, prefix: str) -> None:
    base = clerk_server.url
    assert httpx.get(f"{base}{prefix}/info").json()["admin_url"] == f"{clerk_server.sim.base_url}/_sim"
    assert httpx.post(f"{base}{prefix}/clock", json={"advance": 30}).json()["offset"] == 30
    assert httpx.post(f"{base}{prefix}/reset").json() == {"reset": True}
    assert clerk_server.sim.clock.offset == 0


@pytest.mark.parametrize(("raw", "status"), [
    (b'{"advance": 1e309}', 400), (b'{"advance": -1e309}', 400), (b'{"advance": NaN}', 400),
    (b'{"advance": Infinity}', 400), (b'{"advance": 1e300}', 422), (f'{{"advance": {MAX_OFFSET_S + 1}}}'.encode(), 422),
    (b'{"advance": "60"}', 422), (b'{"advance": true}', 422)])
def test_clock_refuses_absurd_steps_and_stays_put(http: httpx.Client, clerk_sim: ClerkSim, raw: bytes,
                                                  status: int) -> None:
    http.post("/_sim/clock", json={"advance": 60})
    error = assert_clerk_error(http.post("/_sim/clock", content=raw, headers={"content-type": "application/json"}),
                               status)
    if status == 422:
        assert error["meta"] == {"param_name": "advance"}
    else:  # not a JSON number at all (NaN, Infinity) or out of a double's range
        assert error["code"] == "malformed_request"
    assert clerk_sim.clock.offset == 60
    # the simulator still works on the clock it had
    assert http.post("/_sim/clock", json={"advance": 0}).json()["offset"] == 60
    assert clerk_sim.create_user("after-clock@example.com")["id"]


def test_clock_steps_add_up_only_within_the_limit(http: httpx.Client, clerk_sim: ClerkSim) -> None:
    assert http.post("/_sim/clock", json={"advance": MAX_OFFSET_S}).status_code == 200
    error = assert_clerk_error(http.post("/_sim/clock", json={"advance": 1}), 422)
    assert "at most" in error["long_message"]
    assert clerk_sim.clock.offset == MAX_OFFSET_S
    assert http.post("/_sim/clock", json={"advance": -MAX_OFFSET_S}).json()["offset"] == 0
    with pytest.raises(ValueError):
        clerk_sim.clock.advance(float("inf"))


@pytest.mark.parametrize(("path", "body", "param"), [
    ("/_sim/faults", {"endpoint": 5}, "fault"),
    ("/_sim/faults", {"endpoint": "/v1/jwks", "count": "x"}, "fault"),
    ("/_sim/faults", '{"endpoint": "/v1/jwks", "kind": "timeout", "delay": 1e12}', "fault"),
    ("/_sim/faults", {"endpoint": "/v1/jwks", "retry_after": -5, "kind": "rate_limit"}, "fault"),
    ("/_sim/faults", {"endpoint": "/v1/jwks", "meteor": 1}, "fault"),
    ("/_sim/webhook_endpoints", {"url": 5}, "url"),
    ("/_sim/webhook_endpoints", {"url": "http://127.0.0.1:9/hook", "events": 5}, "events"),
    ("/_sim/webhook_endpoints", {"url": "http://127.0.0.1:9/hook", "secret": 7}, "secret"),
    ("/_sim/session_claims", {"claims": 5}, "claims"),
])
def test_control_mistakes_are_named_not_blamed_on_the_fault_plan(http: httpx.Client, clerk_sim: ClerkSim,
                                                                  path: str, body, param: str) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    error = assert_clerk_error(http.post(path, content=raw, headers={"content-type": "application/json"}), 422)
    assert error["meta"] == {"param_name": param}
    assert "fault plan" not in error["long_message"]
    assert clerk_sim.faults.rules() == [] and clerk_sim.webhooks.endpoints == {}


def test_deeply_nested_control_body_is_a_400(http: httpx.Client, clerk_sim: ClerkSim) -> None:
    deep = b'{"claims":' + b'{"a":' * 5000 + b"1" + b"}" * 5001
    error = assert_clerk_error(http.post("/_sim/session_claims", content=deep,
                                         headers={"content-type": "application/json"}), 400, "malformed_request")
    assert "deeper" in error["long_message"]


@pytest.mark.parametrize("origin", ["https://evil.example", "http://192.168.1.5:8000", "null",
                                    "http://127.0.0.1.evil.example"])
def test_foreign_origins_cannot_drive_the_simulator(http: httpx.Client, clerk_sim: ClerkSim, origin: str) -> None:
    for method, path, kw in [("POST", "/_sim/clock", {"json": {"advance": 60}}), ("POST", "/__sim/reset", {}),
                             ("GET", "/_sim/info", {}), ("DELETE", "/_sim/faults", {})]:
        error = assert_clerk_error(http.request(method, path, headers={"origin": origin}, **kw), 403, "origin_invalid")
        assert origin in error["long_message"]
    assert clerk_sim.clock.offset == 0


@pytest.mark.parametrize("origin", ["http://127.0.0.1:5173", "http://localhost:3000", "http://[::1]:8080"])
def test_loopback_pages_and_the_simulators_own_pages_still_work(http: httpx.Client, clerk_sim: ClerkSim,
                                                               origin: str) -> None:
    assert http.post("/_sim/clock", json={"advance": 5}, headers={"origin": origin}).status_code == 200
    own = clerk_sim.base_url
    assert http.post("/_sim/clock", json={"advance": 5}, headers={"origin": own}).status_code == 200
    assert clerk_sim.clock.offset == 10


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          None])
def test_control_bodies_must_be_declared_json(http: httpx.Client, clerk_sim: ClerkSim, content_type) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = http.post("/_sim/clock", content=b'{"advance": 60}', headers=headers)
    assert_clerk_error(response, 415, "unsupported_media_type")
    assert clerk_sim.clock.offset == 0
    ok = http.post("/_sim/clock", content=b'{"advance": 60}', headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


def test_an_unexpected_simulator_error_is_not_called_injected(clerk_sim: ClerkSim, monkeypatch) -> None:
    def broken() -> dict:
        raise RuntimeError("boom")

    monkeypatch.setattr(clerk_sim, "info", broken)
    with clerk_sim.http_client() as http:
        error = assert_clerk_error(http.get("/_sim/info"), 500, "internal_clerk_error")
    assert error["long_message"] == "The simulator failed on this request (RuntimeError)."


def test_a_declared_non_json_type_is_refused_even_without_a_body(http: httpx.Client, clerk_sim: ClerkSim) -> None:
    # a cross-site form posts with its own content type; an empty one must not reset the simulator either
    clerk_sim.create_user("still-here@example.com")
    response = http.post("/_sim/reset", headers={"content-type": "application/x-www-form-urlencoded"})
    assert_clerk_error(response, 415, "unsupported_media_type")
    assert clerk_sim.backend.count_users({})["total_count"] == 1
    assert http.post("/_sim/reset").json() == {"reset": True}  # no body, no type: fine
