"""receiver/http.py: libcurl under both SDKs keeps each SDK's contract: answers, headers and errors come back
the way the SDK's own clients give them."""

from __future__ import annotations

import contextlib
import datetime
import gzip
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time

import cryptography.hazmat.backends.openssl.backend  # noqa: F401 - see below
import pytest
import stripe
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.wrappers import Response

from tiersync.receiver.clerk import ClerkGateway
from tiersync.receiver.http import (
    ClerkHTTPClient,
    CurlTransport,
    StripeHTTPClient,
    TransportError,
    _last_header_block,
)
from tiersync.receiver.sync import SyncProblem, TransientError

# cryptography imports its OpenSSL backend on first use; imported here, with the test module, and not in the
# middle of a test: there, a garbage collection whose finalizer imports (a ResourceWarning) made CPython 3.11's
# import lock raise KeyError now and then (python/cpython#91351, fixed in 3.12)


class CustomerAnswer(http.server.BaseHTTPRequestHandler):
    """Answers every GET with one customer; with `close_after`, then closes the connection without saying so
    (no "Connection: close"), so the client keeps it for reuse."""

    protocol_version = "HTTP/1.1"
    close_after = False

    def do_GET(self):
        body = b'{"id": "cus_1", "object": "customer"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = self.close_after

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(handler, tls: ssl.SSLContext | None = None):
    """A threaded server on 127.0.0.1 with `handler` (over TLS with `tls`); yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stripe_sdk(base: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_http", base_addresses={"api": base}, max_network_retries=0,
                               http_client=StripeHTTPClient(CurlTransport(2.0, maxsize=2)))


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
                                 http_client=StripeHTTPClient(CurlTransport(0.2, maxsize=2)))
    with pytest.raises(stripe.APIConnectionError) as info:
        client.v1.customers.retrieve("cus_slow")
    assert "timeout" in str(info.value) and info.value.should_retry is True


def test_clerk_client_decodes_a_compressed_answer(httpserver):
    body = gzip.compress(b'{"ok": true}')
    httpserver.expect_request("/v1/x").respond_with_data(body, headers={"Content-Encoding": "gzip"},
                                                         content_type="application/json")
    client = ClerkHTTPClient(CurlTransport(2.0, maxsize=2))
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


def test_each_sdk_verifies_tls_with_its_bundle():
    import certifi

    from tiersync.receiver.app import stripe_client
    from tiersync.receiver.settings import Settings
    settings = Settings(stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_x", clerk_secret_key="sk_test_y",
                        price_ids={"pro": "price_pro"})
    assert stripe_client(settings)._requestor._client.transport.ca_certs == stripe.ca_bundle_path
    clerk = ClerkGateway("sk_test_c", "https://api.clerk.com").sdk.sdk_configuration.client
    assert clerk.transport.ca_certs == certifi.where()


@pytest.fixture
def https_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate: (url, the certificate's file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    with serving(CustomerAnswer, context) as port:
        yield f"https://127.0.0.1:{port}", str(cert_file)


def test_a_certificate_outside_the_bundle_is_refused_and_not_retried(https_server):
    url, _ = https_server
    with pytest.raises(TransportError) as info:
        CurlTransport(2.0).request("GET", f"{url}/v1/customers/cus_1", {})
    assert info.value.kind == "other" and "certificate" in str(info.value).lower()
    sdk = stripe.StripeClient("sk_test_http", base_addresses={"api": url}, max_network_retries=0,
                              http_client=StripeHTTPClient(CurlTransport(2.0)))
    with pytest.raises(stripe.APIConnectionError) as refused:
        sdk.v1.customers.retrieve("cus_1")
    assert refused.value.should_retry is False


def test_a_certificate_in_the_bundle_is_accepted(https_server):
    url, cert_file = https_server
    sdk = stripe.StripeClient("sk_test_http", base_addresses={"api": url}, max_network_retries=0,
                              http_client=StripeHTTPClient(CurlTransport(2.0, ca_certs=cert_file)))
    assert sdk.v1.customers.retrieve("cus_1").id == "cus_1"


def test_only_the_sdks_headers_are_sent_and_a_json_patch_keeps_its_type(httpserver):
    httpserver.expect_request("/v1/users/user_1/metadata", method="PATCH", json={"public_metadata": {"plan": "pro"}},
                              ).respond_with_json({"id": "user_1"})
    client = ClerkHTTPClient(CurlTransport(2.0))
    request = client.build_request("PATCH", httpserver.url_for("/v1/users/user_1/metadata"),
                                   json={"public_metadata": {"plan": "pro"}}, headers={"X-Test": "1"})
    assert client.send(request).json() == {"id": "user_1"}
    sent = httpserver.log[-1][0].headers
    assert sent["Content-Type"] == "application/json" and sent["X-Test"] == "1"
    assert "Accept" not in sent and "Expect" not in sent


def test_the_headers_are_the_final_answers():
    assert _last_header_block([b"HTTP/1.1 100 Continue\r\n", b"\r\n", b"HTTP/1.1 200 OK\r\n",
                               b"Request-Id: req_1\r\n", b"X-Two: a: b\r\n", b"\r\n"]) == [
        ("Request-Id", "req_1"), ("X-Two", "a: b")]


def test_methods_and_bodies_reach_the_server(httpserver):
    httpserver.expect_request("/v1/things/1", method="DELETE").respond_with_json({"deleted": True})
    httpserver.expect_request("/v1/things", method="POST", data="a=1").respond_with_json({"id": "1"}, status=201)
    transport = CurlTransport(2.0)
    status, _, body = transport.request("DELETE", httpserver.url_for("/v1/things/1"), {})
    assert status == 200 and json.loads(body) == {"deleted": True}
    status, head, _ = transport.request("POST", httpserver.url_for("/v1/things"),
                                        [("Content-Type", "application/x-www-form-urlencoded")], b"a=1")
    assert status == 201 and ("Content-Type", "application/json") in head


def test_a_keep_alive_connection_the_server_closed_is_replaced_not_failed():
    """Servers drop idle keep-alive connections (uvicorn after 5 s): the next call must open a new one, not fail."""

    class CloseAfterEachAnswer(CustomerAnswer):
        close_after = True

    with serving(CloseAfterEachAnswer) as port:
        sdk = stripe_sdk(f"http://127.0.0.1:{port}").v1
        for _ in range(3):
            assert sdk.customers.retrieve("cus_1").id == "cus_1"
            time.sleep(0.05)  # the server's close reaches the client before the next call
