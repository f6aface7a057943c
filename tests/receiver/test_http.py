"""receiver/http.py: the urllib3 pool under both SDKs keeps each SDK's contract: answers, headers and errors
come back the way the SDK's own clients give them."""

from __future__ import annotations

import gzip
import socket
import time

import pytest
import stripe
from werkzeug.wrappers import Response

from receiver.clerk import ClerkGateway
from receiver.http import ClerkHTTPClient, StripeHTTPClient, connection_pool
from receiver.sync import SyncProblem, TransientError


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stripe_sdk(base: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_http", base_addresses={"api": base}, max_network_retries=0,
                               http_client=StripeHTTPClient(connection_pool(2.0, maxsize=2)))


def test_stripe_sdk_reads_answer_and_headers(httpserver):
    httpserver.expect_request("/v1/customers/cus_1", method="GET").respond_with_json(
        {"id": "cus_1", "object": "customer", "email": "a@example.com"}, headers={"Request-Id": "req_abc"})
    customer = stripe_sdk(httpserver.url_for("")).v1.customers.retrieve("cus_1")
    assert customer.email == "a@example.com"
    assert customer.last_response.request_id == "req_abc"  # read from a lower-cased header name


def test_stripe_sdk_error_bodies_become_stripe_errors(httpserver):
    httpserver.expect_request("/v1/customers/cus_x").respond_with_json(
        {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such customer: 'cus_x'"}},
        status=404)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_sdk(httpserver.url_for("")).v1.customers.retrieve("cus_x")
    assert info.value.code == "resource_missing" and info.value.http_status == 404


def test_stripe_sdk_posts_form_bodies(httpserver):
    httpserver.expect_request("/v1/customers", method="POST", data="email=b%40example.com").respond_with_json(
        {"id": "cus_2", "object": "customer", "email": "b@example.com"})
    assert stripe_sdk(httpserver.url_for("")).v1.customers.create(params={"email": "b@example.com"}).id == "cus_2"


def test_stripe_connection_refused_is_a_retryable_connection_error():
    with pytest.raises(stripe.APIConnectionError) as info:
        stripe_sdk(f"http://127.0.0.1:{closed_port()}").v1.customers.retrieve("cus_1")
    assert info.value.should_retry is True
    assert "sk_test_http" not in str(info.value)


def test_stripe_read_timeout_is_a_connection_error(httpserver):
    def slow(_request):
        time.sleep(1.0)
        return Response("{}", content_type="application/json")
    httpserver.expect_request("/v1/customers/cus_slow").respond_with_handler(slow)
    client = stripe.StripeClient("sk_test_http", base_addresses={"api": httpserver.url_for("")}, max_network_retries=0,
                                 http_client=StripeHTTPClient(connection_pool(0.2, maxsize=2)))
    with pytest.raises(stripe.APIConnectionError) as info:
        client.v1.customers.retrieve("cus_slow")
    assert "ReadTimeoutError" in str(info.value)


def test_clerk_client_decodes_a_compressed_answer(httpserver):
    body = gzip.compress(b'{"ok": true}')
    httpserver.expect_request("/v1/x").respond_with_data(body, headers={"Content-Encoding": "gzip"},
                                                         content_type="application/json")
    client = ClerkHTTPClient(connection_pool(2.0, maxsize=2))
    response = client.send(client.build_request("GET", httpserver.url_for("/v1/x"), params={"a": "1"}))
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert httpserver.log[-1][0].args["a"] == "1"  # (a slow answer of the test before may be logged too)


def test_clerk_sdk_over_the_pool_maps_a_missing_user(httpserver):
    httpserver.expect_request("/v1/users/user_9", method="GET", headers={"Authorization": "Bearer sk_test_c"}
                              ).respond_with_json({"errors": [{"message": "not found", "long_message": "not found",
                                                               "code": "resource_not_found"}]}, status=404)
    gateway = ClerkGateway("sk_test_c", httpserver.url_for(""), timeout=2.0)
    with pytest.raises(SyncProblem) as info:
        gateway.public_metadata("user_9")
    assert info.value.kind == "clerk_user_missing"


def test_clerk_unreachable_is_transient():
    gateway = ClerkGateway("sk_test_c", f"http://127.0.0.1:{closed_port()}", timeout=1.0)
    with pytest.raises(TransientError, match="Clerk unreachable: ConnectError"):
        gateway.merge_public_metadata("user_1", {"plan": "pro"})


def test_clerk_read_timeout_is_transient(httpserver):
    def slow(_request):
        time.sleep(1.0)
        return Response("{}", content_type="application/json")
    httpserver.expect_request("/v1/users/user_1/metadata").respond_with_handler(slow)
    gateway = ClerkGateway("sk_test_c", httpserver.url_for(""), timeout=0.2)
    with pytest.raises(TransientError, match="Clerk unreachable"):
        gateway.merge_public_metadata("user_1", {"plan": "pro"})


def test_pools_verify_tls():
    import certifi

    from receiver.app import stripe_client
    from receiver.settings import Settings
    settings = Settings(stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_x", clerk_secret_key="sk_test_y",
                        price_ids={"pro": "price_pro"})
    stripe_pool = stripe_client(settings)._requestor._client.pool
    assert stripe_pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert stripe_pool.connection_pool_kw["ca_certs"] == stripe.ca_bundle_path
    clerk_pool = ClerkGateway("sk_test_c", "https://api.clerk.com").sdk.sdk_configuration.client.pool
    assert clerk_pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert clerk_pool.connection_pool_kw["ca_certs"] == certifi.where()


def test_a_keep_alive_connection_the_server_closed_is_replaced_not_failed():
    """Servers drop idle keep-alive connections (uvicorn after 5 s): the next call must open a new one, not fail."""
    import http.server
    import threading

    class CloseAfterEachAnswer(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = b'{"id": "cus_1", "object": "customer"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()  # no "Connection: close": the client keeps the connection for reuse
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CloseAfterEachAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sdk = stripe_sdk(f"http://127.0.0.1:{server.server_address[1]}").v1
        for _ in range(3):
            assert sdk.customers.retrieve("cus_1").id == "cus_1"
            time.sleep(0.05)  # the server's close reaches the client before the next call
    finally:
        server.shutdown()
        server.server_close()
