"""Frozen event payloads: JSON compressed with a shared dictionary.

Events are most of a long run's memory (a subscription start records a dozen, each a full copy of an
invoice or a subscription). They are read rarely (listing, delivery), so each is kept as compressed bytes.
Payloads are small and alike, so plain zlib gains little; a preset dictionary taken from the first
payloads of the process (they are only ever read back by the same process) shrinks them several times.
"""

from __future__ import annotations

import threading
import zlib

from .. import jsonbytes

_DICT_BYTES = 32 * 1024  # sample size for the preset dictionary
_lock = threading.Lock()
_sample: list[bytes] = []
_sample_size = 0
_zdict: bytes | None = None
_template = None  # a compressor primed with the dictionary: copying it costs a third of priming a new one


def _compressor():
    global _template
    if _template is None:
        _template = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, _zdict)
    return _template.copy()


def freeze(value) -> bytes:
    global _zdict, _sample_size
    raw = jsonbytes.compact(value)
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


def thaw(blob: bytes):
    if blob[:1] == b"P":
        return jsonbytes.loads(zlib.decompress(blob[1:]))
    d = zlib.decompressobj(15, zdict=_zdict)
    return jsonbytes.loads(d.decompress(blob[1:]) + d.flush())


class EventRecord:
    """A stored event: the few fields lists filter on, and the frozen rest. Reads like a dict
    (`e["type"]`, `e.get(...)`, `{**e}`) at a fifth of a dict's memory."""

    __slots__ = ("id", "type", "livemode", "pending_webhooks", "created", "_data")
    _FIELDS = __slots__

    def __init__(self, id, type, livemode, pending_webhooks, created, _data):  # noqa: A002  (Stripe's names)
        self.id, self.type, self.livemode = id, type, livemode
        self.pending_webhooks, self.created, self._data = pending_webhooks, created, _data

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
