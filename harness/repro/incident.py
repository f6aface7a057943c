"""An incident as Stripe recorded it: Event objects from a Dashboard export, `stripe events list` output or
pages of `GET /v1/events` (a JSON list, a Stripe list object, or JSON lines), and optionally the endpoint's
delivery attempts. Loaded into events in created order, the users they concern, and what is missing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.replay import as_test_mode, snapshots_of

USER_KEY = "userId"  # the metadata key the seed's apps (and the reference receiver) link a customer to a user by


class IncidentError(Exception):
    """The file cannot be replayed at all; the message names the file and, where it can, the event."""


@dataclass
class Incident:
    source: str
    events: list[dict]  # oldest first, livemode turned off (replayed in test mode)
    deliveries: list[dict] | None = None  # attempts {event, at, status?}, in the order they were made
    warnings: list[str] = field(default_factory=list)  # what is missing or was left out; the replay goes on
    extra_objects: list[dict] = field(default_factory=list)  # objects the events reference but do not carry
    users: list[str] = field(default_factory=list)  # user ids, in order of first appearance
    customer_user: dict[str, str] = field(default_factory=dict)  # customer id -> user id
    livemode: bool = False  # the incident happened in live mode
    unknown_products: set[str] = field(default_factory=set)  # referenced, not carried, no --plan given

    def label(self, event: dict) -> str:
        return f"{event['id']} ({event['type']})"


def _read_json_documents(path: Path) -> list:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IncidentError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise IncidentError(f"{path}: not UTF-8 text (an export of Stripe events is JSON)") from None
    stripped = text.strip()
    if not stripped:
        raise IncidentError(f"{path}: empty file")
    try:
        return [json.loads(stripped)]
    except json.JSONDecodeError as whole:
        docs = []
        for number, line in enumerate(text.splitlines(), 1):  # JSON lines
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError:
                if number == 1 and len(docs) == 0:
                    raise IncidentError(f"{path}: not JSON (line {whole.lineno}, column {whole.colno}: "
                                        f"{whole.msg}), nor JSON lines") from None
                raise IncidentError(f"{path}: line {number} is not JSON: a JSON lines file holds one Event "
                                    "object per line") from None
        return docs


def _events_in(path: Path, docs: list) -> list:
    """Flatten a list, list objects (several pages too) or single events into raw event dicts."""
    out = []
    for doc in docs:
        if isinstance(doc, list):
            out += doc
        elif isinstance(doc, dict) and doc.get("object") in ("list", "search_result"):
            data = doc.get("data")
            if not isinstance(data, list):
                raise IncidentError(f"{path}: a Stripe list object without a `data` list")
            out += data
        elif isinstance(doc, dict):
            out.append(doc)
        else:
            raise IncidentError(f"{path}: expected Event objects, found {type(doc).__name__}")
    return out


def _check_event(raw, index: int) -> str | None:
    """Why this entry cannot be replayed, or None."""
    if not isinstance(raw, dict):
        return f"entry {index + 1} is a {type(raw).__name__}, not an Event object"
    name = raw.get("id") if isinstance(raw.get("id"), str) else f"entry {index + 1}"
    if raw.get("object") not in ("event", None):
        return f"{name}: object is {raw.get('object')!r}, not 'event'"
    if not isinstance(raw.get("id"), str):
        return f"{name}: no id"
    if not isinstance(raw.get("type"), str):
        return f"{name}: no type"
    if not isinstance(raw.get("created"), int):
        return f"{name} ({raw['type']}): no created timestamp"
    data = raw.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return f"{name} ({raw['type']}): no data.object"
    return None


def _one_account(path: Path, events: list[dict], account: str | None) -> list[dict]:
    accounts: dict[str | None, str] = {}
    for e in events:
        accounts.setdefault(e.get("account"), e["id"])
    if account is not None:
        kept = [e for e in events if e.get("account") == account]
        if not kept:
            raise IncidentError(f"{path}: no event of account {account!r} (accounts: "
                                f"{', '.join(str(a) for a in accounts)})")
        return kept
    if len(accounts) > 1:
        examples = ", ".join(f"{evt} ({acct or 'the platform'})" for acct, evt in accounts.items())
        raise IncidentError(f"{path}: events from {len(accounts)} accounts ({examples}); keep one with "
                            "--account ACCOUNT_ID")
    return events


def _one_mode(path: Path, events: list[dict], mode: str | None) -> list[dict]:
    modes = {bool(e.get("livemode")) for e in events}
    if mode is not None:
        return [e for e in events if bool(e.get("livemode")) == (mode == "live")]
    if len(modes) > 1:
        live = next(e["id"] for e in events if e.get("livemode"))
        test = next(e["id"] for e in events if not e.get("livemode"))
        raise IncidentError(f"{path}: test-mode and live-mode events are mixed (e.g. {test} and {live}); keep one "
                            "with --mode test or --mode live")
    return events


def _users(incident: Incident):
    """Users from checkout sessions' client_reference_id / metadata.userId and subscriptions' and customers'
    metadata.userId; customers linked to them."""
    for event in incident.events:
        obj = event["data"]["object"]
        user = None
        if obj.get("object") == "checkout.session":
            user = obj.get("client_reference_id") or (obj.get("metadata") or {}).get(USER_KEY)
        elif obj.get("object") in ("subscription", "customer"):
            user = (obj.get("metadata") or {}).get(USER_KEY)
        customer = obj.get("id") if obj.get("object") == "customer" else obj.get("customer")
        if isinstance(customer, dict):
            customer = customer.get("id")
        if isinstance(user, str) and user:
            if user not in incident.users:
                incident.users.append(user)
            if isinstance(customer, str):
                incident.customer_user.setdefault(customer, user)


def _missing_references(incident: Incident, plans: dict[str, str]):
    """Products and customers the events point at without carrying: made up (products with the plan given
    by --plan), each named in a warning."""
    carried = {obj["id"] for e in incident.events for obj in snapshots_of(e)}
    for obj in incident.extra_objects:
        carried.add(obj["id"])
    for event in incident.events:
        for obj in snapshots_of(event):
            product = obj.get("product") if obj.get("object") == "price" else None
            if isinstance(product, str) and product not in carried:
                carried.add(product)
                plan = plans.get(product)
                incident.extra_objects.append({"id": product, "object": "product", "name": product, "active": True,
                                               "livemode": False, "metadata": {"plan": plan} if plan else {}})
                if not plan:
                    incident.unknown_products.add(product)
                    incident.warnings.append(
                        f"{incident.label(event)}: price {obj['id']}'s product {product} is not in the file, so its "
                        f"metadata.plan is unknown; give --plan {product}=TIER (it is replayed without a plan)")
        obj = event["data"]["object"]
        customer = obj.get("customer")
        if isinstance(customer, str) and customer not in carried:
            carried.add(customer)
            incident.extra_objects.append({"id": customer, "object": "customer", "livemode": False,
                                           "metadata": {}, "email": None, "name": None})
            incident.warnings.append(f"{incident.label(event)}: customer {customer} is not in the file (no "
                                     "customer.* event); replayed as a customer with no details")


def load_incident(path: str | Path, *, deliveries: str | Path | None = None, account: str | None = None,
                  mode: str | None = None, plans: dict[str, str] | None = None,
                  objects: str | Path | None = None) -> Incident:
    """Read, check and order an incident. Entries that cannot be replayed are left out with a warning;
    nothing replayable at all is an IncidentError."""
    path = Path(path)
    docs = _read_json_documents(path)
    raw_events = _events_in(path, docs)
    warnings, events, seen = [], [], set()
    for i, raw in enumerate(raw_events):
        problem = _check_event(raw, i)
        if problem:
            warnings.append(f"{path}: {problem}: left out")
        elif raw["id"] in seen:
            warnings.append(f"{path}: {raw['id']} appears twice: kept once")
        else:
            seen.add(raw["id"])
            events.append(raw)
    if not events:
        raise IncidentError(f"{path}: no Event object to replay" + (f" ({warnings[0]})" if warnings else ""))
    events = _one_mode(path, _one_account(path, events, account), mode)
    livemode = any(e.get("livemode") for e in events)
    # Stripe lists newest first (the API, the CLI, list objects), in creation order, which `created` (whole
    # seconds, and a test clock's time for objects on one) cannot always tell; other files are taken as
    # written unless their timestamps run backwards
    listed = any(isinstance(d, dict) and d.get("object") == "list" for d in docs)
    if listed or events[0]["created"] > events[-1]["created"]:
        events = list(reversed(events))
    incident = Incident(str(path), [as_test_mode(e) for e in events], warnings=warnings, livemode=livemode)
    if objects:
        incident.extra_objects += _load_objects(Path(objects))
    if deliveries:
        incident.deliveries = _load_deliveries(Path(deliveries), {e["id"] for e in events}, incident.warnings)
    _users(incident)
    _missing_references(incident, plans or {})
    if not incident.users:
        incident.warnings.append(f"{path}: no event names a user (checkout.session client_reference_id or "
                                 f"metadata.{USER_KEY}): nothing to compare the app's tier with")
    return incident


def _load_objects(path: Path) -> list[dict]:
    objs = _events_in(path, _read_json_documents(path))
    bad = [o for o in objs if not (isinstance(o, dict) and isinstance(o.get("id"), str) and o.get("object"))]
    if bad:
        raise IncidentError(f"{path}: {len(bad)} entries are not Stripe objects (each needs `id` and `object`)")
    return [as_test_mode(o) for o in objs]


def _load_deliveries(path: Path, known: set[str], warnings: list[str]) -> list[dict]:
    """Delivery attempts: `{event, at}` (or `created`) per attempt, as `tiersync run --record` writes them."""
    attempts = _events_in(path, _read_json_documents(path))
    out = []
    for i, a in enumerate(attempts):
        if not isinstance(a, dict) or not isinstance(a.get("event"), str):
            raise IncidentError(f"{path}: attempt {i + 1} has no `event` id")
        if a["event"] not in known:
            warnings.append(f"{path}: attempt {i + 1} is for {a['event']}, which the events file lacks: skipped")
            continue
        out.append(a)
    if any(isinstance(a.get("at", a.get("created")), (int, float)) for a in out):
        out.sort(key=lambda a: a.get("at", a.get("created")) or 0)
    return out
