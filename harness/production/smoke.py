"""`tiersync smoke --target URL`: probe a deployed webhook receiver without touching a real customer.

Signed and broken requests go straight to the app's webhook URL: nothing is created in Stripe or Clerk
(the `--journey` part is in journey.py). Each failure names the likely cause and the fix."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import httpx

from ..signer import build_request, render_event
from .report import FAIL, PASS, SKIP, WARN, Check

API_VERSION = "2025-09-30.clover"
LATENCY_BUDGET_S = 1.0


class TargetUnreachable(Exception):
    """The webhook URL does not answer at all: one line for the user."""


@dataclass
class Probe:
    status: int
    body: str
    seconds: float


def smoke_event(event_type: str, obj: dict, livemode: bool) -> dict:
    """An event with tiersync's own ids, so nobody confuses it with a real one in the app's logs."""
    return {"id": f"evt_tiersync_smoke_{secrets.token_hex(8)}", "object": "event", "api_version": API_VERSION,
            "created": int(time.time()), "data": {"object": obj}, "livemode": livemode, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type}


def harmless_event(livemode: bool) -> dict:
    return smoke_event("balance.available", {"object": "balance", "available": [{"amount": 0, "currency": "usd"}],
                                             "pending": [], "livemode": livemode}, livemode)


def unknown_customer_event(livemode: bool) -> dict:
    tag = secrets.token_hex(6)
    return smoke_event("customer.subscription.updated", {
        "id": f"sub_tiersyncSmokeNoSuch{tag}", "object": "subscription", "customer": f"cus_tiersyncSmokeNoSuch{tag}",
        "status": "active", "livemode": livemode, "cancel_at_period_end": False,
        "metadata": {"userId": f"user_tiersyncSmokeNoSuch{tag}", "tier": "smoke-test-no-such-tier"},
        "items": {"object": "list", "data": [], "has_more": False}}, livemode)


class Prober:
    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.http = httpx.Client(timeout=timeout)

    def send(self, body: bytes, headers: dict[str, str]) -> Probe:
        started = time.perf_counter()
        try:
            response = self.http.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return Probe(0, "timed out", time.perf_counter() - started)
        except httpx.HTTPError as exc:
            raise TargetUnreachable(f"{self.url} does not answer ({type(exc).__name__}): check --target and "
                                    "that the app is deployed") from None
        return Probe(response.status_code, response.text[:200], time.perf_counter() - started)

    def close(self):
        self.http.close()


def _rejected(check_id: str, what: str, probe: Probe, accepted_means: str) -> Check:
    code = probe.status
    if code == 0:
        return Check(check_id, FAIL, f"{what}: no answer within the timeout", "the app hangs on a bad request: "
                     "verify the signature first and answer 400 at once")
    if 200 <= code < 300:
        return Check(check_id, FAIL, f"{what}: accepted ({code})", accepted_means)
    if code >= 500:
        return Check(check_id, FAIL, f"{what}: {code} instead of 400; Stripe retries a 5xx for days",
                     "a 500 here usually means STRIPE_WEBHOOK_SECRET is not set in the deployment (wrangler "
                     "secret list); otherwise catch the verification error and answer 400")
    if code == 404:
        return Check(check_id, FAIL, f"{what}: 404, no webhook handler at this URL",
                     "check --target and --webhook-path (the path the Stripe endpoint posts to)")
    return Check(check_id, PASS, f"{what}: rejected ({code})")


def signature_probes(prober: Prober, secret: str, other_mode_secret: str | None, livemode: bool) -> list[Check]:
    forge = "anyone who knows the URL can grant themselves a paid tier: verify Stripe-Signature with the " \
            "endpoint's secret (constructEvent on the raw body) before reading the event"
    body = render_event(harmless_event(livemode))
    checks = []
    unsigned = build_request(body, secret, header="missing")
    checks.append(_rejected("smoke.unsigned", "no Stripe-Signature header", prober.send(unsigned.body,
                                                                                         unsigned.headers), forge))
    wrong = build_request(body, secret, secret_override="whsec_" + secrets.token_urlsafe(24))
    checks.append(_rejected("smoke.wrong_secret", "signed with a secret that is not the endpoint's",
                            prober.send(wrong.body, wrong.headers), forge))
    if other_mode_secret:
        other = build_request(body, secret, secret_override=other_mode_secret)
        checks.append(_rejected("smoke.other_mode_secret", "signed with the other mode's endpoint secret",
                                prober.send(other.body, other.headers),
                                "the deployment verifies with the other mode's secret: set STRIPE_WEBHOOK_SECRET "
                                "to this mode's endpoint secret (guide Step 6)"))
    else:
        checks.append(Check("smoke.other_mode_secret", SKIP, "no --other-mode-secret given",
                            "pass the other mode's endpoint secret (env TIERSYNC_OTHER_MODE_SECRET) to prove the "
                            "deployment refuses it"))
    stale = build_request(body, secret, timestamp_offset=-600)
    checks.append(_rejected("smoke.stale_timestamp", "correctly signed 10 minutes ago (replayed)",
                            prober.send(stale.body, stale.headers), "a recorded request can be replayed: keep the "
                            "SDK's 300 s tolerance (do not pass a larger one, do not skip the timestamp check)"))
    signed = build_request(body, secret)
    tampered = signed.body.replace(b'"amount": 0', b'"amount": 1', 1)
    tampered = tampered if tampered != signed.body else signed.body + b"\n"
    checks.append(_rejected("smoke.tampered_body", "body changed after signing", prober.send(tampered, signed.headers),
                            "the signature is not checked against the raw body: verify the exact bytes received"))
    return checks


def signed_probes(prober: Prober, secret: str, livemode: bool) -> tuple[list[Check], float | None]:
    mode = "live" if livemode else "test"
    checks = []
    signed = build_request(harmless_event(livemode), secret)
    probe = prober.send(signed.body, signed.headers)
    ms = round(probe.seconds * 1000)
    code, cid, what = probe.status, "smoke.signed_event", "a correctly signed balance.available event"
    if 200 <= code < 300 and probe.seconds <= LATENCY_BUDGET_S:
        checks.append(Check(cid, PASS, f"{what}: {code} in {ms} ms"))
    elif 200 <= code < 300:
        checks.append(Check(cid, WARN, f"{what}: {code} but in {ms} ms (Stripe wants an answer within seconds)",
                            "answer 2xx first and do slow work after (ctx.waitUntil, a queue)"))
    elif code == 400 and "livemode" in probe.body.lower():
        checks.append(Check(cid, FAIL, f"{what} ({mode} mode): 400 mentioning livemode",
                            f"the deployment runs in the other mode: its STRIPE_SECRET_KEY is not a {mode} key"))
    elif code == 400:
        checks.append(Check(cid, FAIL, f"{what}: 400 on a correct signature ({ms} ms)",
                            "the deployed STRIPE_WEBHOOK_SECRET is not this endpoint's (or the body is re-serialised "
                            "before verifying): copy the secret from this endpoint, wrangler secret put "
                            "STRIPE_WEBHOOK_SECRET"))
    elif code in (401, 403):
        checks.append(Check(cid, FAIL, f"{what}: {code}", "an auth check guards the webhook path: exempt it "
                            "(Stripe sends no session token; the signature is the authentication)"))
    elif code == 0:
        checks.append(Check(cid, FAIL, f"{what}: no answer within the timeout", "the handler hangs: check the logs"))
    else:
        checks.append(Check(cid, FAIL, f"{what}: {code} ({ms} ms)", "unknown event types must get a 2xx: "
                            "Stripe retries anything else for days; check the logs (wrangler tail)"))
    unknown = build_request(unknown_customer_event(livemode), secret)
    probe2 = prober.send(unknown.body, unknown.headers)
    what2 = "a signed customer.subscription.updated for a customer that does not exist"
    if probe2.status >= 500 or probe2.status == 0:
        checks.append(Check("smoke.unknown_customer", FAIL, f"{what2}: {probe2.status or 'timeout'}",
                            "an event about an unknown customer or user must get a 2xx or 4xx, never a 5xx "
                            "(Stripe retries it for days): catch the 'not found' from Stripe/Clerk"))
    else:
        checks.append(Check("smoke.unknown_customer", PASS, f"{what2}: {probe2.status}, no 5xx"))
    return checks, probe.seconds
