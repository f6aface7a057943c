"""In-memory state: two namespaces (test and live), one table per object kind.

Tables keep insertion order with O(1) lookup and O(page) pagination from any cursor, so the cost of a
call does not grow with the store. Ids are global, which lets a lookup in one mode tell that the
object exists in the other (Stripe's "a similar object exists in live mode" hint).
"""

from __future__ import annotations

import copy
import os
import random
import re
import string
import threading
from collections.abc import Callable, Iterator

from .index import FieldIndex

_ALPHABET = string.ascii_letters + string.digits

# id prefix -> object kind, for `expand[]` and for cross-mode hints
PREFIXES = {
    "cus": "customer", "prod": "product", "price": "price", "promo": "promotion_code",
    "pm": "payment_method", "cs": "checkout.session", "sub": "subscription", "si": "subscription_item",
    "in": "invoice", "il": "line_item", "bps": "billing_portal.session",
    "bpc": "billing_portal.configuration", "we": "webhook_endpoint", "evt": "event",
    "clock": "test_helpers.test_clock", "pi": "payment_intent", "ch": "charge", "di": "discount",
    "inpay": "invoice_payment", "card": "card", "cbtxn": "customer_balance_transaction", "cn": "credit_note",
    "ii": "invoiceitem", "re": "refund", "seti": "setup_intent", "plan": "plan", "sub_sched": "subscription_schedule",
    "du": "dispute", "py": "charge", "mandate": "mandate",
    "ccsbtxn": "customer_cash_balance_transaction",
}

# object kind -> the noun Stripe uses in "No such <noun>: 'id'"
NOUNS = {
    "checkout.session": "checkout.session", "billing_portal.configuration": "configuration",
    "billing_portal.session": "billing portal session", "test_helpers.test_clock": "test clock",
    "payment_method": "PaymentMethod", "payment_intent": "payment_intent", "subscription_item": "subscription item",
    "webhook_endpoint": "webhook endpoint", "promotion_code": "promotion code",
}


def noun(kind: str) -> str:
    return NOUNS.get(kind, kind.replace("_", " "))


# byte -> base62 character (4 of 256 values repeat: a negligible bias for ids)
_BYTE_TO_BASE62 = bytes(ord(_ALPHABET[b % 62]) for b in range(256))


class Ids:
    """Stripe-looking ids: prefix + 24 base62 characters. Seedable for reproducible runs."""

    def __init__(self, seed: int | None = None):
        self._rng = random.Random(seed if seed is not None else os.urandom(16))

    def new(self, prefix: str, length: int = 24) -> str:
        return f"{prefix}_{self._rng.randbytes(length).translate(_BYTE_TO_BASE62).decode()}"

    def secret(self, prefix: str, length: int = 32) -> str:
        return self.new(prefix, length)


