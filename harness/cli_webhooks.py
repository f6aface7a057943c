"""`tiersync sign` and `tiersync listen`: the webhook side of the command line."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
import time
from pathlib import Path

import httpx

from .signer import BODY_FAULTS, HEADER_FAULTS, build_request, mask

DEFAULT_API = "http://127.0.0.1:12111"


def add_commands(sub):
    sign = sub.add_parser("sign", help="sign a webhook payload file and print a ready curl command")
    sign.add_argument("payload", help="JSON file with the event body, sent byte for byte")
    sign.add_argument("--secret", required=True, help="the endpoint's whsec_ signing secret")
    sign.add_argument("--url", default="http://127.0.0.1:8787/webhook/stripe", help="where the curl command posts")
    sign.add_argument("--timestamp", type=int, help="unix time for t= (default: now)")
    sign.add_argument("--timestamp-offset", type=int, default=0, help="shift t= (e.g. -600: too old)")
    sign.add_argument("--other-secret", help="fault: sign with this secret instead")
    sign.add_argument("--header", choices=HEADER_FAULTS, help="fault: missing or malformed Stripe-Signature")
    sign.add_argument("--body", choices=BODY_FAULTS, help="fault: change the body after signing")
    sign.add_argument("--send", action="store_true", help="send it now and print the response")
    sign.set_defaults(func=cmd_sign)

    listen = sub.add_parser("listen", help="forward a mode's events from the simulator to a local URL")
    listen.add_argument("--forward-to", required=True, help="your app's webhook URL")
    listen.add_argument("--api", default=DEFAULT_API, help=f"the Stripe simulator (default {DEFAULT_API})")
    listen.add_argument("--events", default="*", help="comma-separated event types (default: all)")
    listen.add_argument("--live", action="store_true", help="forward live-mode events instead of test-mode ones")
    listen.add_argument("--print-secret", action="store_true", help="print only the signing secret and exit")
    listen.set_defaults(func=cmd_listen)


def _fail(message: str) -> int:
    print(f"tiersync: {mask(message)}", file=sys.stderr)
    return 2


def cmd_sign(args) -> int:
    path = Path(args.payload)
    try:
        body = path.read_bytes()
    except OSError as exc:
        return _fail(f"cannot read {path}: {exc.strerror}")
    if not args.secret.startswith("whsec_"):
        return _fail("--secret must be a whsec_ signing secret")
    try:
        req = build_request(body, args.secret, timestamp=args.timestamp, timestamp_offset=args.timestamp_offset,
                            secret_override=args.other_secret, header=args.header, body=args.body)
    except ValueError as exc:
        return _fail(str(exc))
    sent = path
    if req.body != body:
        sent = path.with_suffix(path.suffix + ".sent")
        sent.write_bytes(req.body)
    if args.send:
        try:
            resp = httpx.post(args.url, content=req.body, headers=req.headers, timeout=10)
        except httpx.HTTPError as exc:
            return _fail(f"POST {args.url} failed: {exc}")
        print(f"{resp.status_code} {resp.text[:500]}")
        return 0 if resp.is_success else 1
    parts = ["curl", "-sS", "-X", "POST", args.url]
    for k, v in req.headers.items():
        parts += ["-H", f"{k}: {v}"]
    parts += ["--data-binary", f"@{sent}"]
    print(" ".join(shlex.quote(p) for p in parts))
    if req.faults:
        print(f"# faults: {', '.join(req.faults)}", file=sys.stderr)
    return 0


def cmd_listen(args) -> int:
    api = args.api.rstrip("/")
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    try:
        r = httpx.post(f"{api}/_sim/listen", data={"url": args.forward_to, "mode": "live" if args.live else "test",
                                                   **{f"events[{i}]": e for i, e in enumerate(events)}}, timeout=5)
    except httpx.HTTPError as exc:
        return _fail(f"cannot reach the Stripe simulator at {api} ({type(exc).__name__}); "
                     "start it with `tiersync serve`")
    if r.status_code != 200:
        return _fail(f"the simulator refused the session: {r.text[:300]}")
    session = r.json()
    if args.print_secret:
        print(session["secret"])
        httpx.delete(f"{api}/_sim/listen/{session['id']}", timeout=5)
        return 0
    # the simulator's own throwaway secret: printed so the app can be configured with it
    print(f"Ready! Your webhook signing secret is {session['secret']} (^C to quit)", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    seen = 0
    try:
        while not stop.wait(0.3):
            try:
                log = httpx.get(f"{api}/_sim/webhooks/log", params={"endpoint": session["id"]}, timeout=5).json()
            except httpx.HTTPError:
                print("lost the simulator; stopping", file=sys.stderr)
                return 1
            for a in log["data"][seen:]:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a["at"]))
                answer = a["status"] if a["status"] is not None else a["outcome"]
                print(f"{stamp}   --> {a['type']} [{a['event']}]\n{stamp}  <--  [{answer}] POST {a['url']}",
                      flush=True)
            seen = len(log["data"])
    finally:
        try:
            httpx.delete(f"{api}/_sim/listen/{session['id']}", timeout=5)
        except httpx.HTTPError:
            pass
    return 0
