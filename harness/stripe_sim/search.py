"""The search endpoints (`GET /v1/{customers,subscriptions,prices,products,invoices,
    charges,payment_intents}/search`) and the subset of
Stripe's search query language they understand:

    email:'a@b.co'   name~'ada'   metadata['userId']:'user_1'   -status:'canceled'   created>1700000000
    status:'active' AND metadata['tier']:'pro'      email:'a@b.co' OR email:'c@d.co'     description:null

Clauses are joined by AND or by OR (not both in one query, as in Stripe), at most 10; values are quoted
with ' or " (numbers, booleans and null go bare); `:` is an exact match (case-insensitive for text), `~` a
substring of at least 3 characters on the text fields Stripe allows it for, `-` negates a clause. Only each
resource's documented query fields are accepted. The answer is a `search_result` with `next_page`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import InvalidRequest
from .params import Int, Str
from .routing import Ctx, route

MAX_CLAUSES = 10


def _field(name: str) -> Callable[[dict], object]:
    return lambda obj: obj.get(name)


def _invoice_subscription(inv: dict):
    details = ((inv.get("parent") or {}).get("subscription_details") or {})
    return details.get("subscription") or inv.get("subscription")


# resource -> (kind in the store, {query field: (type, accessor)}); types: text (`~` allowed), str, num, bool
RESOURCES: dict[str, tuple[str, dict[str, tuple[str, Callable[[dict], object]]]]] = {
    "customers": ("customer", {f: (t, _field(f)) for f, t in (
        ("created", "num"), ("email", "text"), ("name", "text"), ("phone", "text"))}),
    "subscriptions": ("subscription", {f: (t, _field(f)) for f, t in (("created", "num"), ("status", "str"))}),
    "prices": ("price", {f: (t, _field(f)) for f, t in (
        ("active", "bool"), ("currency", "str"), ("lookup_key", "str"), ("product", "str"), ("type", "str"))}),
    "products": ("product", {f: (t, _field(f)) for f, t in (
        ("active", "bool"), ("description", "text"), ("name", "text"), ("shippable", "bool"), ("url", "str"))}),
    "invoices": ("invoice", {**{f: (t, _field(f)) for f, t in (
        ("created", "num"), ("currency", "str"), ("customer", "str"), ("number", "str"),
        ("receipt_number", "str"), ("status", "str"), ("total", "num"))},
        "subscription": ("str", _invoice_subscription)}),
    # Stripe's charge fields under payment_method_details / billing_details (dotted names) are not served
    "charges": ("charge", {f: (t, _field(f)) for f, t in (
        ("amount", "num"), ("created", "num"), ("currency", "str"), ("customer", "str"), ("disputed", "bool"),
        ("refunded", "bool"), ("status", "str"))}),
    "payment_intents": ("payment_intent", {f: (t, _field(f)) for f, t in (
        ("amount", "num"), ("created", "num"), ("currency", "str"), ("customer", "str"), ("status", "str"))}),
}

_CLAUSE = re.compile(r"""\s*(?P<neg>-)?(?:metadata\[(?P<mq>['"])(?P<mkey>.*?)(?P=mq)\]|(?P<field>[a-z_]+))
    \s*(?P<op>>=|<=|:|~|>|<)\s*
    (?:(?P<q>['"])(?P<quoted>(?:\\.|(?!(?P=q)).)*)(?P=q)|(?P<bare>[^\s'"]+))\s*""", re.VERBOSE)
_JOIN = re.compile(r"(AND|OR)\s+")


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="parameter_invalid", param="query")


# Stripe's own texts, as stripe-ruby-mock's live specs (spec/shared_stripe_examples/{price,product}_examples.rb,
# run against Stripe) match them: "We were unable to parse your search query." and "Field `foo` is an
# unsupported search field for resource `prices`."; the rest of each sentence as that project gives it. The
# other refusals below have no public source: their wording is ours (docs/stripe-sim.md lists them).
UNPARSEABLE_QUERY = ("We were unable to parse your search query. Try using the format `metadata[\"key\"]:\"value\"` "
                     "to query for metadata or key:\"value\" to query for other fields.")


def unsupported_field(name: str, resource: str) -> str:
    return (f"Field `{name}` is an unsupported search field for resource `{resource}`. See "
            f"http://stripe.com/docs/search#query-fields-for-{resource.replace('_', '-')} for a list of supported "
            "fields.")


def parse(query: str, resource: str) -> tuple[str, list[tuple]]:
    """(`AND`|`OR`, [(negated, accessor, type, op, value)]) or a 400 naming the problem."""
    fields = RESOURCES[resource][1]
    clauses, joins, pos = [], set(), 0
    while True:
        m = _CLAUSE.match(query, pos)
        if not m or (m.group("q") is None and m.group("bare") is None):
            raise _bad(UNPARSEABLE_QUERY)
        clauses.append(_clause(m, fields, resource))
        pos = m.end()
        if pos >= len(query):
            break
        j = _JOIN.match(query, pos) if query[pos - 1].isspace() else None
        if not j:
            raise _bad(UNPARSEABLE_QUERY)  # two clauses not joined by AND / OR
        joins.add(j.group(1))
        pos = j.end()
    if len(joins) > 1:
        raise _bad("Invalid query: a query may use AND or OR, but not both.")
    if len(clauses) > MAX_CLAUSES:
        raise _bad(f"Invalid query: at most {MAX_CLAUSES} clauses are allowed.")
    return (joins.pop() if joins else "AND"), clauses


def _clause(m: re.Match, fields: dict, resource: str) -> tuple:
    op = m.group("op")
    raw = m.group("quoted")
    value = re.sub(r"\\(.)", r"\1", raw) if raw is not None else m.group("bare")
    if m.group("mkey") is not None:
        key = m.group("mkey")
        if op != ":" or raw is None:
            raise _bad(f"Invalid query: metadata['{key}'] takes an exact match with a quoted value (':').")
        return (bool(m.group("neg")), lambda obj: (obj.get("metadata") or {}).get(key), "text", op, value)
    name = m.group("field")
    if name not in fields:
        raise _bad(unsupported_field(name, resource))
    kind, accessor = fields[name]
    if op == "~" and kind != "text":
        raise _bad(f"Invalid query: the field '{name}' does not support substring matching ('~').")
    if op in (">", "<", ">=", "<=") and kind != "num":
        raise _bad(f"Invalid query: the field '{name}' does not support numeric comparison ('{op}').")
    if op == "~" and len(value) < 3:
        raise _bad("Invalid query: substring matching ('~') needs at least 3 characters.")
    if kind == "num" and not (value == "null" and raw is None):
        if not re.fullmatch(r"-?\d{1,18}", value):
            raise _bad(f"Invalid query: '{value}' is not a number for the field '{name}'.")
        value = int(value)
    elif kind == "bool" and not (value == "null" and raw is None):
        if value not in ("true", "false"):
            raise _bad(f"Invalid query: '{value}' is not true or false for the field '{name}'.")
        value = value == "true"
    elif raw is None and value == "null":
        value = None
    elif raw is None:
        raise _bad(f"Invalid query: the value for the field '{name}' must be quoted ('{value}').")
    return (bool(m.group("neg")), accessor, kind, op, value)


def _matches(obj: dict, clause: tuple) -> bool:
    negated, accessor, kind, op, want = clause
    have = accessor(obj)
    if want is None:
        hit = have is None
    elif op == ":":
        hit = (isinstance(have, str) and isinstance(want, str) and have.lower() == want.lower()) or have == want
    elif op == "~":
        hit = isinstance(have, str) and want.lower() in have.lower()
    elif not isinstance(have, int):
        hit = False
    else:
        hit = {">": have > want, "<": have < want, ">=": have >= want, "<=": have <= want}[op]
    return hit != negated


def search(ctx: Ctx, p: dict, resource: str) -> dict:
    kind = RESOURCES[resource][0]
    join, clauses = parse(p["query"], resource)
    test = all if join == "AND" else any
    limit = p.get("limit") or 10
    offset = 0
    if p.get("page"):
        m = re.fullmatch(r"page_(\d{1,9})", p["page"])
        if not m:
            raise InvalidRequest(f"Invalid page: {p['page']}", code="parameter_invalid", param="page")
        offset = int(m.group(1))
    expand = p.get("expand") or []
    count = "total_count" in expand  # Stripe's one expandable field of a search result
    if count:
        p["expand"] = [e for e in expand if e != "total_count"]
    found, seen = [], 0
    for obj in ctx.table(kind).newest_first():
        if obj.get("deleted") or not test(_matches(obj, c) for c in clauses):
            continue
        if offset <= seen and len(found) <= limit:
            found.append(obj)
        elif not count and len(found) > limit:
            break
        seen += 1
    has_more = len(found) > limit
    result = {"object": "search_result", "data": found[:limit], "has_more": has_more,
              "next_page": f"page_{offset + limit}" if has_more else None, "url": f"/v1/{resource}/search"}
    if count:
        result["total_count"] = seen
    return result


SEARCH_PARAMS = {"query": Str(required=True), "limit": Int(min=1, max=100), "page": Str()}


def _register(resource: str):
    @route("GET", f"/v1/{resource}/search", SEARCH_PARAMS)
    def handler(ctx: Ctx, p: dict):
        return search(ctx, p, resource)


for _resource in RESOURCES:
    _register(_resource)