class SharedDict(dict):
    """A small sub-object that many stored objects hold with the same content (`automatic_tax`, a card's
    `checks`, an empty address...): one instance serves them all. It refuses changes, so sharing can never
    leak a value from one object into another; code that changes such a field assigns a new dict."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("shared sub-object: assign a new dict instead of changing it")

    __setitem__ = __delitem__ = __ior__ = update = pop = popitem = clear = setdefault = _refuse

    def __copy__(self):
        return dict(self)

    def __deepcopy__(self, memo):
        import copy
        return copy.deepcopy(dict(self), memo)


_SHARED: dict[tuple, SharedDict] = {}
_SHARED_LIMIT = 20_000  # distinct shared shapes; past this, new ones are stored unshared
_ID_LIKE = re.compile(r"[a-z]+_[A-Za-z0-9]{8,}")


def _share_key(value: dict) -> tuple | None:
    """A hashable key for a dict worth sharing (only constants-looking values), else None."""
    key = []
    for k, v in value.items():
        if v is None or v is True or v is False:
            key.append((k, v))
        elif type(v) is int:
            if not -100_000 < v < 100_000:  # timestamps, amounts: particular to one object
                return None
            key.append((k, v))
        elif type(v) is str:
            if len(v) > 40 or _ID_LIKE.search(v):
                return None
            key.append((k, v))
        elif type(v) is SharedDict:
            key.append((k, id(v)))
        elif type(v) is dict:
            inner = _shared_or_none(v)
            if inner is None:
                return None
            key.append((k, id(inner)))
        else:  # lists (even empty shared ones), floats, ...: not worth the bookkeeping
            return None
    return tuple(key)


def _shared_or_none(value: dict) -> SharedDict | None:
    if not value:
        return None
    key = _share_key(value)
    if key is None:
        return None
    shared = _SHARED.get(key)
    if shared is None:
        if len(_SHARED) >= _SHARED_LIMIT:
            return None
        shared = _SHARED[key] = SharedDict(
            (k, _shared_or_none(v) if type(v) is dict else v) for k, v in value.items())
    return shared


def share_constants(obj: dict):
    """In place: every nested dict of `obj` that holds only constant-looking values becomes the one shared
    instance with that content (a store of 10,000 subscriptions holds ~27 MB less)."""
    for k, v in obj.items():
        t = type(v)
        if t is dict:
            shared = _shared_or_none(v)
            if shared is not None:
                dict.__setitem__(obj, k, shared)
            else:
                share_constants(v)
        elif t is list:
            for item in v:
                if type(item) is dict:
                    share_constants(item)


# kind -> {field: whether it can change after creation}: the lists filtered by these fields walk an index
# (index.py). A subscription or invoice never moves to another customer, and an event never changes its type.
INDEXED: dict[str, dict[str, bool]] = {
    "subscription": {"customer": False}, "invoice": {"customer": False}, "event": {"type": False},
    "charge": {"customer": True}, "payment_intent": {"customer": True}, "payment_method": {"customer": True},
    "customer": {"email": True},
}


class Table:
    def __init__(self, indexed: dict[str, bool] | None = None):
        self.rows: dict[str, dict] = {}
        self._order: list[str | None] = []
        self._pos: dict[str, int] = {}
        self.indexes = {field: FieldIndex(field, mutable, self._pos) for field, mutable in (indexed or {}).items()}
        self.follows_changes = any(index.mutable for index in self.indexes.values())
        self.on_remove = None  # set by the Store during a request, to put back what a failed request removed

    def restore(self, obj: dict, pos: int):
        """Put back an object removed during a failed request, at its old position."""
        self.rows[obj["id"]] = obj
        self._pos[obj["id"]] = pos
        self._order[pos] = obj["id"]
        for index in self.indexes.values():
            index.note(obj, new=True)

    def __len__(self):
        return len(self.rows)

    def __contains__(self, obj_id):
        return obj_id in self.rows

    def get(self, obj_id: str) -> dict | None:
        return self.rows.get(obj_id)

    def put(self, obj: dict) -> dict:
        obj_id = obj["id"]
        new = obj_id not in self.rows
        if new:
            self._pos[obj_id] = len(self._order)
            self._order.append(obj_id)
        for index in self.indexes.values():
            index.note(obj, new)
        if type(obj) is dict:
            share_constants(obj)
        self.rows[obj_id] = obj
        return obj

    def remove(self, obj_id: str) -> dict | None:
        obj = self.rows.pop(obj_id, None)
        pos = self._pos.pop(obj_id, None)
        if pos is not None:
            self._order[pos] = None
            if self.on_remove is not None:
                self.on_remove(self, obj_id, obj, pos)
        for index in self.indexes.values():
            index.forget(obj_id, obj)
        return obj

    def note(self, obj: dict):
        """`obj` may have changed (a request that found it commits): indexes by mutable fields follow it."""
        for index in self.indexes.values():
            index.note(obj, new=False)

    def having_newest_first(self, field: str, value: str, starting_after: str | None = None) -> Iterator[dict]:
        """The objects whose indexed `field` is `value`, newest first, after a cursor."""
        bound = self._pos[starting_after] if starting_after is not None else len(self._order)
        for obj_id in self.indexes[field].newest_first(value, bound):
            yield self.rows[obj_id]

    def having_oldest_first(self, field: str, value: str, ending_before: str) -> Iterator[dict]:
        for obj_id in self.indexes[field].oldest_first(value, self._pos[ending_before]):
            yield self.rows[obj_id]

    def newest_first(self, starting_after: str | None = None) -> Iterator[dict]:
        start = len(self._order) - 1
        if starting_after is not None:
            start = self._pos[starting_after] - 1
        for i in range(start, -1, -1):
            obj_id = self._order[i]
            if obj_id is not None:
                yield self.rows[obj_id]

    def oldest_first(self, ending_before: str) -> Iterator[dict]:
        for i in range(self._pos[ending_before] + 1, len(self._order)):
            obj_id = self._order[i]
            if obj_id is not None:
                yield self.rows[obj_id]

    def position(self, obj_id: str) -> int | None:
        return self._pos.get(obj_id)

    def copy(self, memo: dict) -> Table:
        """A deep copy, order and customer index included (`memo`: shared across tables, see `copy_tree`)."""
        out = Table()
        out.rows = {obj_id: copy_tree(obj, memo) for obj_id, obj in self.rows.items()}
        out._order, out._pos = list(self._order), dict(self._pos)
        out.indexes = {field: index.copy(out._pos) for field, index in self.indexes.items()}
        out.follows_changes = self.follows_changes
        return out


class Namespace:
    """All objects of one mode."""

    def __init__(self, mode: str):
        self.mode = mode
        self.livemode = mode == "live"
        self.tables: dict[str, Table] = {}

    def table(self, kind: str) -> Table:
        t = self.tables.get(kind)
        if t is None:
            t = self.tables[kind] = Table(INDEXED.get(kind))
        return t


class Store:
    def __init__(self, seed: int | None = None):
        self.lock = threading.RLock()
        self.ids = Ids(seed)
        self.reset()

    def reset(self):
        with self.lock:
            self.modes = {"test": Namespace("test"), "live": Namespace("live")}
            self.journal: list[tuple[str, str, str]] | None = None
            self._saved: dict[tuple, tuple] | None = None
            self._removed: list = []

    def begin(self, snapshots: bool = True):
        """Start a request: record the objects it creates and, with `snapshots` (a request that may write),
        the contents of every object it looks up, replaces or removes, so a failed request leaves the store
        as it found it (all or nothing)."""
        self.journal = []
        self._saved = {} if snapshots else None
        self._removed = []
        if snapshots:
            for ns in self.modes.values():
                for table in ns.tables.values():
                    table.on_remove = self._note_removed

    def end(self, rollback: bool):
        journal, self.journal = self.journal or [], None
        saved, self._saved = self._saved, None
        removed, self._removed = self._removed, []
        if saved is not None:
            for ns in self.modes.values():
                for table in ns.tables.values():
                    table.on_remove = None
        if rollback:
            # removals first: an object the request both made and removed is put back, then dropped as made
            for table, obj, pos in reversed(removed):
                if obj is not None and obj["id"] not in table.rows:
                    table.restore(obj, pos)
            for mode, kind, obj_id in reversed(journal):
                self.modes[mode].table(kind).remove(obj_id)
            for (mode, kind, obj_id), (obj, contents) in (saved or {}).items():
                _restore(contents)
                table = self.modes[mode].table(kind)
                if obj_id in table.rows and table.rows[obj_id] is not obj:
                    table.rows[obj_id] = obj  # a put replaced it with another dict: the original comes back
        # what the request made or looked up may have changed an indexed field (or, failed, put one back)
        for mode, kind, obj_id in [*journal, *(saved or ())]:
            table = self.modes[mode].tables.get(kind)
            if table is not None and table.follows_changes and obj_id in table.rows:
                table.note(table.rows[obj_id])

    def touch(self, mode: str, kind: str, obj: dict | None):
        """Remember `obj`'s contents before a request changes it (lookups do this themselves; a caller that
        found an object by scanning a table says so here)."""
        if self._saved is not None and obj is not None and type(obj) is dict:
            key = (mode, kind, obj["id"])
            if key not in self._saved:
                self._saved[key] = (obj, _snapshot(obj))

    def _note_removed(self, table, obj_id, obj, pos):
        self._removed.append((table, obj, pos))

    def ns(self, mode: str) -> Namespace:
        return self.modes[mode]

    def snapshot(self) -> dict[str, Namespace]:
        """A deep copy of every object of both modes (not the id generator: ids made after a restore stay new)."""
        with self.lock:
            return _copy_modes(self.modes)

    def restore(self, snapshot: dict[str, Namespace]):
        """Put back the objects of a `snapshot()`, which stays usable for another restore."""
        with self.lock:
            self.modes = _copy_modes(snapshot)
            self.journal, self._saved, self._removed = None, None, []

    def put(self, mode: str, kind: str, obj: dict) -> dict:
        table = self.modes[mode].table(kind)
        if self.journal is not None:
            old = table.get(obj["id"])
            if old is None:
                self.journal.append((mode, kind, obj["id"]))
            else:
                self.touch(mode, kind, old)
        if self._saved is not None:
            table.on_remove = self._note_removed
        return table.put(obj)

    def find(self, mode: str, kind: str, obj_id: str) -> dict | None:
        obj = self.modes[mode].table(kind).get(obj_id)
        if self._saved is not None and obj is not None:
            self.touch(mode, kind, obj)
        return obj

    def mode_of(self, obj_id: str) -> str | None:
        """The mode that holds an object with this id (ids are unique across modes), or None."""
        for mode, ns in self.modes.items():
            if any(obj_id in table for table in ns.tables.values()):
                return mode
        return None

    def other_mode_has(self, mode: str, obj_id: str) -> str | None:
        other = "live" if mode == "test" else "test"
        return other if any(obj_id in t for t in self.modes[other].tables.values()) else None

    def scan(self, mode: str, kind: str, pred: Callable[[dict], bool]) -> Iterator[dict]:
        return (o for o in self.modes[mode].table(kind).newest_first() if pred(o))


def _copy_modes(modes: dict[str, Namespace]) -> dict[str, Namespace]:
    memo: dict = {}  # one for the whole store: an object held by two tables stays one object
    out = {}
    for mode, ns in modes.items():
        copied = out[mode] = Namespace(mode)
        copied.tables = {kind: table.copy(memo) for kind, table in ns.tables.items()}
    return out


def copy_tree(node, memo: dict):
    """A deep copy of stored data that keeps its shape: a container held in two places (a subscription's item
    is the subscription_item row itself) is one container in the copy too, and SharedDicts, which never
    change, are kept as they are (copy.deepcopy would make one mutable dict of each, shared by many objects)."""
    t = type(node)
    if t is dict or t is list:
        found = memo.get(id(node))
        if found is not None:
            return found
        if t is dict:
            out = memo[id(node)] = {}
            for key, value in node.items():
                out[key] = copy_tree(value, memo)
        else:
            out = memo[id(node)] = []
            out.extend(copy_tree(value, memo) for value in node)
        return out
    if t is SharedDict or t is str or t is int or t is float or t is bool or node is None:
        return node
    return copy.deepcopy(node, memo)


def _snapshot(obj) -> list[tuple]:
    """The contents of `obj` and of every plain dict and list inside it, each container kept by identity (a
    subscription's item is the subscription_item row itself): restoring puts the contents back in place, so
    shared containers stay shared. SharedDicts and the shared empty list never change and are skipped."""
    out, stack, seen = [], [obj], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is dict:
            out.append((node, dict(node)))
            children = node.values()
        else:
            out.append((node, list(node)))
            children = node
        for child in children:
            t = type(child)
            if t is dict or t is list:
                stack.append(child)
    return out


def _restore(contents: list[tuple]):
    for node, saved in contents:
        if type(node) is dict:
            dict.clear(node)
            dict.update(node, saved)
        else:
            node[:] = saved
