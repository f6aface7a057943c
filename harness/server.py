"""Run a simulator's ASGI app with uvicorn in a background thread (tests, `tiersync serve`)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from urllib.parse import urlsplit

import uvicorn


class ThreadedServer:
    """`with ThreadedServer(app, port=0) as srv: srv.url` — listens on 127.0.0.1 until closed."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.app = app
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self.log_level = log_level
        self._thread: threading.Thread | None = None
        self.rebuild()

    def rebuild(self):
        """Build the uvicorn server for `self.app` (after the app was set once the port was known)."""
        config = uvicorn.Config(self.app, log_level=self.log_level, access_log=False, lifespan="off",
                                timeout_keep_alive=30, timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ThreadedServer:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"tiersync-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self):
        self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def replaying_receive(body: bytes, receive):
    """An ASGI `receive` that first hands over a body already read, then defers to the real one:
    lets a server look at a request before passing it on to another ASGI app."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def loopback_origin(origin: str) -> bool:
    """An `Origin` of a page on this machine (localhost or a loopback address): the simulators' control routes
    answer such pages and refuse others, so a web page a developer opens cannot drive them."""
    try:
        parts = urlsplit(origin)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address (127.0.0.1.evil.example is a name)
        return False
