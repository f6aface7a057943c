"""HTTP under both official SDKs: libcurl (pycurl) with keep-alive connections.

Each webhook costs the receiver two HTTP calls (a Stripe re-fetch, a Clerk read or write). The client side of
a keep-alive call to a local server costs ~0.9 ms of CPU through httpx, ~0.5 ms through urllib3 and ~0.13 ms
through libcurl (bench/receiver.py (b): ~0.8 ms less per event than urllib3). Both SDKs document how to plug in
a client: `stripe.HTTPClient` subclasses (stripe-python ships a pycurl one too, but it shares one handle
between threads and fixes its own timeouts), and clerk-backend-api's `HttpClient` protocol (httpx
`Request`/`Response` objects, whatever sends them). The SDKs do the rest as before: auth, versioning, retry
policy, errors.
"""

from __future__ import annotations

import io
import textwrap
import threading

import certifi
import httpx
import pycurl
import stripe

_CONNECT_FAILED = {pycurl.E_COULDNT_CONNECT, pycurl.E_COULDNT_RESOLVE_HOST, pycurl.E_COULDNT_RESOLVE_PROXY}
_CUT_OFF = {pycurl.E_GOT_NOTHING, pycurl.E_SEND_ERROR, pycurl.E_RECV_ERROR, pycurl.E_PARTIAL_FILE}


class TransportError(Exception):
    """A call that got no HTTP answer. `kind`: "connect" (nothing was sent), "timeout", "cut_off" (the
    connection broke mid-call) or "other" (TLS, a malformed answer...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class CurlTransport:
    """Keep-alive HTTP(S) over libcurl. Each call takes an easy handle from a pool (or makes one): a handle
    keeps its connections open between calls, and one handle serves one thread at a time. TLS is verified
    against `ca_certs` (by default certifi's bundle, as httpx does); no redirects are followed and nothing is
    retried here: each SDK owns its retry policy, and the receiver wants a prompt 5xx rather than a long wait.
    A connection the server closed while idle is noticed and replaced (libcurl retries a reused connection
    that died before answering)."""

    def __init__(self, timeout: float, maxsize: int = 8, ca_certs: str | None = None):
        self.timeout_ms = max(1, int(timeout * 1000))
        self.maxsize = maxsize
        self.ca_certs = ca_certs or certifi.where()
        self._idle: list[pycurl.Curl] = []
        self._lock = threading.Lock()

    def request(self, method: str, url: str, headers, body: bytes | None = None
                ) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers in order, body) of one call; TransportError if there is no answer."""
        curl = self._take()
        out, head = io.BytesIO(), []
        try:
            curl.reset()  # options only: the handle's open connections stay
            curl.setopt(pycurl.URL, url)
            curl.setopt(pycurl.NOSIGNAL, 1)
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, self.timeout_ms)
            curl.setopt(pycurl.TIMEOUT_MS, self.timeout_ms)
            curl.setopt(pycurl.CAINFO, self.ca_certs)
            curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
            lines = [f"{k}: {v}" for k, v in (headers.items() if hasattr(headers, "items") else headers)]
            named = {line.split(":", 1)[0].lower() for line in lines}
            lines.append("Expect:")  # no 100-continue round trip before a large body
            if "accept" not in named:
                lines.append("Accept:")  # send only the SDK's headers (libcurl would add Accept: */*)
            method = method.upper()
            if body:
                if "content-type" not in named:
                    lines.append("Content-Type:")  # libcurl's default for a body would be a form's
                curl.setopt(pycurl.POSTFIELDS, body)
                if method != "POST":
                    curl.setopt(pycurl.CUSTOMREQUEST, method)
            elif method == "HEAD":
                curl.setopt(pycurl.NOBODY, 1)
            elif method != "GET":
                curl.setopt(pycurl.CUSTOMREQUEST, method)
            curl.setopt(pycurl.HTTPHEADER, lines)
            curl.setopt(pycurl.WRITEFUNCTION, out.write)
            curl.setopt(pycurl.HEADERFUNCTION, head.append)
            curl.perform()
            status = curl.getinfo(pycurl.RESPONSE_CODE)
        except pycurl.error as exc:
            code, message = exc.args[0], str(exc.args[1] if len(exc.args) > 1 else exc)
            curl.close()  # its connection is in an unknown state
            curl = None
            kind = ("connect" if code in _CONNECT_FAILED else "timeout" if code == pycurl.E_OPERATION_TIMEDOUT
                    else "cut_off" if code in _CUT_OFF else "other")
            raise TransportError(kind, f"{message} (curl error {code})") from None
        finally:
            if curl is not None:
                self._give(curl)
        return status, _last_header_block(head), out.getvalue()

    def _take(self) -> pycurl.Curl:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return pycurl.Curl()

    def _give(self, curl: pycurl.Curl):
        with self._lock:
            if len(self._idle) < self.maxsize:
                self._idle.append(curl)
                return
        curl.close()

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for curl in idle:
            curl.close()


