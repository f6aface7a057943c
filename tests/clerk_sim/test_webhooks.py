"""Clerk's user.* webhooks, signed Svix-style and verified with ``standardwebhooks``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tiersync.clerk_sim import ClerkSim, ClerkSimServer


class Receiver:
    """A tiny webhook receiver: answers with the next scripted status (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/clerk"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def standard_headers(svix_headers: dict[str, str]) -> dict[str, str]:
    """Clerk sends ``svix-*`` headers; ``standardwebhooks`` reads ``webhook-*``: map them,
    as a receiver using that package has to."""
    return {f"webhook-{name}": svix_headers[f"svix-{name}"] for name in ("id", "timestamp", "signature")}


def verify(secret: str, body: bytes, headers: dict[str, str]) -> dict:
    return Webhook(secret).verify(body, standard_headers(headers))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def fast_sim() -> Iterator[ClerkSim]:
    sim = ClerkSim(webhook_retry_schedule=(0.05, 0.05), webhook_timeout=2)
    yield sim
    sim.close()


def test_user_lifecycle_events_verify_with_standardwebhooks(fast_sim: ClerkSim, receiver: Receiver) -> None:
    endpoint = fast_sim.add_webhook_endpoint(receiver.url)
    assert endpoint.secret.startswith("whsec_")
    clerk = fast_sim.sdk_client()
    user = clerk.users.create(email_address=["hook@example.com"], password="correct-horse-battery")
    clerk.users.update_metadata(user_id=user.id, public_metadata={"plan": "pro"})
    clerk.users.delete(user_id=user.id)
    assert fast_sim.wait_for_webhooks()

    events = [verify(endpoint.secret, body, headers) for headers, body in receiver.requests]
    assert [e["type"] for e in events] == ["user.created", "user.updated", "user.deleted"]
    created, updated, deleted = events
    assert created["object"] == "event" and created["data"]["id"] == user.id
    assert created["data"]["email_addresses"][0]["email_address"] == "hook@example.com"
    assert updated["data"]["public_metadata"] == {"plan": "pro"}
    assert deleted["data"] == {"object": "user", "id": user.id, "deleted": True}
    assert created["instance_id"] == fast_sim.instance_id and created["timestamp"] > 10**12
    headers = receiver.requests[0][0]
    assert headers["svix-id"].startswith("msg_") and headers["svix-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"


def test_wrong_secret_and_tampered_body_fail_verification(fast_sim: ClerkSim, receiver: Receiver) -> None:
    fast_sim.add_webhook_endpoint(receiver.url)
    fast_sim.create_user("sig@example.com")
    assert fast_sim.wait_for_webhooks()
    headers, body = receiver.requests[0]
    with pytest.raises(WebhookVerificationError):
        verify("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", body, headers)
    endpoint = next(iter(fast_sim.webhooks.endpoints.values()))
    tampered = body.replace(b"sig@example.com", b"evil@example.com")
    with pytest.raises(WebhookVerificationError):
        verify(endpoint.secret, tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body, headers)  # svix-* headers alone are not enough


def test_failed_deliveries_are_retried_with_the_same_message_id(fast_sim: ClerkSim, receiver: Receiver) -> None:
    endpoint = fast_sim.add_webhook_endpoint(receiver.url, events=["user.created"])
    receiver.statuses = [500, 503]
    fast_sim.create_user("retry@example.com")
    fast_sim.update_metadata(fast_sim.backend.list_users({})[0]["id"], public_metadata={"a": 1})  # filtered out
    assert fast_sim.wait_for_webhooks()
    assert [d.status for d in fast_sim.webhooks.deliveries] == [500, 503, 200]
    assert [d.attempt for d in fast_sim.webhooks.deliveries] == [1, 2, 3]
    ids = {headers["svix-id"] for headers, _ in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1
    for headers, body in receiver.requests:  # every attempt is signed afresh and verifies
        assert verify(endpoint.secret, body, headers)["type"] == "user.created"


def test_unreachable_endpoint_gives_up_after_the_schedule(fast_sim: ClerkSim) -> None:
    fast_sim.add_webhook_endpoint("http://127.0.0.1:9/unreachable")
    fast_sim.create_user("nobody-home@example.com")
    assert fast_sim.wait_for_webhooks()
    deliveries = fast_sim.webhooks.deliveries
    assert len(deliveries) == 3 and all(d.status is None and d.error for d in deliveries)


def test_admin_route_registers_endpoints_in_server_mode(clerk_server: ClerkSimServer, receiver: Receiver) -> None:
    registered = httpx.post(f"{clerk_server.url}/_sim/webhook_endpoints", json={"url": receiver.url}).json()
    clerk_server.sim.create_user("served@example.com")
    assert clerk_server.sim.wait_for_webhooks()
    headers, body = receiver.requests[0]
    assert verify(registered["secret"], body, headers)["type"] == "user.created"
    deliveries = httpx.get(f"{clerk_server.url}/_sim/webhook_deliveries").json()
    assert deliveries[0]["ok"] is True
    assert json.loads(body)["data"]["email_addresses"][0]["email_address"] == "served@example.com"
