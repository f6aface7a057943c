"""A table's index by one field, for the lists filtered by it (a customer's subscriptions or payment methods,
customers by e-mail, events of a type): such a list walks only the objects with that value, so it costs the
same with 10 or 100,000 objects in the store, as Stripe's lists do.

Which kinds keep which indexes is `store.INDEXED`. A field that can change after creation (`mutable`) is
followed: the table notes an object when it is put, and the store when a writing request that looked it up
or made it commits (all or nothing already records every object such a request may change).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator


class FieldIndex:
    """Ids by value of one field (string values only), each list in table order; `pos` is the table's
    id -> position map, shared."""

    def __init__(self, field: str, mutable: bool, pos: dict[str, int]):
        self.field, self.mutable, self._pos = field, mutable, pos
        self.ids: dict[str, list[str]] = {}
        self.listed: dict[str, str] | None = {} if mutable else None  # id -> the value it is listed under

    def note(self, obj: dict, new: bool):
        """List `obj` under its value now (a new object; or a changed one, when the field is mutable)."""
        if not (new or self.mutable):
            return
        value = obj.get(self.field)
        value = value if type(value) is str else None
        obj_id = obj["id"]
        if self.listed is not None:
            old = self.listed.get(obj_id)
            if old == value:
                return
            if old is not None:
                self._drop(old, obj_id)
            if value is None:
                self.listed.pop(obj_id, None)
                return
            self.listed[obj_id] = value
        elif value is None:
            return
        ids = self.ids.setdefault(value, [])
        if ids and self._pos[ids[-1]] > self._pos[obj_id]:  # an older object (put back, or changed)
            bisect.insort(ids, obj_id, key=self._pos.__getitem__)
        else:
            ids.append(obj_id)

    def forget(self, obj_id: str, obj: dict | None):
        value = self.listed.pop(obj_id, None) if self.listed is not None else (obj or {}).get(self.field)
        if type(value) is str:
            self._drop(value, obj_id)

    def _drop(self, value: str, obj_id: str):
        ids = self.ids.get(value)
        if not ids:
            return
        if ids[-1] == obj_id:  # the newest: a failed request's object, removed again
            ids.pop()
        elif obj_id in ids:
            ids.remove(obj_id)

    def newest_first(self, value: str, before_pos: int) -> Iterator[str]:
        """Ids listed under `value` at table positions below `before_pos`, newest first."""
        ids = self.ids.get(value, ())
        for i in range(bisect.bisect_left(ids, before_pos, key=self._pos.__getitem__) - 1, -1, -1):
            yield ids[i]

    def oldest_first(self, value: str, after_pos: int) -> Iterator[str]:
        """Ids listed under `value` at table positions above `after_pos`, oldest first."""
        ids = self.ids.get(value, ())
        for i in range(bisect.bisect_right(ids, after_pos, key=self._pos.__getitem__), len(ids)):
            yield ids[i]

    def copy(self, pos: dict[str, int]) -> FieldIndex:
        out = FieldIndex(self.field, self.mutable, pos)
        out.ids = {value: list(ids) for value, ids in self.ids.items()}
        out.listed = dict(self.listed) if self.listed is not None else None
        return out
