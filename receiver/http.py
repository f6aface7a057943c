"""urllib3 connection pools under both official SDKs (one pool each).

Each webhook costs the receiver two HTTP calls (a Stripe re-fetch, a Clerk read or write). Through httpx, the
client side of a keep-alive call to a local server costs ~0.9 ms of CPU here, most of it in httpx's own layers
(URL parsing, cookie jar, auth and redirect handling) rather than on the wire; urllib3 makes the same call in
~0.35-0.5 ms. In bench/receiver.py (b) that took the receiver from ~8 to ~5.5-6 ms of CPU per event. Both SDKs
document how to plug in a client: `stripe.HTTPClient` subclasses, and clerk-backend-api's `HttpClient`
protocol (httpx `Request`/`Response` objects, whatever sends them). The SDKs do the rest as before: auth,
versioning, retry policy, errors.
"""

from __future__ import annotations

import textwrap

import certifi
import httpx
import stripe
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)


def connection_pool(timeout: float, maxsize: int, ca_certs: str | None = None) -> urllib3.PoolManager:
    """Keep-alive pools (one per host) verifying TLS (with `ca_certs`, by default certifi's bundle, as httpx
    does), no retries, no redirects: each SDK owns its retry policy, and the receiver wants a prompt 5xx
    rather than a long wait. A connection the server has closed while idle is noticed and replaced."""
    return urllib3.PoolManager(num_pools=8, maxsize=maxsize, block=False, retries=False,
                               timeout=urllib3.Timeout(connect=timeout, read=timeout),
                               cert_reqs="CERT_REQUIRED", ca_certs=ca_certs or certifi.where())


class StripeHTTPClient(stripe.HTTPClient):
    """`stripe.HTTPClient` over a urllib3 pool (sync only, which is all the receiver uses)."""

    name = "urllib3"

    def __init__(self, pool: urllib3.PoolManager):
        super().__init__()
        self.pool = pool

    def request(self, method, url, headers, post_data=None, **_):
        response = self._send(method, url, headers, post_data, stream=False)
        return response.data, response.status, {k.lower(): v for k, v in response.headers.items()}

    def request_stream(self, method, url, headers, post_data=None, **_):
        response = self._send(method, url, headers, post_data, stream=True)
        return response, response.status, {k.lower(): v for k, v in response.headers.items()}

    def _send(self, method, url, headers, post_data, stream: bool):
        try:
            return self.pool.request(method.upper(), url, body=post_data, headers=dict(headers or {}),
                                     redirect=False, preload_content=not stream)
        except HTTPError as exc:
            # like the SDK's own clients: connection failures and timeouts may be retried, the rest not
            retry = isinstance(exc, (NewConnectionError, ConnectTimeoutError, ReadTimeoutError, ProtocolError))
            message = textwrap.fill("Unexpected error communicating with Stripe.")
            raise stripe.APIConnectionError(f"{message}\n\n(Network error: {type(exc).__name__}: {exc})",
                                            should_retry=retry) from exc

    def close(self):
        self.pool.clear()


class ClerkHTTPClient:
    """clerk-backend-api's `HttpClient` protocol over a urllib3 pool. Failures surface as the httpx errors
    the SDK (and the receiver) already handle: ConnectError, TimeoutException, TransportError."""

    def __init__(self, pool: urllib3.PoolManager):
        self.pool = pool

    def build_request(self, method, url, *, content=None, data=None, files=None, json=None, params=None,
                      headers=None, cookies=None, timeout=None, extensions=None) -> httpx.Request:
        return httpx.Request(method, url, content=content, data=data, files=files, json=json, params=params,
                             headers=headers, extensions=extensions)

    def send(self, request: httpx.Request, *, stream: bool = False, auth=None, follow_redirects=None) -> httpx.Response:
        try:
            response = self.pool.request(request.method, str(request.url), body=request.read() or None,
                                         headers=dict(request.headers), redirect=False,
                                         decode_content=False)  # httpx.Response decodes it
        except NewConnectionError as exc:  # first: urllib3 makes it a subclass of ConnectTimeoutError
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise httpx.TimeoutException(str(exc), request=request) from exc
        except HTTPError as exc:
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from exc
        return httpx.Response(response.status, headers=list(response.headers.items()), content=response.data,
                              request=request)

    def close(self):
        self.pool.clear()
