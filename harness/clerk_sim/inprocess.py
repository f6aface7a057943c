"""A synchronous httpx transport that calls the simulator's ASGI app in-process.

The Python SDK (``clerk_backend_api.Clerk``) takes any ``httpx.Client``; with this transport
its calls never touch a socket. ``httpx.ASGITransport`` is async-only, so the app runs on a
private event loop in a daemon thread shared by all calls of one simulator, which also makes
the transport usable from any thread, including async tests.
Injected network faults become the exceptions a real socket would raise.
"""

from __future__ import annotations

import asyncio
import threading

import httpx
from starlette.types import ASGIApp, Message

from .asgi import IN_PROCESS_SCOPE_KEY, SimulatedDrop, SimulatedTimeout


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, client_addr: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client_addr = client_addr
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                # A daemon thread: an un-closed simulator must not keep the interpreter alive.
                threading.Thread(target=_run_loop, args=(loop,), name="clerk-sim-inprocess", daemon=True).start()
                self._loop = loop
            return self._loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        try:
            future = asyncio.run_coroutine_threadsafe(self._run(request, body), self._get_loop())
            status, headers, content = future.result()
        except SimulatedTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except SimulatedDrop as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _run(self, request: httpx.Request, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": self.client_addr,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            IN_PROCESS_SCOPE_KEY: True,
        }
        request_sent = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, headers, b"".join(chunks)

    def close(self) -> None:
        # Several clients share one transport; httpx closes it with each of them, so the
        # loop is kept and only stopped by ``shutdown`` (ClerkSim.close).
        pass

    def shutdown(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
