"""Fault injection (5xx, 429, timeout, dropped connection) and the request log."""

from __future__ import annotations

import httpx
import pytest
from clerk_backend_api import Clerk, models

from tiersync.clerk_sim import ClerkSim, ClerkSimServer

from .conftest import NO_RETRIES, make_sdk


def test_fail_next_n_calls_then_recover_with_sdk_retries(clerk: Clerk, csim: ClerkSim) -> None:
    user = csim.create_user("retry@example.com")
    csim.set_fault("PATCH /v1/users/{user_id}/metadata", "error", count=2, status=503)
    updated = clerk.users.update_metadata(user_id=user["id"], public_metadata={"plan": "pro"})
    assert updated.public_metadata == {"plan": "pro"}
    calls = csim.request_log.find("PATCH /v1/users/{user_id}/metadata")
    assert [(c.status, c.fault) for c in calls] == [(503, "error"), (503, "error"), (200, None)]
    assert calls[0].error_code == "internal_clerk_error"
    # Other endpoints are untouched.
    assert clerk.users.get(user_id=user["id"]).id == user["id"]


def test_5xx_without_retries_raises_sdk_error(clerk_sim: ClerkSim) -> None:
    clerk_sim.set_fault("GET /v1/users", "error", status=500)
    with clerk_sim.sdk_client(retry_config=NO_RETRIES) as clerk, pytest.raises(models.SDKError) as excinfo:
        clerk.users.list(request={})
    assert excinfo.value.status_code == 500
    assert excinfo.value.raw_response.json()["errors"][0]["code"] == "internal_clerk_error"


def test_rate_limit_carries_retry_after(csim: ClerkSim, raw_http: httpx.Client) -> None:
    csim.set_fault("/v1/users*", "rate_limit", count=1, retry_after=7)
    limited = raw_http.get("/v1/users")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert limited.json()["errors"][0]["code"] == "too_many_requests"
    assert raw_http.get("/v1/users").status_code == 200


def test_rate_share_is_seeded_and_repeatable(clerk_sim: ClerkSim) -> None:
    def run() -> list[int]:
        clerk_sim.reset()
        clerk_sim.set_fault("GET /v1/jwks", "error", rate=0.5, seed=42)
        with clerk_sim.http_client(headers={"Authorization": f"Bearer {clerk_sim.secret_key}"}) as http:
            return [http.get("/v1/jwks").status_code for _ in range(40)]

    first = run()
    assert first == run()
    assert 8 <= first.count(500) <= 32 and first.count(200) + first.count(500) == 40


def test_timeout_and_drop_in_process(clerk_sim: ClerkSim) -> None:
    user = clerk_sim.create_user("net@example.com")
    clerk_sim.set_fault("GET /v1/users/{user_id}", "timeout")
    clerk_sim.set_fault("DELETE /v1/users/{user_id}", "drop")
    with clerk_sim.http_client(headers={"Authorization": f"Bearer {clerk_sim.secret_key}"}) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.get(f"/v1/users/{user['id']}")
        with pytest.raises(httpx.RemoteProtocolError):
            http.delete(f"/v1/users/{user['id']}")
    assert clerk_sim.get_user(user["id"])["id"] == user["id"]  # the faulted calls were not applied
    assert [r.fault for r in clerk_sim.request_log] == ["timeout", "drop"]


def test_timeout_and_drop_over_http(clerk_server: ClerkSimServer) -> None:
    sim = clerk_server.sim
    user = sim.create_user("wire@example.com")
    sim.set_fault("GET /v1/users/{user_id}", "timeout", delay=5)
    sim.set_fault("GET /v1/jwks", "drop")
    with httpx.Client(base_url=clerk_server.url, headers={"Authorization": f"Bearer {sim.secret_key}"}) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.get(f"/v1/users/{user['id']}", timeout=0.3)
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/v1/jwks")
        assert http.get(f"/v1/users/{user['id']}").status_code == 200
    clerk = make_sdk(sim, "server")
    # The SDK retries timeouts (retry_connection_errors=True) and gets through...
    sim.set_fault("GET /v1/users/{user_id}", "timeout", delay=5)
    assert clerk.users.get(user_id=user["id"], timeout_ms=300).id == user["id"]
    # ...but a connection dropped mid-response is an httpx.RemoteProtocolError, which it does
    # not retry: a receiver has to handle that one itself.
    sim.set_fault("GET /v1/users/{user_id}", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        clerk.users.get(user_id=user["id"])
    faults = [r.fault for r in sim.request_log.find("GET /v1/users/{user_id}")]
    assert faults == ["timeout", None, "timeout", None, "drop"]
    drop_record = sim.request_log.find("GET /v1/jwks")[0]
    assert drop_record.status is None and drop_record.fault == "drop"


def test_request_log_records_calls_and_redacts_secrets(csim: ClerkSim, raw_http: httpx.Client) -> None:
    raw_http.post(
        "/v1/users",
        json={"email_address": ["log@example.com"], "password": "correct-horse-battery"},
        headers={"Clerk-API-Version": "2025-11-10"},
    )
    raw_http.get("/v1/users", params={"email_address": "log@example.com", "limit": 5})
    create, listing = csim.request_log.entries
    assert (create.method, create.path, create.status) == ("POST", "/v1/users", 200)
    assert create.body == {"email_address": ["log@example.com"], "password": "[redacted]"}
    assert create.headers["authorization"] == "Bearer sk_test_[redacted]"
    assert create.headers["clerk-api-version"] == "2025-11-10"
    assert listing.query == {"email_address": ["log@example.com"], "limit": ["5"]}
    assert csim.secret_key not in repr(csim.request_log.entries)
    assert len(csim.request_log.find("GET /v1/users", status=200)) == 1


def test_faults_and_log_over_admin_routes(clerk_server: ClerkSimServer) -> None:
    base = clerk_server.url
    rule = httpx.post(f"{base}/_sim/faults", json={"endpoint": "GET /v1/jwks", "kind": "error", "status": 502}).json()
    assert rule["kind"] == "error" and rule["status"] == 502
    bad = httpx.post(f"{base}/_sim/faults", json={"endpoint": "/v1/jwks", "kind": "meteor"})
    assert bad.status_code == 422
    auth = {"Authorization": f"Bearer {clerk_server.sim.secret_key}"}
    assert httpx.get(f"{base}/v1/jwks", headers=auth).status_code == 502
    log = httpx.get(f"{base}/_sim/requests").json()
    assert [(r["path"], r["status"], r["fault"]) for r in log] == [("/v1/jwks", 502, "error")]
    assert httpx.post(f"{base}/_sim/reset").json() == {"reset": True}
    assert httpx.get(f"{base}/_sim/requests").json() == []
    assert httpx.get(f"{base}/v1/jwks", headers=auth).status_code == 200
