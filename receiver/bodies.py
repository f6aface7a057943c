"""Request bodies read with a size limit, before anything else looks at them (a signature check, a JSON
parser): a client cannot make the receiver hold a body larger than the limit in memory."""

from __future__ import annotations

import json

from starlette.requests import Request

# Stripe's events carry one object (lists inside it are cut to their first page), a few KB to a few tens
# of KB; 1 MiB leaves room for the largest with full metadata many times over.
MAX_WEBHOOK_BYTES = 1024 * 1024
# The app's own JSON API takes small objects ({"tier": "pro"}).
MAX_API_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


class NotJSON(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, or BodyTooLarge as soon as the declared length or the bytes received pass `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes):
    """The JSON value of `body`, or NotJSON (also for nesting deeper than the parser goes: RecursionError)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise NotJSON("nested too deeply" if isinstance(exc, RecursionError) else "not JSON") from None
