"""In-process mode: `responses` intercepts the SDK's `requests` calls to https://api.stripe.com and
hands them to the same `StripeSim.handle` the server uses (the way moto's `mock_aws` fakes AWS)."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import urlsplit

import requests
import responses

from .app import StripeSim

API_HOSTS = ("https://api.stripe.com", "https://files.stripe.com")


@contextlib.contextmanager
def mock_stripe(sim: StripeSim | None = None, *, passthrough: tuple[str, ...] = ("http://127.0.0.1",
                                                                                  "http://localhost")):
    """Route the SDK's default HTTP client to `sim` (a new one if not given) for the block."""
    sim = sim or StripeSim(public_url="https://checkout.stripe.com")
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)

    def callback(request):
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        resp = sim.handle(request.method, parts.path, parts.query, headers, body)
        if resp.delay:
            raise requests.exceptions.ReadTimeout(f"simulated timeout on {parts.path}")
        return resp.status, resp.headers, resp.body

    for host in API_HOSTS:
        pattern = re.compile(re.escape(host) + r"/.*")
        for method in ("GET", "POST", "DELETE"):
            mock.add_callback(method, pattern, callback=callback)
    for prefix in passthrough:
        mock.add_passthru(prefix)
    with mock:
        yield sim
