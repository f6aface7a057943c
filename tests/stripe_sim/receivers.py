"""A scriptable webhook receiver for delivery tests: every request is recorded; what it answers is set
per path (`/ok`, or `/r/<name>` with `script(name, [...])`: a list of statuses to answer in turn, then 200).
Special answers: "hang" (never answers in time), "reset" (drops the connection), "huge" (a 5 MB body),
"redirect" (a 302)."""

from __future__ import annotations

import asyncio
import threading

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tiersync.server import ThreadedServer


class Receiver:
    def __init__(self):
        self.requests: list[dict] = []
        self.scripts: dict[str, list] = {}
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{name:path}", self.handle, methods=["POST"])])
        self.server: ThreadedServer | None = None

    def start(self):
        self.server = ThreadedServer(self.app, port=0).start()
        return self

    def stop(self):
        self.server.stop()

    def url(self, name: str = "ok") -> str:
        return f"{self.server.url}/{name}"

    def script(self, name: str, answers: list):
        with self._lock:
            self.scripts[name] = list(answers)
        return self.url(name)

    def reset(self):
        with self._lock:
            self.requests.clear()
            self.scripts.clear()

    def got(self, name: str | None = None) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if name is None or r["name"] == name]

    async def handle(self, request: Request):
        name = request.path_params["name"]
        body = await request.body()
        with self._lock:
            queue = self.scripts.get(name)
            answer = queue.pop(0) if queue else 200
            self.requests.append({"name": name, "body": body, "headers": dict(request.headers), "answer": answer})
        if answer == "hang":
            await asyncio.sleep(30)
            return JSONResponse({"late": True})
        if answer == "reset":
            raise ConnectionResetError("dropped on purpose")
        if answer == "redirect":
            return Response(status_code=302, headers={"Location": "/ok"})
        if answer == "huge":
            async def chunks():
                for _ in range(80):
                    yield b"x" * 65536
            return StreamingResponse(chunks(), status_code=200)
        return JSONResponse({"received": True} if answer < 300 else {"error": "no"}, status_code=answer)
