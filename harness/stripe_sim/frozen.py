"""Frozen event payloads: JSON compressed with a shared dictionary.

Events are most of a long run's memory (a subscription start records a dozen, each a full copy of an
invoice or a subscription). They are read rarely (listing, delivery), so each is kept as compressed bytes.
An event's payload is taken as JSON when it is recorded (`Ctx.emit`: the object as it is then); when the request
commits, the payloads of all its events are compressed together (`freeze_all`): they repeat one another (the
same invoice in invoice.created, .finalized and .paid), and one compressor per request costs a fifth of one per
event. Payloads are small and alike, so a preset dictionary taken from the first payloads of the process (they
are only ever read back by the same process) shrinks them several times more.
"""

from __future__ import annotations

import threading
import zlib
from array import array

from .. import jsonbytes

_DICT_BYTES = 32 * 1024  # sample size for the preset dictionary
# zlib's level: 2 keeps a request's events in ~120 bytes each (bench/stripe_api.py's workload); 6 took ~70 but
# cost a quarter of the simulator's CPU per call (0.15 ms against 0.03 ms of the bench's ~0.55 ms, in process)
_LEVEL = 2
_lock = threading.Lock()
_sample: list[bytes] = []
_sample_size = 0
_zdict: bytes | None = None
_template = None  # a compressor primed with the dictionary: copying it costs a third of priming a new one
_last: tuple[bytes, bytes] = (b"", b"")  # the blob read last and its contents: delivery reads a request's events in turn


def _compressor():
    global _template
    if _template is None:
        _template = zlib.compressobj(_LEVEL, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, _zdict)
    return _template.copy()


def _compress(raw: bytes) -> bytes:
    global _zdict, _sample_size
    zdict = _zdict
    if zdict is None:
        with _lock:
            if _zdict is None:
                _sample.append(raw)
                _sample_size += len(raw)
                if _sample_size >= _DICT_BYTES:
                    _zdict = b"".join(reversed(_sample))[-_DICT_BYTES:]  # the most useful bytes go last
                    _sample.clear()
            zdict = _zdict
        if zdict is None:
            return b"P" + zlib.compress(raw, 1)
    c = _compressor()
    return b"D" + c.compress(raw) + c.flush()


def _inflate(blob: bytes) -> bytes:
    global _last
    last = _last
    if last[0] is blob:
        return last[1]
    if blob[:1] == b"P":
        raw = zlib.decompress(blob[1:])
    else:
        d = zlib.decompressobj(15, zdict=_zdict)
        raw = d.decompress(blob[1:]) + d.flush()
    _last = (blob, raw)
    return raw


class FrozenBatch:
    """The payloads of one request's events, compressed together: event i's JSON ends at `ends[i]`."""

    __slots__ = ("blob", "ends")

    def __init__(self, blob: bytes, ends: list[int]):
        self.blob, self.ends = blob, array("I", ends)  # 4 bytes per event

    def __deepcopy__(self, memo):  # never changes: a snapshot of the store shares it
        return self

    def payload(self, i: int) -> bytes:
        return _inflate(self.blob)[self.ends[i - 1] if i else 0:self.ends[i]]


def freeze_all(records: list[EventRecord]):
    """Compress the payloads of one request's events (JSON bytes until now) into one batch they share."""
    fresh = [r for r in records if type(r._data) is bytes]
    if not fresh:
        return
    ends, end = [], 0
    for record in fresh:
        end += len(record._data)
        ends.append(end)
    batch = FrozenBatch(_compress(b"".join(r._data for r in fresh)), ends)
    for i, record in enumerate(fresh):
        record._data, record._index = batch, i


def thaw(record: EventRecord) -> dict:
    """An event's payload: from its batch, or its JSON bytes when its request has not committed."""
    data = record._data
    return jsonbytes.loads(data.payload(record._index) if type(data) is FrozenBatch else data)


class EventRecord:
    """A stored event: the few fields lists filter on, and the frozen rest (`_data`, `thaw` reads it). Reads
    like a dict (`e["type"]`, `e.get(...)`, `{**e}`) at a fifth of a dict's memory."""

    __slots__ = ("id", "type", "livemode", "pending_webhooks", "created", "_data", "_index")
    _FIELDS = __slots__[:-1]

    def __init__(self, id, type, livemode, pending_webhooks, created, _data):  # noqa: A002  (Stripe's names)
        self.id, self.type, self.livemode = id, type, livemode
        self.pending_webhooks, self.created, self._data = pending_webhooks, created, _data
        self._index = 0  # the payload's place in its FrozenBatch

    def __getitem__(self, key):
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key, value):
        setattr(self, key, value)

    def __contains__(self, key):
        return key in self._FIELDS

    def get(self, key, default=None):
        return getattr(self, key, default) if key in self._FIELDS else default

    def keys(self):
        return self._FIELDS
