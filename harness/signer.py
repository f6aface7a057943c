"""Signed Stripe webhook requests, correct or broken on purpose.

The one place tiersync computes `Stripe-Signature` headers: the Stripe simulator's delivery uses it,
the scenario engine uses it to send hand-written events, and `tiersync sign` prints a `curl` command.

    >>> body = render_event({"id": "evt_1", "object": "event", "type": "customer.created"})
    >>> req = build_request(body, "whsec_test_secret", timestamp=1700000000)
    >>> req.headers["Stripe-Signature"][:13]
    't=1700000000,'

Faults (all optional keyword arguments of `build_request`):
  secret_override   sign with another secret (the other mode's, a stale rolled one)
  timestamp_offset  shift `t` (e.g. -600: outside the SDK's default 300 s tolerance)
  header            "missing" (no header) or "malformed" (unparseable) or "no_v1" (only a v0 signature)
  body              "reserialized" (compact JSON, what framework parsers produce) or "crlf" (\\r\\n endings):
                    changed *after* signing, so a correct verifier must reject it
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

from . import jsonbytes

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
CONTENT_TYPE = "application/json; charset=utf-8"
HEADER_FAULTS = ("missing", "malformed", "no_v1")
BODY_FAULTS = ("reserialized", "crlf")


def render_event(event: dict) -> bytes:
    """The body as Stripe sends it: pretty-printed JSON, 2-space indent, `\\n` line endings."""
    return jsonbytes.indented(event)


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    """HMAC-SHA256 of `f"{t}.{body}"` keyed with the UTF-8 bytes of the whole `whsec_...` string."""
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + payload, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secrets: str | list[str], timestamp: int | None = None,
                     test_mode: bool = False) -> str:
    """`t=...,v1=...[,v1=...]` with one `v1` per valid secret (secret rolling), plus a fake `v0` in test mode."""
    if isinstance(secrets, str):
        secrets = [secrets]
    t = int(time.time()) if timestamp is None else int(timestamp)
    parts = [f"t={t}"] + [f"v1={signature(payload, s, t)}" for s in secrets]
    if test_mode:
        parts.append(f"v0={hashlib.sha256(payload).hexdigest()}")
    return ",".join(parts)


@dataclass
class SignedRequest:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)

    @property
    def signature_header(self) -> str | None:
        return self.headers.get("Stripe-Signature")


def build_request(payload: bytes | str | dict, secrets: str | list[str], *, timestamp: int | None = None,
                  test_mode: bool = False, secret_override: str | None = None, timestamp_offset: int = 0,
                  header: str | None = None, body: str | None = None) -> SignedRequest:
    """A webhook request for `payload`, signed with `secrets`, with any of the faults in the module doc."""
    if isinstance(payload, dict):
        payload = render_event(payload)
    elif isinstance(payload, str):
        payload = payload.encode("utf-8")
    if header is not None and header not in HEADER_FAULTS:
        raise ValueError(f"header fault must be one of {', '.join(HEADER_FAULTS)}, not {header!r}")
    if body is not None and body not in BODY_FAULTS:
        raise ValueError(f"body fault must be one of {', '.join(BODY_FAULTS)}, not {body!r}")
    faults = []
    t = (int(time.time()) if timestamp is None else int(timestamp)) + timestamp_offset
    if timestamp_offset:
        faults.append(f"timestamp_offset:{timestamp_offset:+d}s")
    if secret_override is not None:
        secrets = [secret_override]
        faults.append("signed_with_other_secret")
    value = signature_header(payload, secrets, t, test_mode)
    if header == "no_v1":
        value = f"t={t},v0={hashlib.sha256(payload).hexdigest()}"
    elif header == "malformed":
        value = "sha256=" + value.replace(",", " ").replace("t=", "")
    sent = payload
    if body == "reserialized":
        sent = json.dumps(json.loads(payload), separators=(",", ":")).encode()
    elif body == "crlf":
        sent = payload.replace(b"\n", b"\r\n")
    if header:
        faults.append(f"header_{header}")
    if body:
        faults.append(f"body_{body}")
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT, "Accept": "*/*",
               "Cache-Control": "no-cache", "Stripe-Signature": value}
    if header == "missing":
        del headers["Stripe-Signature"]
    return SignedRequest(sent, headers, faults)


def mask(text: str) -> str:
    """Mask every `sk_`/`rk_`/`whsec_` value in a text, keeping the last four characters."""
    import re
    return re.sub(r"\b(whsec|sk_test|sk_live|rk_test|rk_live)_([A-Za-z0-9_]+)",
                  lambda m: f"{m.group(1)}_****{m.group(2)[-4:]}", text)
