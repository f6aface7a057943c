"""Bad input gets Clerk-shaped 4xx errors, never a 5xx or a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiersync.clerk_sim import ClerkSim

# One simulator for the whole module: hypothesis runs many examples per test.
_SIM = ClerkSim()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with _SIM.http_client(headers={"Authorization": f"Bearer {_SIM.secret_key}"}) as client:
        yield client


def assert_clerk_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"errors", "clerk_trace_id"}
    error = body["errors"][0]
    assert {"message", "long_message", "code"} <= set(error)
    if code:
        assert error["code"] == code, error
    return error


@pytest.fixture(scope="module")
def user_id() -> str:
    return _SIM.create_user("bad-input@example.com")["id"]


def test_authentication_errors(http: httpx.Client) -> None:
    with _SIM.http_client() as anonymous:
        assert_clerk_error(anonymous.get("/v1/users"), 401, "authentication_invalid")
        assert_clerk_error(anonymous.get("/v1/users", headers={"Authorization": "Bearer "}), 401)
        assert_clerk_error(anonymous.get("/v1/users", headers={"Authorization": "Basic abc"}), 401)
        assert_clerk_error(anonymous.get("/v1/users", headers={"Authorization": "Bearer sk_test_x"}), 401, "clerk_key_invalid")
        # The Frontend-API JWKS is public.
        assert anonymous.get("/.well-known/jwks.json").status_code == 200


def test_malformed_and_non_object_bodies(http: httpx.Client, user_id: str) -> None:
    error = assert_clerk_error(http.post("/v1/users", content=b'{"email_address": ['), 400, "malformed_request")
    assert "JSON" in error["long_message"]
    assert_clerk_error(http.post("/v1/users", content=b"[1, 2]"), 400, "malformed_request")
    assert_clerk_error(http.post("/v1/users", content=b""), 400, "malformed_request")
    assert_clerk_error(http.patch(f"/v1/users/{user_id}/metadata", content=b"\xff\xfe"), 400, "malformed_request")


def test_unknown_users_and_routes(http: httpx.Client) -> None:
    assert_clerk_error(http.get("/v1/users/user_missing"), 404, "resource_not_found")
    assert_clerk_error(http.patch("/v1/users/user_missing/metadata", json={"public_metadata": {}}), 404)
    assert_clerk_error(http.delete("/v1/users/user_missing"), 404)
    assert_clerk_error(http.get("/v1/no_such_thing"), 404, "resource_not_found")
    assert_clerk_error(http.put("/v1/users"), 405, "method_not_allowed")
    assert_clerk_error(http.post("/v1/sessions/sess_missing/tokens"), 404)


def test_invalid_metadata(http: httpx.Client, user_id: str) -> None:
    for bad in ("pro", 5, ["a"], True):
        error = assert_clerk_error(
            http.patch(f"/v1/users/{user_id}/metadata", json={"public_metadata": bad}), 422, "form_param_format_invalid"
        )
        assert error["meta"] == {"param_name": "public_metadata"}
        assert_clerk_error(http.put(f"/v1/users/{user_id}/metadata", json={"private_metadata": bad}), 422)
    huge = {"blob": "x" * 9000}
    error = assert_clerk_error(
        http.patch(f"/v1/users/{user_id}/metadata", json={"public_metadata": huge}), 422, "form_param_exceeds_allowed_size"
    )
    assert "8KB" in error["long_message"]
    assert_clerk_error(http.post("/v1/users", json={"email_address": ["big@example.com"], "unsafe_metadata": huge}), 422)
    # Merging can push a field over the limit too.
    http.patch(f"/v1/users/{user_id}/metadata", json={"public_metadata": {"a": "x" * 5000}})
    assert_clerk_error(http.patch(f"/v1/users/{user_id}/metadata", json={"public_metadata": {"b": "y" * 5000}}), 422)
    assert _SIM.get_user(user_id)["public_metadata"] == {"a": "x" * 5000}


def test_bad_query_params_and_fields(http: httpx.Client) -> None:
    assert_clerk_error(http.get("/v1/users", params={"limit": "abc"}), 422, "form_param_format_invalid")
    assert_clerk_error(http.get("/v1/users", params={"limit": 0}), 422, "form_param_value_invalid")
    assert_clerk_error(http.get("/v1/users", params={"limit": 501}), 422)
    assert_clerk_error(http.get("/v1/users", params={"offset": -1}), 422)
    assert_clerk_error(http.get("/v1/users", params={"order_by": "-password"}), 422)
    assert_clerk_error(http.post("/v1/users", json={"email_address": "x@example.com", "first_name": 5}), 422)
    assert_clerk_error(http.post("/v1/users", json={"email_address": [5]}), 422)
    assert_clerk_error(http.post("/v1/users", json={}), 422, "form_param_missing")
    assert_clerk_error(http.post("/v1/sessions", json={}), 422, "form_param_missing")
    assert_clerk_error(http.post("/v1/sessions", json={"user_id": "user_missing"}), 404)
    assert_clerk_error(http.post("/v1/jwt_templates", json={"name": "t", "claims": "nope"}), 422)
    assert_clerk_error(http.post("/v1/jwt_templates", json={"name": "t", "claims": {}, "lifetime": "1"}), 422)



def test_primary_email_address_id_of_the_wrong_type(http: httpx.Client, user_id: str) -> None:
    # A list once reached a set lookup and came back as a 500 (found by the fuzz test below).
    for bad in ([], {"id": "idn_x"}, 5):
        error = assert_clerk_error(
            http.patch(f"/v1/users/{user_id}", json={"primary_email_address_id": bad}), 422, "form_param_format_invalid"
        )
        assert error["meta"] == {"param_name": "primary_email_address_id"}
    assert_clerk_error(
        http.patch(f"/v1/users/{user_id}", json={"primary_email_address_id": "idn_missing"}), 422, "form_param_value_invalid"
    )


def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(http: httpx.Client) -> None:
    from tiersync.clerk_sim.asgi import MAX_BODY_BYTES

    users_before = http.get("/v1/users/count").json()["total_count"]
    # Exactly at the limit (valid JSON padded with spaces): parsed and served.
    body = b'{"email_address": ["at-the-limit@example.com"]}'
    assert http.post("/v1/users", content=body + b" " * (MAX_BODY_BYTES - len(body))).status_code == 200
    # One byte more, with its Content-Length, and the same sent without one (chunked): refused.
    error = assert_clerk_error(
        http.post("/v1/users", content=body + b" " * (MAX_BODY_BYTES + 1 - len(body))), 413, "request_body_too_large"
    )
    assert str(MAX_BODY_BYTES) in error["long_message"]

    def chunks() -> Iterator[bytes]:
        yield b'{"email_address": ["chunked@example.com"]}'
        for _ in range(40):
            yield b" " * 65536

    assert_clerk_error(http.post("/v1/users", content=chunks()), 413, "request_body_too_large")
    assert http.get("/v1/users/count").json()["total_count"] == users_before + 1
    logged = [r for r in _SIM.request_log.entries if r.status == 413]
    assert logged and logged[-1].error_code == "request_body_too_large"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
ENDPOINTS = [
    ("POST", "/v1/users"),
    ("PATCH", "/v1/users/{user}"),
    ("PATCH", "/v1/users/{user}/metadata"),
    ("PUT", "/v1/users/{user}/metadata"),
    ("POST", "/v1/sessions"),
    ("POST", "/v1/sessions/{session}/refresh"),
    ("POST", "/v1/sessions/{session}/tokens"),
    ("POST", "/v1/jwt_templates"),
    ("POST", "/v1/client/handoff"),
    ("POST", "/v1/client/sessions/{session}/tokens"),
    ("POST", "/sign-up"),
    ("POST", "/sign-in"),
    ("POST", "/sign-up/verify-email-address"),
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(
                ["email_address", "password", "public_metadata", "private_metadata", "first_name", "user_id",
                 "name", "claims", "lifetime", "expired_token", "refresh_token", "request_origin", "code",
                 "expires_in_seconds", "username", "primary_email_address_id"]
            ),
            json_values,
            max_size=5,
        ).map(json.dumps),
        json_values.map(json.dumps),
        st.text(max_size=40),
    ),
    query=st.dictionaries(st.sampled_from(["limit", "offset", "order_by", "email_address", "redirect_url", "x"]),
                          st.text(max_size=8), max_size=3),
)
def test_fuzzed_requests_never_5xx(http: httpx.Client, user_id: str, endpoint, body: str, query) -> None:
    session_id = _SIM.create_session(user_id)["id"]
    method, path = endpoint
    path = path.format(user=user_id, session=session_id)
    response = http.request(method, path, content=body.encode(), params=query)
    assert response.status_code < 500, (method, path, body, response.text)
    if response.status_code >= 400 and path.startswith("/v1/"):
        assert "errors" in response.json()
    for get_path in ("/v1/users", "/v1/sessions"):
        assert http.get(get_path, params=query).status_code < 500


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("depth", [65, 900, 5000, 100_000])
def test_deeply_nested_bodies_are_a_400_not_a_500(http: httpx.Client, user_id: str, depth: int) -> None:
    before = _SIM.get_user(user_id)
    for method, path, body in [
        ("POST", "/v1/users", _nested(depth)),
        ("PATCH", f"/v1/users/{user_id}/metadata", b'{"public_metadata":' + _nested(depth) + b"}"),
        ("PUT", f"/v1/users/{user_id}/metadata", b'{"private_metadata":' + _nested(depth) + b"}"),
        ("PATCH", f"/v1/users/{user_id}", b'{"unsafe_metadata":' + _nested(depth) + b"}"),
        ("POST", "/v1/jwt_templates", b'{"name": "deep", "claims":' + _nested(depth) + b"}"),
    ]:
        error = assert_clerk_error(http.request(method, path, content=body), 400, "malformed_request")
        assert "deeper than 64" in error["long_message"]
    assert _SIM.get_user(user_id) == before
    assert http.get("/v1/users").status_code == 200


def test_metadata_nested_within_the_limit_is_stored(http: httpx.Client, user_id: str) -> None:
    nested: dict = {"leaf": 1}
    for _ in range(60):
        nested = {"a": nested}
    response = http.patch(f"/v1/users/{user_id}/metadata", json={"private_metadata": {"deep": nested}})
    assert response.status_code == 200, response.text
    assert response.json()["private_metadata"]["deep"] == nested


@pytest.mark.parametrize("raw", [b'{"public_metadata": {"n": Infinity}}', b'{"public_metadata": {"n": NaN}}',
                                 b'{"public_metadata": {"n": 1e309}}', b'{"public_metadata": {"n": -Infinity}}'])
def test_non_finite_numbers_are_not_json(http: httpx.Client, user_id: str, raw: bytes) -> None:
    before = _SIM.get_user(user_id)
    error = assert_clerk_error(http.patch(f"/v1/users/{user_id}/metadata", content=raw), 400, "malformed_request")
    assert "JSON" in error["long_message"] or "range" in error["long_message"]
    assert _SIM.get_user(user_id) == before
    assert http.get(f"/v1/users/{user_id}").status_code == 200
