"""An incident turned into a catalog scenario: users made fresh, the events replayed as delivered, the tier
Stripe's final state gives each user expected. Ids are replaced by made-up ones of the same kind, personal
data (e-mail addresses, names, phones, addresses) by faker's, and the app's user ids by `${users.uN.id}`:
nothing of the customer's leaves the machine in the file."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from faker import Faker

from .incident import Incident
from .run import ReproReport

# Stripe's (and Clerk's) id prefixes: only values shaped like these are ids (not `create_prorations`)
_ID = re.compile(r"^(cus|sub|si|price|prod|in|il|ii|pi|ch|cs|evt|pm|card|promo|di|bps|bpc|we|clock|inpay|req|txn|"
                 r"re|seti|src|acct|cbtxn|user|sess)_([A-Za-z0-9]{8,})$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PERSONAL = {"email", "customer_email", "receipt_email", "name", "customer_name", "billing_name", "phone",
            "customer_phone", "first_name", "last_name"}
ADDRESS = {"line1", "line2", "city", "postal_code", "state"}
STATE_OBJECTS = {"product", "price", "customer", "subscription", "checkout.session", "invoice"}
# objects that describe the account's offer, not a person: their names are kept
CATALOG_OBJECTS = {"product", "price", "plan", "coupon", "promotion_code", "billing_portal.configuration",
                   "webhook_endpoint", "test_helpers.test_clock"}


class Anonymizer:
    def __init__(self, users: dict[str, str], seed: int = 0):
        self.fake = Faker()
        self.fake.seed_instance(seed)
        self.ids: dict[str, str] = dict(users)  # incident value -> replacement

    def _id(self, value: str) -> str:
        if value not in self.ids:
            prefix = _ID.match(value).group(1)
            self.ids[value] = f"{prefix}_{self.fake.bothify('?#' * 12)}"
        return self.ids[value]

    def _personal(self, key: str, value: str) -> str:
        if "email" in key:
            return self.fake.email(domain="example.com")
        if key in ("first_name",):
            return self.fake.first_name()
        if key in ("last_name",):
            return self.fake.last_name()
        if "phone" in key:
            return self.fake.numerify("+1555#######")
        if key in ADDRESS:
            return {"line1": self.fake.street_address, "city": self.fake.city,
                    "postal_code": self.fake.postcode, "state": self.fake.state_abbr}.get(key, self.fake.word)()
        return self.fake.name()

    def __call__(self, value, key: str = "", catalog: bool = False):
        if isinstance(value, dict):
            if key == "request":  # the original API request's id and idempotency key say nothing useful
                return {"id": None, "idempotency_key": None}
            if isinstance(value.get("object"), str):
                catalog = value["object"] in CATALOG_OBJECTS
            return {k: self(v, k, catalog) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, key, catalog) for v in value]
        if not isinstance(value, str) or not value:
            return value
        if value in self.ids:
            return self.ids[value]
        if (key in PERSONAL or key in ADDRESS) and not catalog:
            return self._personal(key, value)
        if _ID.match(value):
            return self._id(value)
        return _EMAIL.sub(lambda _: self.fake.email(domain="example.com"), value)


def incident_scenario(incident: Incident, report: ReproReport, *, name: str, seed: int = 0) -> dict:
    users = {u.incident_user: f"${{users.{u.name}.id}}" for u in report.users}
    anon = Anonymizer(users, seed)
    delivered = {a["event"] for a in incident.deliveries or []}
    # with the delivery attempts, only the events delivered and those carrying state a receiver reads back
    events = [e for e in incident.events if not delivered or e["id"] in delivered
              or e["data"]["object"].get("object") in STATE_OBJECTS]
    events = anon(events)
    deliveries = [{**a, "event": anon.ids.get(a["event"], a["event"])} for a in (incident.deliveries or [])]
    deliveries = [{k: v for k, v in a.items() if k in ("event", "type", "at", "status")} for a in deliveries]
    objects = anon(incident.extra_objects)
    bad = [u for u in report.users if not u.ok]
    what = bad[0].consequence() if bad else "the app agreed with Stripe when this incident was recorded"
    for original, replacement in anon.ids.items():
        what = what.replace(original, replacement)
    replay = {"order": "delivered" if deliveries else "created", "events": events}
    if deliveries:
        replay["deliveries"] = deliveries
    if objects:
        replay["objects"] = objects
    steps = [{"user": u.name} for u in report.users] + [{"replay": replay}]
    checks = [u for u in report.users if u.expected_final is not None]
    for u in checks:
        steps.append({"expect": {"within": 5, "tier": {"user": u.name, "is": u.expected_final}}})
    return {"name": name, "group": "incidents",
            "catches": f"a reported sync bug, replayed from what Stripe recorded: {what}",
            "description": f"Recorded from {Path(incident.source).name} by `tiersync repro --write-scenario`; "
                           "ids and personal data are made up.",
            "steps": steps}


def write_scenario(path: str | Path, scenario: dict):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(scenario, sort_keys=False, width=110, allow_unicode=True),
                          encoding="utf-8")