def _last_header_block(lines: list[bytes]) -> list[tuple[str, str]]:
    """The headers of the final answer (after any 1xx), as (name, value) pairs."""
    out: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.decode("latin-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            out = []
        elif ":" in line:
            name, value = line.split(":", 1)
            out.append((name.strip(), value.strip()))
    return out


class StripeHTTPClient(stripe.HTTPClient):
    """`stripe.HTTPClient` over a CurlTransport (sync only, which is all the receiver uses)."""

    name = "pycurl"

    def __init__(self, transport: CurlTransport):
        super().__init__()
        self.transport = transport

    def request(self, method, url, headers, post_data=None, **_):
        status, head, body = self._send(method, url, headers, post_data)
        return body, status, {k.lower(): v for k, v in head}

    def request_stream(self, method, url, headers, post_data=None, **_):
        # the whole body, read: the receiver never streams (the SDK streams only file downloads)
        status, head, body = self._send(method, url, headers, post_data)
        return io.BytesIO(body), status, {k.lower(): v for k, v in head}

    def _send(self, method, url, headers, post_data):
        if isinstance(post_data, str):
            post_data = post_data.encode()
        try:
            return self.transport.request(method, url, headers or {}, post_data)
        except TransportError as exc:
            # like the SDK's own clients: connection failures and timeouts may be retried, the rest not
            message = textwrap.fill("Unexpected error communicating with Stripe.")
            raise stripe.APIConnectionError(f"{message}\n\n(Network error: {exc.kind}: {exc})",
                                            should_retry=exc.kind != "other") from None

    def close(self):
        self.transport.close()


class ClerkHTTPClient:
    """clerk-backend-api's `HttpClient` protocol over a CurlTransport. Failures surface as the httpx errors
    the SDK (and the receiver) already handle: ConnectError, TimeoutException, TransportError."""

    def __init__(self, transport: CurlTransport):
        self.transport = transport

    def build_request(self, method, url, *, content=None, data=None, files=None, json=None, params=None,
                      headers=None, cookies=None, timeout=None, extensions=None) -> httpx.Request:
        return httpx.Request(method, url, content=content, data=data, files=files, json=json, params=params,
                             headers=headers, extensions=extensions)

    def send(self, request: httpx.Request, *, stream: bool = False, auth=None, follow_redirects=None) -> httpx.Response:
        try:
            status, head, body = self.transport.request(request.method, str(request.url),
                                                        request.headers.multi_items(), request.read() or None)
        except TransportError as exc:
            error = {"connect": httpx.ConnectError, "timeout": httpx.TimeoutException}.get(exc.kind, httpx.TransportError)
            raise error(str(exc), request=request) from None
        return httpx.Response(status, headers=head, content=body, request=request)  # decodes gzip, as httpx does

    def close(self):
        self.transport.close()
