"""The thin HTTP layer every resource module shares: the `route` decorator, the request context
handed to model operations, and list pagination. A resource adds an endpoint with one operation
decorated by one `@route(...)`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .. import jsonbytes
from .errors import InvalidRequest, no_such
from .frozen import EventRecord
from .params import EXPAND, LIST_PARAMS, Field
from .store import PREFIXES, Namespace, Store, noun
from .versions import API_VERSION, served_version  # noqa: F401  (re-exported: the resources' import path)

# The pinned version and the older ones served by translation live in versions.py (the one place it is stated).


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    template: str
    handler: Callable
    params: dict[str, Field]
    admin: bool = False
    waits: bool = False  # waits on deliveries: runs outside the simulator's lock


ROUTES: list[Route] = []
# work that time makes due without a request of its own (a bank debit settling): (is_due(ctx), run(ctx)) pairs,
# run before each request of that mode, each as its own all-or-nothing step
DUE: list[tuple[Callable[[Ctx], bool], Callable[[Ctx], None]]] = []


def route(method: str, template: str, params: dict[str, Field] | None = None, *, listing: bool = False,
          admin: bool = False, waits: bool = False):
    """Register `handler(ctx, p, **path_params)` for METHOD /path/{param}."""
    fields = dict(params or {})
    fields.setdefault("expand", EXPAND)
    if listing:
        for k, v in LIST_PARAMS.items():
            fields.setdefault(k, v)
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

    def register(fn):
        ROUTES.append(Route(method, regex, template, fn, fields, admin, waits))
        return fn

    return register


def snapshot(obj):
    """A deep copy of a JSON-shaped object (faster than copy.deepcopy for plain data)."""
    return jsonbytes.copy(obj)


@dataclass
class Ctx:
    """What a model operation may use: its mode's objects, the clock, ids, and the event recorder."""

    sim: object
    store: Store
    mode: str
    request_id: str | None = None
    idempotency_key: str | None = None
    api_version: str = API_VERSION
    events: list = field(default_factory=list)
    keep_events_on_error: bool = False  # an operation whose failure Stripe still announces (a declined pay)
    # what happens right after the request is answered, in the same all-or-nothing step (a debit that settles
    # at once answers `processing` first)
    after_response: list = field(default_factory=list)

    @property
    def ns(self) -> Namespace:
        return self.store.ns(self.mode)

    @property
    def livemode(self) -> bool:
        return self.mode == "live"

    def now(self, customer: dict | str | None = None) -> int:
        """Current time; for objects on a test clock, the clock's frozen time."""
        if customer is not None:
            cus = customer if isinstance(customer, dict) else self.find("customer", customer)
            clock_id = cus.get("test_clock") if cus else None
            if clock_id:
                clock = self.find("test_helpers.test_clock", clock_id)
                if clock:
                    return clock["frozen_time"]
        return self.sim.clock.now()

    def new_id(self, prefix: str, length: int = 24) -> str:
        return self.store.ids.new(prefix, length)

    def find(self, kind: str, obj_id: str) -> dict | None:
        return self.store.find(self.mode, kind, obj_id)

    def get(self, kind: str, obj_id, param: str | None = None) -> dict:
        """The object, or Stripe's resource_missing error (404 on retrieve; 400 naming `param`)."""
        if not isinstance(obj_id, str):
            raise InvalidRequest(f"Invalid string: {obj_id}", code="parameter_invalid_string", param=param)
        obj = self.store.find(self.mode, kind, obj_id)
        if obj is None or obj.get("deleted"):
            raise no_such(noun(kind), obj_id, param, self.store.other_mode_has(self.mode, obj_id))
        return obj

    def touch(self, kind: str, obj: dict | None):
        """Before changing an object found by scanning a table (not by `get`/`find`): so a failed request
        puts it back."""
        self.store.touch(self.mode, kind, obj)

    def put(self, kind: str, obj: dict) -> dict:
        return self.store.put(self.mode, kind, obj)

    def table(self, kind: str):
        return self.ns.table(kind)

    def emit(self, event_type: str, obj: dict, previous: dict | None = None, *, automatic: bool = False):
        """Record an event with a snapshot of `obj` now; it is committed when the request succeeds."""
        data = {"object": obj}
        if previous:
            data["previous_attributes"] = previous
        request = {"id": None, "idempotency_key": None}
        if not automatic:
            request = {"id": self.request_id, "idempotency_key": self.idempotency_key}
        # the payload is taken now, as JSON (compressed with the request's other events at commit: frozen.py);
        # the header stays a small dict
        self.events.append(EventRecord(
            self.new_id("evt"), event_type, self.livemode, 0,
            self.now(obj.get("customer") if isinstance(obj.get("customer"), str) else None),
            jsonbytes.compact({"api_version": self.api_version, "data": data, "request": request})))


def paginate(ctx: Ctx, kind: str, p: dict, url: str, pred: Callable[[dict], bool] | None = None,
             source: Iterable[dict] | None = None, having: tuple[str, str] | None = None) -> dict:
    """A Stripe list object, newest first, honouring limit / starting_after / ending_before. `having`
    (field, value): only objects with that value can match `pred`, so the table's index by that field is walked
    (a `customer` filter in `p` uses the table's customer index by itself)."""
    limit = p.get("limit") or 10
    table = ctx.table(kind)
    after, before = p.get("starting_after") or None, p.get("ending_before") or None  # '' means unset
    if after and before:
        raise InvalidRequest("You may only specify one of these parameters: ending_before, starting_after.",
                             param="ending_before")
    for name, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor and (source is None and table.position(cursor) is None):
            raise no_such(noun(kind), cursor, name, ctx.store.other_mode_has(ctx.mode, cursor))
    if having is None and "customer" in table.indexes and isinstance(p.get("customer"), str):
        having = ("customer", p["customer"])
    if having is not None and (having[0] not in table.indexes or not isinstance(having[1], str)):
        having = None
    if source is not None:
        items = [o for o in source if not o.get("deleted") and (pred is None or pred(o))]
        if after or before:
            ids = [o["id"] for o in items]
            cursor = after or before
            if cursor not in ids:
                raise no_such(noun(kind), cursor, "starting_after" if after else "ending_before")
            i = ids.index(cursor)
            items = items[i + 1:] if after else list(reversed(items[:i]))
        page, has_more = items[:limit], len(items) > limit
        if before:
            page.reverse()
    elif before:
        page = []
        for obj in (table.having_oldest_first(*having, before) if having else table.oldest_first(before)):
            if not obj.get("deleted") and (pred is None or pred(obj)):
                page.append(obj)
                if len(page) > limit:
                    break
        has_more = len(page) > limit
        page = list(reversed(page[:limit]))
    else:
        page = []
        for obj in (table.having_newest_first(*having, after) if having else table.newest_first(after)):
            if obj.get("deleted"):
                continue
            if pred is None or pred(obj):
                page.append(obj)
                if len(page) > limit:
                    break
        has_more = len(page) > limit
        page = page[:limit]
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def kind_of_id(obj_id: str, field_name: str | None = None) -> str | None:
    if field_name == "coupon":
        return "coupon"
    prefix = "sub_sched" if obj_id.startswith("sub_sched_") else obj_id.split("_", 1)[0]
    return PREFIXES.get(prefix)
