"""`StripeSim`: the backend. One instance serves the ASGI server mode and the in-process mode
(`responses` intercepting the SDK); both go through `StripeSim.handle`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .. import jsonbytes
from ..server import replaying_receive
from . import resources, search, snapshot  # noqa: F401  (registers every route)
from .api_faults import ApiFaults
from .clock import Clock
from .errors import (
    ApiError,
    AuthenticationFailed,
    IdempotencyError,
    InvalidRequest,
    RateLimited,
    StripeError,
    mask_key,
)
from .expand import apply_expand, check_depth
from .form_encoding import encode_params
from .guards import check_account, check_idempotency_key, check_origin, match_route
from .params import UNPARSEABLE, check_fields, decode_form
from .routing import DUE, Ctx
from .snapshot import Snapshot
from .store import Store
from .versions import API_VERSION, plan, served_version
from .webhooks.delivery import WebhookDeliverer

DEFAULT_TEST_KEY = "sk_test_tiersync_sim_key"
DEFAULT_LIVE_KEY = "sk_live_tiersync_sim_key"
MAX_BODY = 1_000_000
_KEY_SHAPE = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{4,255}$")
IDEMPOTENCY_CACHE = 10_000
REQUEST_LOG_LIMIT = 10_000  # the most recent requests, for inspection (GET /_sim/requests)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # an API fault's "timeout": answer only after this many seconds

    def json(self):
        return json.loads(self.body)


@dataclass(slots=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    request_id: str
    mode: str | None
    fault: str | None = None


class StripeSim:
    """A stateful Stripe. `keys` maps secret keys to modes; `accept_any_key` lets any well-formed
    `sk_`/`rk_` key in, its mode taken from its prefix."""

    def __init__(self, keys: dict[str, str] | None = None, *, accept_any_key: bool = False,
                 seed: int | None = None, public_url: str = "http://127.0.0.1:12111"):
        self.keys = dict(keys) if keys is not None else {DEFAULT_TEST_KEY: "test", DEFAULT_LIVE_KEY: "live"}
        self.accept_any_key = accept_any_key
        self.public_url = public_url
        self.store = Store(seed)
        self.clock = Clock()
        self.listeners: list[Callable[[str, dict], None]] = []  # (mode, event) after each commit
        self.endpoint_listeners: list[Callable[[str, dict], None]] = []  # (mode, endpoint) on change
        self.webhook_secrets: dict[str, list[str]] = {}  # endpoint id -> signing secrets, newest first
        self.deliveries: dict[str, dict] = {}  # event id -> {"pending": set, "failed": set}
        self.default_test_clock: str | None = None  # test-mode customers created without one join it
        # what happens to a subscription when all payment retries fail, per mode (an account setting: kept
        # across reset, like the keys); set by POST /_sim/settings/failed_payments or `serve --failed-payments`
        self.failed_payment_settings = {"test": "mark_unpaid", "live": "mark_unpaid"}
        self.world_snapshot: Snapshot | None = None  # the seeded world (save_world, POST /_sim/world/restore)
        self.request_log: list[LoggedRequest] = []
        self.internal_errors: list[str] = []  # simulator bugs hit by requests (each answered with a 500)
        self._idempotency: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.RLock()
        self.api_faults = ApiFaults()
        self.webhooks = WebhookDeliverer(self)
        from .pages import hosted_pages
        self.pages = hosted_pages(self)

    # ---- control ----------------------------------------------------------------------------------
    def reset(self):
        with self._lock:
            self.store.reset()
            self.clock.reset()
            self.webhook_secrets.clear()
            self.deliveries.clear()
            self.api_faults.clear()
            self.default_test_clock = None
            self.request_log.clear()
            self._idempotency.clear()
        self.webhooks.reset()

    def close(self):
        """Stop the webhook delivery thread (pending deliveries are dropped; it restarts on the next event)."""
        self.webhooks.close()

    def key_for(self, mode: str) -> str:
        return next(k for k, m in self.keys.items() if m == mode and k.startswith("sk_"))

    @property
    def test_key(self) -> str:
        return self.key_for("test")

    @property
    def live_key(self) -> str:
        return self.key_for("live")

    def context(self, mode: str = "test") -> Ctx:
        """A context for calling model operations directly from Python (the simulator's own tests); seeding
        and other callers use `request`, which validates and commits as the API does."""
        return Ctx(self, self.store, mode, request_id=None)

    def operate(self, mode: str, fn):
        """Run `fn(ctx)` as one request would: under the lock, all or nothing, events committed on success.
        For the hosted pages and Python callers. Raises the operation's StripeError."""
        ctx = Ctx(self, self.store, mode, request_id=self.store.ids.new("req", 14))
        with self._lock:
            self._run_due(mode)
            self.store.begin()
            try:
                result = fn(ctx)
                for then in ctx.after_response:
                    then()
            except BaseException:
                self.store.end(rollback=not ctx.keep_events_on_error)
                if ctx.keep_events_on_error:
                    self.commit(ctx)
                raise
            self.store.end(rollback=False)
            self.commit(ctx)
            return result

    def run_due(self, modes=("test", "live")):
        """Settle what the clock has made due (bank debits), as a request would before its own work."""
        with self._lock:
            for mode in modes:
                self._run_due(mode)

    def _run_due(self, mode: str):
        for is_due, run in DUE:
            ctx = Ctx(self, self.store, mode, request_id=None)
            if not is_due(ctx):
                continue
            self.store.begin()
            try:
                run(ctx)
            except BaseException:
                self.store.end(rollback=True)
                raise
            self.store.end(rollback=False)
            self.commit(ctx)

    def commit(self, ctx: Ctx):
        """Store the events a successful operation recorded and tell the listeners (webhook delivery)."""
        from .resources.events import commit_events
        commit_events(ctx)
        for event in ctx.events:
            for listener in self.listeners:
                listener(ctx.mode, event)
        ctx.events = []

    # ---- in-process API (seeding, tests): moto's style, no HTTP ----------------------------------------
    def request(self, method: str, path: str, params: dict | None = None, *, mode: str = "test") -> dict:
        """One call as an HTTP request with `mode`'s secret key makes it: the same routing, parameter
        validation (`params` as the SDKs take them: nested dicts and lists, encoded and decoded the way they
        travel), expansion and all-or-nothing commit, events delivered to the endpoints. Returns a copy of
        the response object; a refused call raises the simulator's StripeError (`.status`, `.message`).
        Not logged in `request_log`, not subject to API faults (they stand for the network)."""
        if mode not in ("test", "live"):
            raise ValueError(f"mode must be 'test' or 'live', not {mode!r}")
        method = method.upper()
        route, path_params = match_route(method, path)
        params = check_fields(route.params, decode_form(urlencode(encode_params(params or {}))))
        if params.get("expand"):
            check_depth(params["expand"])
        ctx = Ctx(self, self.store, mode, request_id=self.store.ids.new("req", 14))
        return self._execute(ctx, route, path_params, params, jsonbytes.copy)

    def snapshot(self) -> Snapshot:
        """The world as it is now (see `snapshot.py` for what it holds), to `restore` later."""
        with self._lock:
            return snapshot.take(self)

    def restore(self, saved: Snapshot):
        """Put the world of `saved` back, ids and secrets kept: deliveries not yet made are dropped and
        faults cleared (what a scenario left behind must not reach the next one). `saved` stays usable."""
        self.webhooks.drop_pending()  # outside the lock: deliveries in flight may call back into the API
        with self._lock:
            snapshot.put_back(self, saved)

    def save_world(self):
        """Remember the world as it is now as the seeded world (`POST /_sim/world/restore` puts it back).
        Kept across `reset`, like the keys."""
        self.world_snapshot = self.snapshot()

    def restore_world(self):
        """Put back the world saved by `save_world`; raises InvalidRequest (404) when none was saved."""
        if self.world_snapshot is None:
            raise InvalidRequest("This simulator has no seeded world to restore (none was saved: `tiersync "
                                 "serve` and a Stack save theirs after seeding).", status=404)
        self.restore(self.world_snapshot)

    def mode_of_key(self, key: str) -> str:
        mode = self.keys.get(key)
        if mode is None and self.accept_any_key and _KEY_SHAPE.match(key):
            mode = _KEY_SHAPE.match(key).group(2)
        if mode is None:
            raise AuthenticationFailed(f"Invalid API Key provided: {mask_key(key)}", code="api_key_invalid")
        return mode

    # ---- HTTP ---------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        """One API request. `headers` keys are lower-case. Never raises."""
        request_id = self.store.ids.new("req", 14)
        version = API_VERSION
        out_headers = {"Request-Id": request_id, "Stripe-Version": version,
                       "Content-Type": "application/json"}  # no CORS: a web page may not drive the simulator
        mode = None
        try:
            route, path_params = match_route(method, path)
            if route.admin:
                check_origin(headers.get("origin"), self.public_url)
            else:
                mode = self._authenticate(headers)
                check_account(headers)
                version = served_version(headers.get("stripe-version"))
                out_headers["Stripe-Version"] = version  # the version served, echoed as Stripe does
            fault = self.api_faults.take(method, path) if not route.admin and self.api_faults.faults else None
            if fault is not None:
                return self._fault_response(fault, out_headers, method, path, request_id, mode)
            if len(body) > MAX_BODY:
                raise InvalidRequest("Request body too large.", status=413)
            raw = body.decode("utf-8")
            form = decode_form(query) if query else {}
            if raw:
                form.update(decode_form(raw))
            if version is API_VERSION:
                params = check_fields(route.params, form)
            else:  # an older version: its parameters, brought to today's (versions.py)
                translation = plan(version)
                params = check_fields(translation.fields(method, route.template, route.params), form)
                params = translation.upgrade(method, route.template, params)
            if params.get("expand"):
                check_depth(params["expand"])  # refused before the request runs, like Stripe
            idem = headers.get("idempotency-key") if method in ("POST", "DELETE") else None
            check_idempotency_key(idem)
            if idem:
                out_headers["Idempotency-Key"] = idem
                replay = self._idempotent_replay(headers, idem, method, path, raw)
                if replay:
                    status, payload = replay
                    out_headers["Idempotent-Replayed"] = "true"
                    return self._log(Response(status, payload, out_headers), method, path, request_id, mode)
            status, payload = self._run(route, path_params, params, mode, request_id, idem, version)
            if idem:
                self._remember(headers, idem, method, path, raw, status, payload)
            return self._log(Response(status, payload, out_headers), method, path, request_id, mode)
        except StripeError as exc:
            return self._log(Response(exc.status, _dump(exc.body(request_id, mode)), out_headers),
                             method, path, request_id, mode)
        except (UnicodeDecodeError, RecursionError):  # a body that cannot be parsed: Stripe's generic answer
            err = InvalidRequest(UNPARSEABLE)
            return self._log(Response(400, _dump(err.body(request_id)), out_headers), method, path, request_id, mode)
        except Exception as exc:  # a simulator bug: say so in Stripe's shape rather than drop the connection
            self.internal_errors.append(f"{method} {path}: {exc!r}")
            err = ApiError(f"Internal simulator error ({type(exc).__name__}); this is a tiersync bug, please "
                           "report it with this request id.")
            return self._log(Response(500, _dump(err.body(request_id)), out_headers), method, path, request_id, mode)

    def _fault_response(self, fault, headers, method, path, request_id, mode) -> Response:
        if fault.status == "429":
            err = RateLimited("Request rate limit exceeded. Learn more about rate limits here "
                              "https://stripe.com/docs/rate-limits.", code="rate_limit")
            headers = {**headers, "Retry-After": str(fault.retry_after)}
        else:
            err = ApiError("An unknown error occurred while processing this request (simulated).")
        resp = Response(err.status, _dump(err.body(request_id)), headers,
                        delay=fault.seconds if fault.status == "timeout" else 0.0)
        resp = self._log(resp, method, path, request_id, mode)
        self.request_log[-1].fault = f"{fault.id}:{fault.status}"
        return resp

    def _run(self, route, path_params, params, mode, request_id, idem, version=API_VERSION) -> tuple[int, bytes]:
        ctx = Ctx(self, self.store, mode or "test", request_id=request_id, idempotency_key=idem)
        render = _dump
        translation = plan(version) if version is not API_VERSION else None
        if translation is not None and translation.by_object:  # today's objects in that version's shapes
            def find(kind, obj_id):
                return self.store.find(ctx.mode, kind, obj_id)

            def render(result):
                return _dump(translation.downgrade(result, find))
        try:
            return 200, self._execute(ctx, route, path_params, params, render)
        except StripeError as exc:
            return exc.status, _dump(exc.body(request_id, ctx.mode))

    def _execute(self, ctx: Ctx, route, path_params, params, render):
        """Run a matched, validated request: under the lock, all or nothing, events committed on success.
        Returns `render(result)`, made under the lock (the stored objects may change right after); raises
        the operation's StripeError."""
        if route.waits:  # waiting on deliveries under the lock would stall receivers calling back into the API
            return render(route.handler(ctx, params, **path_params))
        with self._lock:
            self._run_due(ctx.mode)
            self.store.begin(snapshots=route.method != "GET")  # a read changes nothing: no snapshots
            try:
                result = route.handler(ctx, params, **path_params)
                if params.get("expand") and isinstance(result, dict):
                    result = apply_expand(ctx, result, params["expand"])
                out = render(result)
                for then in ctx.after_response:  # the answer is rendered: what follows it may change objects
                    then()
            except StripeError:
                # a failed request creates nothing, unless Stripe records the attempt (a declined pay)
                self.store.end(rollback=not ctx.keep_events_on_error)
                if ctx.keep_events_on_error:
                    self.commit(ctx)
                raise
            except BaseException:
                self.store.end(rollback=True)
                raise
            self.store.end(rollback=False)
            self.commit(ctx)
        return out

    def _authenticate(self, headers) -> str:
        auth = headers.get("authorization", "").strip()
        key = ""
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        elif auth.lower().startswith("basic "):
            try:
                key = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise AuthenticationFailed(
                "You did not provide an API key. You need to provide your API key in the Authorization "
                "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
                "https://stripe.com/docs/api#authentication for details, or we can help at "
                "https://support.stripe.com/.")
        if key.startswith("pk_"):
            raise AuthenticationFailed("This API call cannot be made with a publishable API key. Please use "
                                       "a secret API key. You can find a list of your API keys at "
                                       "https://dashboard.stripe.com/account/apikeys.", code="secret_key_required")
        return self.mode_of_key(key)

    def _idem_key(self, headers, idem):
        return (headers.get("authorization", ""), idem)

    def _idempotent_replay(self, headers, idem, method, path, raw):
        with self._lock:
            hit = self._idempotency.get(self._idem_key(headers, idem))
        if hit is None:
            return None
        fingerprint, status, payload = hit
        if fingerprint != _fingerprint(method, path, raw):
            raise IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters they were first "
                f"used with. Try using a key other than '{idem}' if you meant to execute a different request.")
        return status, payload

    def _remember(self, headers, idem, method, path, raw, status, payload):
        with self._lock:
            self._idempotency[self._idem_key(headers, idem)] = (_fingerprint(method, path, raw), status, payload)
            while len(self._idempotency) > IDEMPOTENCY_CACHE:
                self._idempotency.popitem(last=False)

    def _log(self, response: Response, method, path, request_id, mode) -> Response:
        self.request_log.append(LoggedRequest(method, path, response.status, request_id, mode))
        if len(self.request_log) > REQUEST_LOG_LIMIT:
            del self.request_log[:REQUEST_LOG_LIMIT // 5]
        return response

    # ---- ASGI ----------------------------------------------------------------------------------------
    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_BODY + 1:
                chunks.append(chunk)
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if size > MAX_BODY:
            chunks = [b"\0" * (MAX_BODY + 1)]  # handle() answers 413 for anything this large
        args = (scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), headers,
                b"".join(chunks))
        if scope["path"].startswith(HOSTED_PREFIXES):
            await self.pages(scope, replaying_receive(b"".join(chunks), receive), send)
            return
        if scope["path"].startswith("/_sim/"):  # control routes may wait: keep the loop serving the API
            resp = await asyncio.to_thread(self.handle, *args)
        else:
            resp = self.handle(*args)
        if resp.delay:
            await asyncio.sleep(resp.delay)
        await send({"type": "http.response.start", "status": resp.status,
                    "headers": [(k.lower().encode(), v.encode()) for k, v in resp.headers.items()]})
        await send({"type": "http.response.body", "body": resp.body})


HOSTED_PREFIXES = ("/c/", "/p/", "/i/", "/b/", "/t/")  # Checkout, portal, invoices, payment links, transfers

def _dump(obj) -> bytes:
    return jsonbytes.compact(obj)


def _fingerprint(method, path, raw) -> str:
    return hashlib.sha256(f"{method} {path} {raw}".encode()).hexdigest()
